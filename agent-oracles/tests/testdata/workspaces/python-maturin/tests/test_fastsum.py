import fastsum


def test_import():
    assert fastsum
