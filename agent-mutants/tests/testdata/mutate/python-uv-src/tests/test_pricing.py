import pytest

from shopcalc import discounted, is_adult


def test_adult():
    # Deliberately weak: one input only, so `return True` survives.
    assert is_adult(30)


def test_discounted():
    assert discounted(1000, 15) == 850
    assert discounted(999, 0) == 999


def test_discount_over_100_is_refused():
    with pytest.raises(ValueError):
        discounted(100, 101)
