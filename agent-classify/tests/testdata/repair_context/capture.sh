#!/bin/sh
# Captures the real `cargo test` output of the repair-context fixtures.
# Run from this directory: sh capture.sh
set -u
here=$(pwd)
for name in shared_panic; do
  work=/tmp/agent-oracles-repair-context/$name
  rm -rf "$work"
  mkdir -p "$work"
  cp -r "$here/$name/." "$work/"
  cmd="cargo test --offline --no-fail-fast"
  (cd "$work" && RUST_BACKTRACE=0 CARGO_TARGET_DIR="$work/target" $cmd >"$here/$name.stdout" 2>"$here/$name.stderr"; echo $? >"$here/$name.exit")
  echo "$cmd" >"$here/$name.cmd"
done
