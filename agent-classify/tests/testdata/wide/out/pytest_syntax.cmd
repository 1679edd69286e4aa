python -m pytest -p no:cacheprovider tests_extra/test_syntax.py --junitxml=/tmp/agent-classify-wide/pytest_syntax.xml
