ruff check --no-cache bad_syntax.py
