ruff check --no-cache --select E,F --output-format json mod.py
