sh -c 'protoc --version && python -m unittest'
