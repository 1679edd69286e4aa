"""Type errors: a str returned as int, a wrong argument type."""


def count_words(text: str) -> int:
    return text.split()


def shout(text: str) -> str:
    return text.upper()


LOUD = shout(42)
