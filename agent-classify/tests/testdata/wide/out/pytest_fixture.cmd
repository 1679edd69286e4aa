python -m pytest -p no:cacheprovider tests/test_fixture.py --junitxml=/tmp/agent-classify-wide/pytest_fixture.xml
