import pytest

from inventory import Stock


@pytest.fixture
def loaded_stock():
    s = Stock()
    s.add("bolt", -1)
    return s


def test_loaded_total(loaded_stock):
    assert loaded_stock.total() == 1
