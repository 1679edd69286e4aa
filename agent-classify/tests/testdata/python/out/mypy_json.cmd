mypy --no-incremental --output json app.py
