import pytest

from calc import add, parse


def test_add_passes():
    assert add(2, 2) == 4


def test_add_fails():
    assert add(2, 2) == 5


def test_parse_raises():
    parse("not a number")


@pytest.mark.parametrize("a,b,want", [(1, 1, 2), (2, 3, 6)])
def test_add_param(a, b, want):
    assert add(a, b) == want


@pytest.mark.skip(reason="not ready")
def test_skipped():
    assert False


@pytest.mark.xfail(reason="known bug")
def test_known_bug():
    assert add(1, 1) == 3
