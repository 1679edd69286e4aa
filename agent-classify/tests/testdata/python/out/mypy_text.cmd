mypy --no-incremental --no-error-summary --show-column-numbers --show-error-codes app.py
