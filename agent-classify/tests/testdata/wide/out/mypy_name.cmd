mypy --no-incremental bad_names.py
