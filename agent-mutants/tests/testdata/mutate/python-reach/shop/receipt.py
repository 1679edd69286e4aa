"""The receipt line of a cart."""

from shop import cart


def line(prices):
    return "total: " + str(cart.total(prices))
