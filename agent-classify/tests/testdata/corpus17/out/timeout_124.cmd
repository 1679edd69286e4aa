timeout 3 python -m pytest -p no:cacheprovider -v
