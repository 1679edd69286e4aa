python -m unittest -v
