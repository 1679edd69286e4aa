import calc_helpers.sub


def test_sub():
    assert calc_helpers.sub
