#!/bin/sh
# Captures real output of cargo, cargo-nextest and go on the two fixtures here,
# whose packages hold tests of the same name (`tests::it_works` in crate_a and
# crate_b, `TestIt` in alpha and beta); crate_b's and beta's fail.
# Run from agent-classify/tests/testdata/scoped:  sh capture.sh
# Writes out/NAME.{cmd,stdout,stderr,exit}; the cargo cases also
# NAME_merged.stdout (stdout and stderr through one pipe, `2>&1`).
set -u
here=$(pwd)
base=/tmp/agent-classify-scoped
rm -rf "$base"; mkdir -p "$base"; cp -r cargo go "$base/"
export CARGO_TARGET_DIR="$base/cargo/target" CARGO_TERM_COLOR=never
export GOPROXY=off GOTOOLCHAIN=local GOFLAGS=-count=1
run() { # NAME DIR COMMAND...
    name=$1; dir=$2; shift 2
    echo "$*" > "$here/out/$name.cmd"
    (cd "$base/$dir" && "$@" > "$here/out/$name.stdout" 2> "$here/out/$name.stderr"; echo $? > "$here/out/$name.exit")
}
run cargo_test cargo cargo test --offline --no-fail-fast
(cd "$base/cargo" && cargo test --offline --no-fail-fast > "$here/out/cargo_test_merged.stdout" 2>&1)
run libtest_json cargo env RUSTC_BOOTSTRAP=1 cargo test --offline --no-fail-fast -- -Z unstable-options --format json
run nextest cargo cargo nextest run --offline --no-fail-fast
run nextest_json cargo env NEXTEST_EXPERIMENTAL_LIBTEST_JSON=1 cargo nextest run --offline --no-fail-fast --message-format libtest-json
run go_test_v go go test -v ./...
run go_test go go test ./...
run go_test_json go go test -json ./...
