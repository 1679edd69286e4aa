#!/usr/bin/env bash
# Snapshot, restore and discard as three separate `agentctl` processes on a
# 100,000-file repository, against the git command line doing the same job
# in the same run (interleaved, so load changes hit both alike).
#
# The repository: 100,000 committed files (1,000 directories of 100), then
# 20 modified and 10 new. With ATTRIBUTES=1 it also has a root
# .gitattributes (`* text=auto`, `*.bat eol=crlf`, `*.png binary`) and ten
# CRLF .bat files. One cycle: snapshot, the agent's edits (3 files
# rewritten, 2 new, 1 deleted), restore, discard. The baseline: a temporary
# GIT_INDEX_FILE with `git add -A`, `git write-tree`, `git commit-tree`;
# `git restore --source <commit> --worktree -- .` and removal of the files
# created since (`git ls-files -o` against the temporary index).
#
#   cargo build --release --example agentctl
#   benches/snapshot_steps.sh                 # plain repository
#   ATTRIBUTES=1 benches/snapshot_steps.sh    # with .gitattributes
#
# Prints the median of CYCLES (default 9) cycles of each, the ratio, the
# first (cold: no stat cache, no walk cache) agentctl cycle, and the load
# average before and after.
set -euo pipefail

AGENTCTL=${AGENTCTL:-$(cd "$(dirname "$0")/.." && pwd)/target/release/examples/agentctl}
CYCLES=${CYCLES:-9}
ATTRIBUTES=${ATTRIBUTES:-0}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
repo=$work/repo
mkdir -p "$repo"
cd "$repo"
git init -q
printf '/target\n' > .gitignore
if [ "$ATTRIBUTES" = 1 ]; then
  printf '* text=auto\n*.bat eol=crlf\n*.png binary\n' > .gitattributes
  mkdir -p scripts
  for i in $(seq 0 9); do printf '@echo off\r\necho %s\r\n' "$i" > "scripts/s$i.bat"; done
fi
python3 - <<'EOF'
import os
for d in range(1000):
    p = f"src/d{d % 50:02}/m{d}"
    os.makedirs(p, exist_ok=True)
    for f in range(100):
        with open(f"{p}/f{f}.rs", "w") as fh:
            fh.write(f"pub fn f{d}_{f}() -> u32 {{ {f} }}\n")
EOF
git add -A
git -c user.name=bench -c user.email=bench@example.invalid commit -qm base
python3 - <<'EOF'
for i in range(20):
    d = i * 50
    with open(f"src/d{d % 50:02}/m{d}/f{i}.rs", "w") as fh:
        fh.write(f"// modified {i}\n")
for i in range(10):
    with open(f"src/d{i:02}/new{i}.rs", "w") as fh:
        fh.write(f"// new {i}\n")
EOF
sync
sleep 1.1
git status --porcelain > /dev/null

dirty() {
  for i in 0 1 2; do printf 'broken' > "src/d01/m$((1 + 50 * i))/f7.rs"; done
  printf 'new' > src/agent_new.rs
  printf 'new' > src/d02/agent_new.rs
  rm src/d03/m3/f3.rs
}

now_ms() { date +%s%3N; }

agentkit_cycle() {
  local id
  id=$("$AGENTCTL" snapshot . | tail -n 1)
  dirty
  "$AGENTCTL" restore . "$id" > /dev/null
  "$AGENTCTL" discard . "$id" > /dev/null
}

cli_cycle() {
  local index=$work/baseline-index tree head commit
  rm -f "$index"
  GIT_INDEX_FILE=$index git add -A
  tree=$(GIT_INDEX_FILE=$index git write-tree)
  head=$(git rev-parse HEAD)
  commit=$(git -c user.name=bench -c user.email=bench@example.invalid commit-tree "$tree" -p "$head" -m snapshot)
  dirty
  git restore --source "$commit" --worktree -- .
  GIT_INDEX_FILE=$index git ls-files -z -o --exclude-standard | xargs -0 -r rm -f --
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
t=$(now_ms); agentkit_cycle; cold=$(( $(now_ms) - t ))
ours=(); theirs=()
for _ in $(seq "$CYCLES"); do
  t=$(now_ms); agentkit_cycle; ours+=($(( $(now_ms) - t )))
  t=$(now_ms); cli_cycle; theirs+=($(( $(now_ms) - t )))
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
a=$(printf '%s\n' "${ours[@]}" | median)
b=$(printf '%s\n' "${theirs[@]}" | median)
echo "attributes=$ATTRIBUTES cycles=$CYCLES"
echo "agentctl, one process per step: median ${a} ms (all: ${ours[*]}; first, cold: ${cold} ms)"
echo "git command line:               median ${b} ms (all: ${theirs[*]})"
awk -v a="$a" -v b="$b" 'BEGIN { printf "ratio: %.2fx\n", a / b }'
