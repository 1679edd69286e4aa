#!/bin/sh
# Regenerates the captured output of the JavaScript/TypeScript fixtures.
# Usage: TOOLS=/tmp/jstools sh capture.sh   (run from this directory)
# TOOLS is a directory where `npm install --no-audit --no-fund typescript jest vitest@3 eslint@9`
# was run; nothing is installed here. Each project is copied to
# /tmp/agent-oracles-js-capture/NAME, the tool runs there, and NAME/MODE.{stdout,stderr,exit}
# is written beside the project's sources.
set -u
TOOLS=${TOOLS:-/tmp/jstools}
BIN=$TOOLS/node_modules/.bin
HERE=$(pwd)
WORK=/tmp/agent-oracles-js-capture
rm -rf "$WORK"; mkdir -p "$WORK"
export NO_COLOR=1 FORCE_COLOR=0 CI=1

run() { # run NAME MODE COMMAND...
  name=$1; mode=$2; shift 2
  rm -rf "$WORK/$name"; cp -r "$HERE/$name" "$WORK/$name"
  rm -f "$WORK/$name"/*.stdout "$WORK/$name"/*.stderr "$WORK/$name"/*.exit "$WORK/$name"/expected.json
  ln -s "$TOOLS/node_modules" "$WORK/$name/node_modules"
  (cd "$WORK/$name" && "$@" >"$HERE/$name/$mode.stdout" 2>"$HERE/$name/$mode.stderr"; echo $? >"$HERE/$name/$mode.exit")
  # absolute paths of the temporary copy would differ on every machine: keep them, the tests use this root
}

run tsc_errors text  "$BIN/tsc" --noEmit --pretty false -p .
run tsc_syntax text  "$BIN/tsc" --noEmit --pretty false -p .
run jest_project json "$BIN/jest" --ci --json
run jest_project text "$BIN/jest" --ci
run vitest_project json "$BIN/vitest" run --reporter=json
run vitest_project text "$BIN/vitest" run
run node_test spec node --test --test-reporter=spec
run node_test tap  node --test --test-reporter=tap
run eslint_project json "$BIN/eslint" -f json src
# no test matches: jest exits 1 and says so; vitest with a name filter that keeps one passing test
run jest_project nomatch "$BIN/jest" --ci --json --testPathPatterns=does-not-exist
run vitest_project pass "$BIN/vitest" run --reporter=json -t "of one value"
