#!/bin/sh
# Regenerates tests/testdata/nextest/ from some crates in tests/testdata/crates/:
# cargo-nextest's human output, its libtest-json output, and libtest's own JSON.
# Run from agent-classify/tests/testdata:  sh capture_nextest.sh
# Each crate is copied to /tmp/agent-oracles-nextest/NAME (a fixed path so the
# captures are reproducible) and run there with its own target directory, offline.
# For each crate NAME and MODE it writes nextest/NAME.MODE.{stdout,stderr,exit,cmd}.
set -u
here=$(pwd)
out="$here/nextest"
base=/tmp/agent-oracles-nextest
rm -rf "$base"; mkdir -p "$base" "$out"
run() { # NAME MODE COMMAND (one string, run by sh -c in the crate's copy)
  name=$1; mode=$2; cmd=$3
  echo "$cmd" >"$out/$name.$mode.cmd"
  (cd "$base/$name" && sh -c "$cmd" >"$out/$name.$mode.stdout" 2>"$out/$name.$mode.stderr"; echo $? >"$out/$name.$mode.exit")
}
for name in failing_assert panicking_test passing type_error failing_doctest; do
  cp -r "crates/$name" "$base/$name"
  export CARGO_TARGET_DIR="$base/$name/target"
  run "$name" nextest "cargo nextest run --offline --no-fail-fast"
  run "$name" nextest_json "NEXTEST_EXPERIMENTAL_LIBTEST_JSON=1 cargo nextest run --offline --no-fail-fast --message-format libtest-json"
  run "$name" libtest_json "RUSTC_BOOTSTRAP=1 cargo test --offline --no-fail-fast -- -Z unstable-options --format json"
done
