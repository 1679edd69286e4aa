from inventory import Stock


def test_total_after_add()
    s = Stock()
    s.add("bolt", 1)
    assert s.total() == 1
