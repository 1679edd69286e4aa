python -m pytest -p no:cacheprovider tests/test_import.py --junitxml=/tmp/agent-classify-wide/pytest_import.xml
