ruff check --no-cache bad_lint.py
