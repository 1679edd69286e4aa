def test_broken():
    x = (1, 2
    assert x
