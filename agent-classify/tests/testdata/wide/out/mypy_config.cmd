mypy --no-incremental --config-file bad_mypy.ini good.py
