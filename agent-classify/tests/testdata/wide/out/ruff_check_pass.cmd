ruff check --no-cache good.py
