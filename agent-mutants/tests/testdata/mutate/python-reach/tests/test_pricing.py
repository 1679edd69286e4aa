from shop.pricing import discounted


def test_small_amounts_are_not_discounted():
    # Deliberately weak: never reaches the discounted branch.
    assert discounted(300) == 300
