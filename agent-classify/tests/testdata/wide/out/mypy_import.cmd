mypy --no-incremental bad_import.py
