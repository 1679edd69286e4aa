ruff format --check --no-cache good.py
