"""Imports of modules that do not exist."""

import orbitalmechanics
from good import median


def f() -> float:
    return orbitalmechanics.g + median([1.0])
