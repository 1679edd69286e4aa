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
# 4. Agent sessions (tools mode, the default): the model reads, searches,
#    edits and runs the tests with tools, then the loop verifies. In Rust
#    (an edit that does not match, then a repair session after the loop's own
#    test run finds a type error), Python (pytest), Go (go test) and
#    JavaScript (node --test), each run classified by the tool that ran.
#    These replay turn by turn (`--replay-match sequential`), so a toolchain
#    that words its errors differently from the one the cassettes were
#    recorded with still replays; the differences are listed, not failed.
#
# Demos 1-3 run the one-shot plan mode (`--mode plan`) their cassettes were
# recorded in.
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
agentctl repair "$work/buggy-stats" --mode plan \
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
agentctl repair "$work/hopeless-roman" --mode plan \
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
agentctl repair "$work/regression-trap" --mode plan \
  --goal "Make discount_starts_at_one_hundred pass: an order of exactly 100.00 gets the 10% discount." \
  --test discount_starts_at_one_hundred --journal "$work/trap.jsonl" \
  --provider openai:gpt-4.1-mini --replay "$repo/examples/cassettes/regression-trap.json" || status=$?
if [ "$status" -ne 1 ]; then
  echo "expected exit 1 (rolled back), got $status" >&2
  exit 1
fi
echo "-- the task read back from its journal:"
agentctl timeline "$work/trap.jsonl" || true

echo
echo "== 4. agent sessions: the model works with tools (Rust, Python, Go, JavaScript)"
session() {
  local fixture=$1 cassette=$2 goal=$3
  bash examples/fixtures/setup.sh "$fixture" "$work/$fixture"
  echo "-- $fixture"
  agentctl repair "$work/$fixture" --goal "$goal" --provider openai:gpt-4.1-mini \
    --replay "$repo/examples/cassettes/$cassette.json" --replay-match sequential \
    --journal "$work/$fixture.jsonl"
  agentctl timeline "$work/$fixture.jsonl" | grep -E '^  \+[0-9]+ms  (tool|model|verdict)' || true
}
session buggy-stats buggy-stats-tools "Make the failing tests pass: mean must return the arithmetic mean."
session py-slugify py-slugify "Make the failing tests pass: slugify must lower-case the title."
session go-wordfreq go-wordfreq "Make the failing tests pass: Count must compare words without regard to case."
session js-median js-median "Make the failing tests pass: median must order the numbers by value."
echo
echo "== demo finished: every repair above ran real tools on real repositories"
