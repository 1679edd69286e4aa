python -m pytest -p no:cacheprovider --timeout=2 --junitxml=CORPUS/out/pytest_timeout.junit.xml
