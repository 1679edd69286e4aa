python -m pytest -p no:cacheprovider --doctest-modules --junitxml=CORPUS/out/pytest_doctest.junit.xml
