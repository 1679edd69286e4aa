import pytest

from inventory.pricing import discounted


@pytest.mark.parametrize(
    ("price", "percent", "expected"),
    [(100.0, 10, 90.0), (50.0, 50, 25.0), (10.0, 15, 8.0)],
)
def test_discounted(price, percent, expected):
    assert discounted(price, percent) == expected
