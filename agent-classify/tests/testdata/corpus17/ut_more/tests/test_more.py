import unittest


class MoreTest(unittest.TestCase):
    def test_squares(self):
        for i in range(3):
            with self.subTest(i=i):
                self.assertEqual(i * i, i)

    @unittest.expectedFailure
    def test_known_bug(self):
        self.assertEqual(1, 2)

    @unittest.expectedFailure
    def test_fixed_bug(self):
        self.assertEqual(1, 1)

    def test_ok(self):
        self.assertTrue(True)


class BrokenSetup(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        raise RuntimeError("database not reachable")

    def test_never_runs(self):
        pass
