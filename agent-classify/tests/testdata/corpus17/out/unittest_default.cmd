python -m unittest
