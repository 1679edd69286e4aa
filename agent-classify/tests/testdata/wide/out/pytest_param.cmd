python -m pytest -p no:cacheprovider -v tests/test_param.py --junitxml=/tmp/agent-classify-wide/pytest_param.xml
