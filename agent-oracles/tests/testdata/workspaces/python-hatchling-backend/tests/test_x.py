import pytest


def test_x():
    assert pytest
