timeout -s KILL 3 python -m unittest -v
