"""A tiny calculator under test."""


def add(a, b):
    return a + b


def parse(text):
    return int(text)
