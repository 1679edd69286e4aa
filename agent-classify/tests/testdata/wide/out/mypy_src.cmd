mypy --no-incremental src
