"""Tests for the flaky detector: run from a copy in a temporary directory."""
import pathlib

# Created by the first run of test_fails_only_the_first_time, beside this file.
MARKER = pathlib.Path(__file__).with_name("ran_once.marker")


def test_fails_only_the_first_time():
    if not MARKER.exists():
        MARKER.write_text("ran\n")
        assert False, "first run: the marker was not there yet"


def test_always_broken():
    assert 1 + 1 == 3


def test_passes():
    assert 2 + 2 == 4
