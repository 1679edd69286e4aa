ruff check --no-cache .
