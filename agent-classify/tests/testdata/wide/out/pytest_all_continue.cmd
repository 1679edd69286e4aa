python -m pytest -p no:cacheprovider -rA --continue-on-collection-errors --junitxml=/tmp/agent-classify-wide/pytest_all_continue.xml
