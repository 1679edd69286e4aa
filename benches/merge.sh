#!/usr/bin/env bash
# The merge step's overhead per task, gates excluded, against the git
# command line doing the same work in the same run.
#
# A repository with 10,000 commits (made with `git fast-import`) gets, per
# round, a detached worktree at `main`, one more commit on `main` (so the
# task's commit is really rebased), and an uncommitted change in the
# worktree. Then, timed:
#   agentkit: `agentctl merge WT --target main --gate none` (commit on a task
#             branch, read the target with gix, rebase, fast-forward with a
#             compare-and-swap `update-ref`, every step journaled; the
#             process start and the workspace inspection included);
#   git:      `git switch -c`, `git add -A`, `git commit`, `git rebase main`,
#             `git update-ref refs/heads/main NEW OLD`.
# Prints the median of each and the ratio agentkit / git.
#
# With MERGE_REPO=PATH (a git repository, e.g. a clone of a published
# project), its history and tree are used instead of the synthetic one.
#
# Usage: benches/merge.sh [ROUNDS] (default 15). Needs the agentctl example:
#   cargo build --release --all-features --example agentctl
set -euo pipefail

ROUNDS=${1:-15}
AGENTCTL=${AGENTCTL:-${CARGO_TARGET_DIR:-target}/release/examples/agentctl}
[ -x "$AGENTCTL" ] || { echo "build agentctl first (or set AGENTCTL): $AGENTCTL" >&2; exit 2; }
AGENTCTL=$(realpath "$AGENTCTL")

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
export GIT_CONFIG_NOSYSTEM=1 HOME="$TMP/home"
mkdir -p "$HOME"
git config --global user.name bench
git config --global user.email bench@example.com
git config --global init.defaultBranch main

REPO="$TMP/repo"
if [ -n "${MERGE_REPO:-}" ]; then
    # A real repository (its history and tree as published): a local clone,
    # whose checked-out branch becomes `main`.
    git clone -q "$MERGE_REPO" "$REPO"
    git -C "$REPO" checkout -q -B main
else
git init -q "$REPO"
# 10,000 commits, each changing one of 100 files.
python3 - "$REPO" <<'PY' | git -C "$REPO" fast-import --quiet
import sys
out = sys.stdout
for i in range(10000):
    data = f"file {i % 100} revision {i}\n"
    msg = f"commit {i}\n"
    out.write(f"commit refs/heads/main\nmark :{i+1}\n")
    out.write(f"committer bench <bench@example.com> {1700000000 + i} +0000\n")
    out.write(f"data {len(msg)}\n{msg}")
    if i:
        out.write(f"from :{i}\n")
    out.write(f"M 100644 inline src/f{i % 100}.txt\ndata {len(data)}\n{data}\n")
PY
fi
git -C "$REPO" checkout -q --detach main
echo "repository: ${MERGE_REPO:-synthetic}, $(git -C "$REPO" rev-list --count main) commits, $(git -C "$REPO" ls-files | wc -l) files" >&2

now_ns() { date +%s%N; }

# A detached worktree at main, then main moves on by one commit; prints the worktree.
setup() {
    local name=$1 wt="$TMP/$1"
    git -C "$REPO" worktree add -q --detach "$wt" main
    local tree parent commit
    parent=$(git -C "$REPO" rev-parse main)
    printf 'moved %s\n' "$name" > "$TMP/blob"
    local blob
    blob=$(git -C "$REPO" hash-object -w "$TMP/blob")
    tree=$(printf '100644 blob %s\tmoved-%s.txt\n' "$blob" "$name" | cat <(git -C "$REPO" ls-tree main) - | git -C "$REPO" mktree)
    commit=$(git -C "$REPO" commit-tree "$tree" -p "$parent" -m "target moves ($name)")
    git -C "$REPO" update-ref refs/heads/main "$commit" "$parent"
    echo "change $name" > "$wt/task-$name.txt"
    echo "$wt"
}

agent_times=()
git_times=()
for round in $(seq 1 "$ROUNDS"); do
    wt=$(setup "a$round")
    t0=$(now_ns)
    "$AGENTCTL" merge "$wt" --target main --gate none --task "a$round" --goal "task a$round" \
        --journal "$TMP/journal-a$round.jsonl" --json > "$TMP/out-a$round.json"
    t1=$(now_ns)
    grep -q '"outcome": "merged"' "$TMP/out-a$round.json" || { cat "$TMP/out-a$round.json" >&2; exit 1; }
    agent_times+=($(( (t1 - t0) / 1000 )))

    wt=$(setup "g$round")
    t0=$(now_ns)
    (
        cd "$wt"
        git switch -q -c "task/g$round"
        git add -A
        git commit -q -m "task g$round"
        old=$(git rev-parse main)
        git rebase -q main
        git update-ref refs/heads/main "$(git rev-parse HEAD)" "$old"
    )
    t1=$(now_ns)
    git_times+=($(( (t1 - t0) / 1000 )))
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
a=$(median "${agent_times[@]}")
g=$(median "${git_times[@]}")
echo "rounds: $ROUNDS, commits on main at the end: $(git -C "$REPO" rev-list --count main)"
echo "agentctl merge (median): ${a} us"
echo "git command line (median): ${g} us"
awk -v a="$a" -v g="$g" 'BEGIN { printf "ratio agentkit / git: %.2f\n", a / g }'
