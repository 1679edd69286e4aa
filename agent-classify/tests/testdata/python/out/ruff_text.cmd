ruff check --no-cache --select E,F --output-format concise mod.py
