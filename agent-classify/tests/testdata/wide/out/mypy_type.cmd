mypy --no-incremental bad_types.py
