from inventory import Stock


def test_uses_helper():
    s = Stock()
    s.add("nut", 4)
    assert s.total() == expected_total(s)
