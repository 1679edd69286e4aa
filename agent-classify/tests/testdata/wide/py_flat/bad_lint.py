"""Lint findings: unused imports, comparison to None, an unused variable."""
import os
import sys


def check(value):
    unused = 3
    if value == None:
        return False
    return True
