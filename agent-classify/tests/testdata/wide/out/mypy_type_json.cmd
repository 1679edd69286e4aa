mypy --no-incremental -O json bad_types.py
