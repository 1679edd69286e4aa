#!/usr/bin/env bash
# The main job, offline: `agentctl repair` on copies of two fixture crates.
#
# The model is a SCRIPTED STAND-IN: its replies come from the cassettes in
# examples/cassettes/, written by hand and recorded with
# `cargo run --example record_cassettes`. Everything else is real: git
# snapshots of a real repository, real edits, real `cargo test` runs and
# classification of their real output.
#
# 1. buggy-stats: the loop plans, the plan fails to compile, the failure is
#    classified, the repair passes the tests.
# 2. hopeless-roman: every attempt fails; the workspace is rolled back and is
#    byte-for-byte what it was, the user's uncommitted edit and untracked file
#    included.
# 3. regression-trap: every "fix" makes the named test pass but breaks another
#    test; the loop judges each attempt regression-aware, rolls back and names
#    the regression. Then `agentctl timeline` reads the task back from its journal.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)

echo "== building agentctl"
cargo build --quiet --example agentctl
agentctl() { cargo run --quiet --example agentctl -- "$@"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo
echo "== 1. repair a real bug (buggy-stats)"
bash examples/fixtures/setup.sh buggy-stats "$work/buggy-stats"
agentctl repair "$work/buggy-stats" \
  --goal "Make the failing tests pass: mean must return the arithmetic mean." \
  --provider openai:gpt-4.1-mini --replay "$repo/examples/cassettes/buggy-stats.json"
echo "-- the fixed function:"
grep -n 'Some(sum' "$work/buggy-stats/src/lib.rs"

echo
echo "== 2. every attempt fails: roll back (hopeless-roman)"
bash examples/fixtures/setup.sh hopeless-roman "$work/hopeless-roman"
manifest() {
  # Every non-ignored file with its mode and SHA-256, plus HEAD, the index and git status.
  (cd "$1" && find . \( -path ./target -o -path ./.git \) -prune -o \( -type f -o -type l \) -printf '%m %p\n' | sort \
    && find . \( -path ./target -o -path ./.git \) -prune -o -type f -print0 | sort -z | xargs -0 sha256sum \
    && git rev-parse HEAD && sha256sum .git/index && git --no-optional-locks status --porcelain=v1 --untracked-files=all)
}
manifest "$work/hopeless-roman" > "$work/before.txt"
status=0
agentctl repair "$work/hopeless-roman" \
  --goal "Make to_roman use subtractive notation so that all tests pass." \
  --provider openai:gpt-4.1-mini --replay "$repo/examples/cassettes/hopeless-roman.json" || status=$?
if [ "$status" -ne 1 ]; then
  echo "expected exit 1 (rolled back), got $status" >&2
  exit 1
fi
manifest "$work/hopeless-roman" > "$work/after.txt"
if diff -u "$work/before.txt" "$work/after.txt"; then
  echo "-- rolled back: the workspace is byte-for-byte what it was ($(wc -l < "$work/before.txt") manifest lines compared)"
else
  echo "-- the workspace differs after the rollback" >&2
  exit 1
fi

echo
echo "== 3. a fix that breaks another test is not a fix (regression-trap)"
bash examples/fixtures/setup.sh regression-trap "$work/regression-trap"
status=0
agentctl repair "$work/regression-trap" \
  --goal "Make discount_starts_at_one_hundred pass: an order of exactly 100.00 gets the 10% discount." \
  --test discount_starts_at_one_hundred --journal "$work/trap.jsonl" \
  --provider openai:gpt-4.1-mini --replay "$repo/examples/cassettes/regression-trap.json" || status=$?
if [ "$status" -ne 1 ]; then
  echo "expected exit 1 (rolled back), got $status" >&2
  exit 1
fi
echo "-- the task read back from its journal:"
agentctl timeline "$work/trap.jsonl" || true
