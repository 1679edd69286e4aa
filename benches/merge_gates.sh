#!/usr/bin/env bash
# `agentctl merge --gate tests` on a clone of a real repository: the path
# production takes, with the project's own test suite as the gate and the
# suite at the target's head as its baseline.
#
# Per repository: a local clone whose checked-out branch becomes `main`, a
# detached worktree at `main`, one more commit on `main` (so the change is
# really rebased), a new file in the worktree (a change no test can see, so
# any failure is the repository's or the environment's, never the change's).
# Then `agentctl merge WT --target main --gate tests --json`, timed; prints
# the outcome, each `run` event (the suite at the target's head) and each
# tests-gate report with its first findings.
#
# MOVE_FILE / MOVE_CONTENT and TASK_FILE / TASK_CONTENT replace the file
# the target's commit adds and the one the change adds (a test already
# failing on the target; a change that brings a failing test of its own).
#
# Usage: benches/merge_gates.sh REPO [REPO ...] (git repositories, e.g.
# clones of published projects). The suites run with the machine's
# toolchains as found on PATH (prepend a virtualenv's bin for Python).
# Needs the agentctl example:
#   cargo build --release --all-features --example agentctl
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 REPO [REPO ...]" >&2; exit 2; }
AGENTCTL=${AGENTCTL:-${CARGO_TARGET_DIR:-target}/release/examples/agentctl}
[ -x "$AGENTCTL" ] || { echo "build agentctl first (or set AGENTCTL): $AGENTCTL" >&2; exit 2; }
AGENTCTL=$(realpath "$AGENTCTL")

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
ident=(-c user.name=bench -c user.email=bench@example.com)

for src in "$@"; do
    name=$(basename "$(dirname "$src")")/$(basename "$src")
    dir="$TMP/$(printf '%s' "$src" | tr -c 'A-Za-z0-9' _)"
    mkdir -p "$dir"
    git clone -q "$src" "$dir/repo"
    git -C "$dir/repo" checkout -q -B main
    git -C "$dir/repo" worktree add -q --detach "$dir/wt" main
    printf '%s\n' "${MOVE_CONTENT:-moved}" > "$dir/repo/${MOVE_FILE:-MOVED-agentkit.txt}"
    git -C "$dir/repo" add "${MOVE_FILE:-MOVED-agentkit.txt}"
    git -C "$dir/repo" "${ident[@]}" commit -q -m "target moves"
    git -C "$dir/repo" checkout -q --detach main
    printf '%s\n' "${TASK_CONTENT:-task}" > "$dir/wt/${TASK_FILE:-TASK-agentkit.txt}"
    echo "== $name ($(git -C "$dir/repo" rev-list --count main) commits)"
    start=$(date +%s%N)
    set +e
    "$AGENTCTL" merge "$dir/wt" --target main --gate tests --json --journal "$dir/journal.jsonl" > "$dir/out.json"
    code=$?
    set -e
    echo "exit $code in $(( ($(date +%s%N) - start) / 1000000 )) ms"
    python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
doc = json.load(open(f"{d}/out.json"))
if "report" not in doc:
    print("error:", doc.get("error"))
    sys.exit(0)
print("outcome:", doc["report"]["outcome"], "-", doc["report"].get("reason", ""))
try:
    events = [json.loads(l) for l in open(f"{d}/journal.jsonl")]
except FileNotFoundError:
    events = []
for e in events:
    if e["type"] == "run":
        print(f"  run at the target's head: {e['command'][:100]} -> exit {e['exit_code']} in {e['duration_ms']} ms")
    elif e["type"] == "gate_report" and e["report"]["gate"] == "tests":
        r = e["report"]
        print(f"  tests gate: passed={r['passed']}: {r['summary'][:200]}")
        for f in r.get("findings", [])[:3]:
            print(f"    {f[:200]}")
PY
done
