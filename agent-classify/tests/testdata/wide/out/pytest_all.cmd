python -m pytest -p no:cacheprovider --junitxml=/tmp/agent-classify-wide/pytest_all.xml
