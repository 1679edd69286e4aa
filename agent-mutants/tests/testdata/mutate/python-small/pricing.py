"""A tiny shop-pricing module: the mutation-testing fixture."""

from typing import Optional


def is_adult(age: int) -> bool:
    return age >= 18


def discounted(price: int, percent: int) -> int:
    if percent > 100:
        percent = 100
    return price - price * percent // 100


def shipping(total: int) -> int:
    if total >= 5000:
        return 0
    return 499


def bucket(items: int) -> str:
    if items == 0:
        return "empty"
    elif items <= 3:
        return "small"
    else:
        return "large"


def total(lines) -> int:
    result = 0
    for price, qty in lines:
        result += price * qty
    return result


def valid_coupon(code: str) -> bool:
    # "SAVE" codes: len(code) == 8 and code.startswith("SAVE")
    return len(code) == 8 and code.startswith("SAVE")


def find(items, name: str) -> Optional[int]:
    for i, item in enumerate(items):
        if item == name:
            return i
    return None


def greeting(name):
    return "Hello, " + name + "!"
