python -m pytest -p no:cacheprovider -q --junitxml=/dev/stdout
