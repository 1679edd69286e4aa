import time
import unittest


class SlowTest(unittest.TestCase):
    def test_quick(self):
        self.assertTrue(True)

    def test_waits_forever(self):
        time.sleep(30)
