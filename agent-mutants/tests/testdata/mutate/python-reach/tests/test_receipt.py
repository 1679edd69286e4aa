from shop.receipt import line


def test_a_large_cart_is_discounted_on_the_receipt():
    assert line([6000, 6000]) == "total: 10800"
