from access import is_adult, is_admin


def test_adult():
    # Deliberately weak: one input only, so `return True` survives.
    assert is_adult(30)


def test_admin_both_ways():
    assert is_admin("root")
    assert not is_admin("guest")
