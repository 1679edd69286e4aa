"""Shop pricing helpers."""

from shopcalc.pricing import discounted, is_adult

__all__ = ["discounted", "is_adult"]
