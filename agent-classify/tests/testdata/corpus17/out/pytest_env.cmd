python -m pytest -p no:cacheprovider -rA --junitxml=CORPUS/out/pytest_env.junit.xml
