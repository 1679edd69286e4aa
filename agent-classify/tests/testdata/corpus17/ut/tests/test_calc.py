import unittest

from calc import add, parse


class CalcTest(unittest.TestCase):
    def test_add_passes(self):
        self.assertEqual(add(1, 2), 3)

    def test_add_fails(self):
        self.assertEqual(add(2, 2), 5)

    def test_parse_raises(self):
        parse("x")

    @unittest.skip("not today")
    def test_skipped(self):
        pass


class OtherTest(unittest.TestCase):
    def test_true_fails(self):
        self.assertTrue(False, "was false")
