python -m pytest -p no:cacheprovider tests/test_exception.py --junitxml=/tmp/agent-classify-wide/pytest_exception.xml
