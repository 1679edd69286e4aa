ruff check --no-cache --config bad_ruff.toml good.py
