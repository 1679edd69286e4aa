python -m pytest -p no:cacheprovider -rA
