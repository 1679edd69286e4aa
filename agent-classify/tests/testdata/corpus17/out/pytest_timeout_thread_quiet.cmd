python -m pytest -p no:cacheprovider -q --timeout=2 --timeout-method=thread
