import missing_mod_xyz
import yaml


def double(n: int) -> int:
    return n * 2


def main() -> None:
    x: int = "three"
    print(double("four"))
    print(undefined_name)
