def double(x):
    """Doubles x.

    >>> double(2)
    4
    >>> double(3)
    7
    """
    return x * 2


def half(x):
    """Halves x.

    >>> half(4)
    2.0
    """
    return x / 2
