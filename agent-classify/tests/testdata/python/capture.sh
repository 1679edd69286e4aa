#!/bin/sh
# Captures real pytest, mypy and ruff output for the classifier tests.
# Run from agent-classify/tests/testdata/python: `sh capture.sh`.
# Each case NAME writes out/NAME.stdout, out/NAME.stderr, out/NAME.exit, out/NAME.cmd.
set -u
here=$(pwd)
mkdir -p out
run() { # NAME DIR COMMAND...
    name=$1; dir=$2; shift 2
    echo "$*" > "$here/out/$name.cmd"
    (cd "$here/$dir" && PYTHONDONTWRITEBYTECODE=1 "$@" > "$here/out/$name.stdout" 2> "$here/out/$name.stderr"; echo $? > "$here/out/$name.exit")
}
run pytest_default proj python -m pytest -p no:cacheprovider
run pytest_ra proj python -m pytest -p no:cacheprovider -rA
run pytest_collect collect python -m pytest -p no:cacheprovider -rA
run pytest_empty empty python -m pytest -p no:cacheprovider
run pytest_pass proj python -m pytest -p no:cacheprovider -rA tests/test_calc.py::test_add_passes
run pytest_missing proj python -S -m pytest
# JUnit XML on stdout through a pipe, as an executor captures it: pytest opens
# /dev/stdout itself, so the report follows the text output (a file redirect
# would let it overwrite the start of the text).
run_piped() { # NAME DIR COMMAND...
    name=$1; dir=$2; shift 2
    echo "$*" > "$here/out/$name.cmd"
    (cd "$here/$dir" && { PYTHONDONTWRITEBYTECODE=1 "$@" 2> "$here/out/$name.stderr"; echo $? > "$here/out/$name.exit"; } | cat > "$here/out/$name.stdout")
}
run_piped pytest_junit proj python -m pytest -p no:cacheprovider -q --junitxml=/dev/stdout
run_piped pytest_junit_xunit1 proj python -m pytest -p no:cacheprovider -q -o junit_family=xunit1 --junitxml=/dev/stdout
run_piped pytest_junit_collect collect python -m pytest -p no:cacheprovider -q -o junit_family=xunit1 --junitxml=/dev/stdout
run_piped pytest_junit_pass proj python -m pytest -p no:cacheprovider -q --junitxml=/dev/stdout tests/test_calc.py::test_add_passes
run mypy_text typed mypy --no-incremental --no-error-summary --show-column-numbers --show-error-codes app.py
run mypy_json typed mypy --no-incremental --output json app.py
run ruff_json lint ruff check --no-cache --select E,F --output-format json mod.py
run ruff_text lint ruff check --no-cache --select E,F --output-format concise mod.py
run ruff_full lint ruff check --no-cache --select E,F mod.py
rm -rf proj/.pytest_cache collect/.pytest_cache empty/.pytest_cache typed/.mypy_cache lint/.ruff_cache
find . -name __pycache__ -type d -exec rm -rf {} +
