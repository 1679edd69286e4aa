from inventory.pricing import discounted


def test_discount_is_applied():
    assert discounted(80.0, 25) == 65.0


def test_full_price():
    assert discounted(80.0, 0) == 80.0
