ruff check --no-cache --select E,F mod.py
