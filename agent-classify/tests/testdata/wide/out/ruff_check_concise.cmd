ruff check --no-cache --output-format=concise .
