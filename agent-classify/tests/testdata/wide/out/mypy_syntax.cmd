mypy --no-incremental bad_syntax.py
