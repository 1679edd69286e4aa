"""Prices with a discount."""


def discounted(price, percent):
    return round(price * (100 - percent) / 100, 2)
