python -m pytest -p no:cacheprovider tests/test_assert.py --junitxml=/tmp/agent-classify-wide/pytest_assert.xml
