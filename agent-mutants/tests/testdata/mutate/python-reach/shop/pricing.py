"""The discount rule. Its own test is weak: only the cart's tests reach
the discounted branch, through shop.cart."""


def discounted(cents):
    if cents >= 10000:
        return cents - cents * 10 // 100
    return cents
