import unittest

from app import api_key, load_fixture


class EnvTest(unittest.TestCase):
    def test_reads_api_key(self):
        self.assertEqual(api_key(), "secret")

    def test_reads_fixture_file(self):
        self.assertTrue(load_fixture("users.json").startswith("["))

    def test_uses_numpy(self):
        import numpy

        self.assertEqual(numpy.zeros(1)[0], 0)
