"""Prices and ages."""


def is_adult(age):
    return age >= 18


def discounted(price, percent):
    """The price after taking `percent` off, rounded down to whole cents."""
    if percent > 100:
        raise ValueError("discount over 100%")
    return price - price * percent // 100
