python -m pytest -p no:cacheprovider -q --junitxml=/dev/stdout tests/test_calc.py::test_add_passes
