mypy --no-incremental -O json bad_import.py
