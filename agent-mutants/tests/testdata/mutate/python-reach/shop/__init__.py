"""A tiny shop: prices in cents, a discount rule and a cart."""
