from pricing import bucket, discounted, find, greeting, is_adult, shipping, total, valid_coupon


def test_adults_are_eighteen_or_older():
    assert is_adult(18)
    assert is_adult(40)
    assert not is_adult(17)


def test_discount_is_capped():
    assert discounted(1000, 10) == 900
    assert discounted(1000, 150) == 0


def test_shipping_is_free_from_5000():
    assert shipping(5000) == 0
    assert shipping(4999) == 499


def test_buckets():
    assert bucket(0) == "empty"
    assert bucket(3) == "small"
    assert bucket(4) == "large"


def test_total():
    assert total([(250, 2), (100, 3)]) == 800


def test_coupons():
    assert valid_coupon("SAVE1234")
    assert not valid_coupon("SAVE123")
    assert not valid_coupon("GIFT1234")


def test_greeting():
    assert greeting("Ann") == "Hello, Ann!"


def test_find_weak():
    # Deliberately weak: the result is never checked, so every mutant of
    # `find` is MISSED.
    position = find(["a", "b"], "b")
    print(position)
