python -m pytest -p no:cacheprovider -rA tests_extra/test_name.py --junitxml=/tmp/agent-classify-wide/pytest_name.xml
