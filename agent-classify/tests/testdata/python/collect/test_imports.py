from calc_helpers import missing_thing


def test_uses_helpers():
    assert missing_thing == 1
