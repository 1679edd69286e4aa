python -m pytest -p no:cacheprovider -q -o junit_family=xunit1 --junitxml=/dev/stdout
