import time


def test_fast():
    assert True


def test_hangs():
    time.sleep(30)
