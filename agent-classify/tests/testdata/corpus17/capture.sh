#!/bin/sh
# Captures real tool output for the issue-17 classifier cases (unittest, the
# environment tier, configuration failures, timeouts, go vet, doctests).
# Run from agent-classify/tests/testdata/corpus17: `JEST=/path/to/node_modules/.bin/jest sh capture.sh`.
# Each case NAME writes out/NAME.stdout, out/NAME.stderr, out/NAME.exit, out/NAME.cmd;
# structured reports of the same run (where the tool has one) go to out/NAME.junit.xml,
# out/NAME.gojson or out/NAME.libtest.json. Projects are copied to $WORK first so no
# cache or build directory lands in the repository.
set -u
here=$(pwd)
WORK=${WORK:-/tmp/agent-classify-corpus17}
JEST=${JEST:-/tmp/h17jstools/node_modules/.bin/jest}
rm -rf "$WORK"; mkdir -p "$WORK" out
for p in */; do case "$p" in out/) ;; *) cp -r "$p" "$WORK/";; esac; done  # cp -r copies .cargo/ inside
export PYTHONDONTWRITEBYTECODE=1 NO_COLOR=1 FORCE_COLOR=0 CI=1
unset H17_API_KEY H17_DATABASE_URL
run() { # NAME DIR COMMAND... (run through sh -c so `timeout` and pipes work)
    name=$1; dir=$2; shift 2
    echo "$*" > "$here/out/$name.cmd"
    (cd "$WORK/$dir" && sh -c "$*" > "$here/out/$name.stdout" 2> "$here/out/$name.stderr"; echo $? > "$here/out/$name.exit")
}
# unittest (verbose and default), with the same tests under pytest --junitxml as the structured reference
run unittest_verbose ut python -m unittest -v
run unittest_default ut python -m unittest
run unittest_import ut_import python -m unittest -v
run unittest_pass ut_pass python -m unittest -v
run unittest_more ut_more python -m unittest -v
run unittest_env utenv python -m unittest -v
(cd "$WORK/ut" && python -m pytest -p no:cacheprovider -q --continue-on-collection-errors --junitxml="$here/out/unittest_verbose.junit.xml" >/dev/null 2>&1)
(cd "$WORK/ut_import" && python -m pytest -p no:cacheprovider -q --continue-on-collection-errors --junitxml="$here/out/unittest_import.junit.xml" >/dev/null 2>&1)
(cd "$WORK/ut_more" && python -m pytest -p no:cacheprovider -q --continue-on-collection-errors --junitxml="$here/out/unittest_more.junit.xml" >/dev/null 2>&1)
(cd "$WORK/utenv" && python -m pytest -p no:cacheprovider -q --continue-on-collection-errors --junitxml="$here/out/unittest_env.junit.xml" >/dev/null 2>&1)
# pytest: environment tier, configuration, timeouts, doctests
run pytest_env pyenv python -m pytest -p no:cacheprovider -rA --junitxml=$here/out/pytest_env.junit.xml
run pytest_dep pydep python -m pytest -p no:cacheprovider -rA
run pytest_conftest pyconf_conftest python -m pytest -p no:cacheprovider
run pytest_conftest_dep pyconf_conftest_dep python -m pytest -p no:cacheprovider
run pytest_net pynet python -m pytest -p no:cacheprovider -rA
run pytest_ini pyconf_ini python -m pytest -p no:cacheprovider
run pytest_pyproject pyconf_toml python -m pytest -p no:cacheprovider
run pytest_timeout pytimeout python -m pytest -p no:cacheprovider --timeout=2 --junitxml=$here/out/pytest_timeout.junit.xml
run pytest_timeout_thread pytimeout python -m pytest -p no:cacheprovider -v --timeout=2 --timeout-method=thread
run pytest_timeout_thread_quiet pytimeout python -m pytest -p no:cacheprovider -q --timeout=2 --timeout-method=thread
run pytest_doctest pydoctest python -m pytest -p no:cacheprovider --doctest-modules --junitxml=$here/out/pytest_doctest.junit.xml
# killed runs: coreutils timeout (124), SIGKILL (137), SIGTERM without --foreground (124)
run timeout_124 pytimeout timeout 3 python -m pytest -p no:cacheprovider -v
run timeout_137 pytimeout timeout -s KILL 3 python -m unittest -v
run timeout_143 gotimeout timeout --preserve-status 3 go test -v -count=1 ./...
# go: vet as lint (go vet and go test's vet step), timeouts, environment
run go_vet govet go vet ./...
run go_test_vet govet go test ./...
run go_timeout gotimeout go test -timeout 2s ./...
(cd "$WORK/gotimeout" && go test -json -timeout 2s ./... > "$here/out/go_timeout.gojson" 2>/dev/null)
run go_env goenv go test ./...
(cd "$WORK/goenv" && go test -json ./... > "$here/out/go_env.gojson" 2>/dev/null)
# cargo: malformed manifest, broken build script, doctests
run cargo_manifest rs_manifest cargo test --offline
run cargo_config rs_cargoconfig cargo test --offline
run cargo_buildscript rs_buildscript cargo test --offline
run cargo_doctest rs_doctest cargo test --offline --no-fail-fast
(cd "$WORK/rs_doctest" && RUSTC_BOOTSTRAP=1 cargo test --offline --no-fail-fast --doc -- -Z unstable-options --format json > "$here/out/cargo_doctest.libtest.json" 2>/dev/null)
run cargo_env rs_env cargo test --offline --no-fail-fast
(cd "$WORK/rs_env" && RUSTC_BOOTSTRAP=1 cargo test --offline --no-fail-fast -- -Z unstable-options --format json > "$here/out/cargo_env.libtest.json" 2>/dev/null)
# JavaScript: jest timeout, a missing preset, a malformed package.json, a module not installed
run jest_timeout js_timeout "$JEST" --ci
(cd "$WORK/js_timeout" && "$JEST" --ci --json --outputFile="$here/out/jest_timeout.jest.json" >/dev/null 2>&1)
run node_env js_env node --test
run jest_jsdom js_jsdom "$JEST" --ci
run node_missing_esm js_missing node --test esm.test.mjs
run jest_preset js_preset "$JEST" --ci
run npm_badjson js_badjson npm test
run node_missing_module js_missing node --test pad.test.js
run jest_missing_module js_missing "$JEST" --ci pad_jest.test.js
# a tool missing from the environment
run shell_missing_tool ut "sh -c 'protoc --version && python -m unittest'"
sed -i "s#$WORK#/tmp/agent-classify-corpus17#g; s#$here#CORPUS#g" out/*.stdout out/*.stderr out/*.cmd out/*.xml out/*.json out/*.gojson 2>/dev/null
