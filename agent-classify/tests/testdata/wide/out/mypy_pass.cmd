mypy --no-incremental good.py
