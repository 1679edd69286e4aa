ruff format --check --no-cache bad_format.py good.py
