#!/bin/sh
# Regenerates tests/testdata/captured/ from the crates in tests/testdata/crates/.
# Run from agent-classify/tests/testdata:  sh capture.sh
# Each crate is copied to /tmp/agent-oracles-capture/NAME (a fixed path so the
# captures are reproducible) and run with its own target directory, offline.
set -u
here=$(pwd)
out="$here/captured"
base=/tmp/agent-oracles-capture
rm -rf "$base"; mkdir -p "$base" "$out"
for dir in crates/*/; do
  name=$(basename "$dir")
  cp -r "$dir" "$base/$name"
  cd "$base/$name"
  export CARGO_TARGET_DIR="$base/$name/target"
  if [ "$name" = clippy_lint ]; then
    cargo clippy --offline --all-targets -- -D warnings >"$out/$name.human.stdout" 2>"$out/$name.human.stderr"
    echo $? >"$out/$name.human.exit"
    touch src/lib.rs
    cargo clippy --offline --all-targets --message-format=json -- -D warnings >"$out/$name.json.stdout" 2>"$out/$name.json.stderr"
    echo $? >"$out/$name.json.exit"
  else
    cargo test --offline --no-fail-fast >"$out/$name.human.stdout" 2>"$out/$name.human.stderr"
    echo $? >"$out/$name.human.exit"
    cargo test --offline --no-fail-fast --message-format=json >"$out/$name.json.stdout" 2>"$out/$name.json.stderr"
    echo $? >"$out/$name.json.exit"
  fi
  cd "$here"
done
