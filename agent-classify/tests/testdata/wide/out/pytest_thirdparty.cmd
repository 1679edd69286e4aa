python -m pytest -p no:cacheprovider tests_extra/test_thirdparty.py --junitxml=/tmp/agent-classify-wide/pytest_thirdparty.xml
