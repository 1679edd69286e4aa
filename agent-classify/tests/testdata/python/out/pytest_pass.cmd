python -m pytest -p no:cacheprovider -rA tests/test_calc.py::test_add_passes
