mypy --no-incremental --no-error-summary bad_types.py bad_names.py good.py
