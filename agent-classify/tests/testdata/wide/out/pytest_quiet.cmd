python -m pytest -p no:cacheprovider -q tests/test_assert.py tests/test_exception.py tests/test_param.py --junitxml=/tmp/agent-classify-wide/pytest_quiet.xml
