"""A missing colon."""


def broken(x: int) -> int
    return x + 1
