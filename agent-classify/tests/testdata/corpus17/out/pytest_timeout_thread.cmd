python -m pytest -p no:cacheprovider -v --timeout=2 --timeout-method=thread
