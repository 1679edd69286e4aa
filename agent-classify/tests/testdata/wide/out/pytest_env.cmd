python -m pytest -p no:cacheprovider tests_extra/test_env.py --junitxml=/tmp/agent-classify-wide/pytest_env.xml
