import unittest

import numpy


class DepTest(unittest.TestCase):
    def test_numpy(self):
        self.assertEqual(numpy.zeros(1)[0], 0)
