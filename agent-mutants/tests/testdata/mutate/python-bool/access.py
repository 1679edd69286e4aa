"""Access rules: two boolean functions without annotations."""


def is_adult(age):
    return age >= 18


def is_admin(name):
    if name == "root":
        return True
    return False
