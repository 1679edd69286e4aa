ruff check --no-cache --output-format=json bad_lint.py
