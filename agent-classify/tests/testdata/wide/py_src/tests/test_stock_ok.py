from inventory import Stock


def test_add_then_total():
    s = Stock()
    s.add("bolt", 3)
    s.add("nut", 2)
    assert s.total() == 5


def test_remove():
    s = Stock()
    s.add("bolt", 3)
    s.remove("bolt", 1)
    assert s.levels["bolt"] == 2
