python -m pytest -p no:cacheprovider tests/test_stock_ok.py --junitxml=/tmp/agent-classify-wide/pytest_pass.xml
