from inventory import Stock


def test_remove_unknown_item():
    s = Stock()
    s.remove("washer", 1)
    assert s.total() == 0
