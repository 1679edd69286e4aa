"""A cart totals its prices and applies the discount rule."""

from shop.pricing import discounted


def total(prices):
    return discounted(sum(prices))
