"""A name that is never defined."""


def area(width: float, height: float) -> float:
    return width * heigth
