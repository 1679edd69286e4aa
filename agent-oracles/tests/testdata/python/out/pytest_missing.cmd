python -S -m pytest
