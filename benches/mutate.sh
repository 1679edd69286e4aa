#!/usr/bin/env bash
# Mutation-testing benchmark (issue 6): cargo-mutants against `agentctl mutate`
# on the same small crate and the same diff, in the same run, then
# `agentctl mutate` alone on the Python and TypeScript fixtures.
#
# Usage (from anywhere; needs cargo-mutants on PATH: `cargo install cargo-mutants --locked`):
#
#     benches/mutate.sh [JOBS]        # JOBS defaults to 2
#     OTHERS= benches/mutate.sh       # the Rust comparison only
#     KEEP=1 benches/mutate.sh        # keep both tools' outputs
#
# What it does:
#  1. builds agentctl in release mode;
#  2. copies agent-mutants/tests/testdata/mutate/rust-small to a temp dir,
#     commits it with only the test module in src/lib.rs, then commits the
#     real src/lib.rs: the diff HEAD~1..HEAD adds every function under test
#     (the tests are unchanged, so neither tool mutates test code);
#  3. runs `cargo mutants --in-diff <that diff> -j JOBS` and
#     `agentctl mutate --in-diff HEAD~1 --jobs JOBS --json` (cold caches:
#     a fresh --cache-dir; Rust mutant schemata on, the runner's default)
#     and prints both wall times and their ratio;
#  4. matches the mutants both tools generate (same file, same line, same
#     replacement once braces and spaces are dropped) and counts how many of
#     those each tool caught;
#  5. runs `agentctl mutate --jobs JOBS` on python-small and ts-small copies
#     and prints their score and wall time.
set -euo pipefail

JOBS=${1:-2}
REPO=$(cd "$(dirname "$0")/.." && pwd)
FIX=$REPO/agent-mutants/tests/testdata/mutate
WORK=$(mktemp -d "${TMPDIR:-/tmp}/agentkit-mutate-bench.XXXXXX")
# KEEP=1 keeps the work directory (both tools' outputs) for inspection.
if [ -z "${KEEP:-}" ]; then trap 'rm -rf "$WORK"' EXIT; else echo "work directory: $WORK"; fi

command -v cargo-mutants >/dev/null || { echo "cargo-mutants is not on PATH: cargo install cargo-mutants --locked" >&2; exit 2; }
(cd "$REPO" && cargo build --release --quiet --example agentctl)
AGENTCTL=$REPO/target/release/examples/agentctl

now() { date +%s.%N; }
gitc() { git -c user.name=bench -c user.email=bench@example.com -c commit.gpgsign=false "$@"; }

# --- Rust: the same crate, the same diff ---------------------------------
RS=$WORK/rust-small
mkdir -p "$RS"
cp -r "$FIX/rust-small/." "$RS/"
rm -rf "$RS/target" "$RS/mutants.out"
(
  cd "$RS"
  git init -q
  mv src/lib.rs "$WORK/lib.rs.real"
  { head -n 1 "$WORK/lib.rs.real"; echo; awk '/^#\[cfg\(test\)\]/ { p = 1 } p' "$WORK/lib.rs.real"; } > src/lib.rs
  gitc add -A && gitc commit -q -m "the tests"
  mv "$WORK/lib.rs.real" src/lib.rs
  gitc commit -q -am "the library"
  git diff HEAD~1 > "$WORK/rust.diff"
)
echo "rust-small: diff of $(grep -c '^+' "$WORK/rust.diff") added lines, jobs=$JOBS, cargo-mutants $(cargo mutants --version | awk '{print $2}')"

t0=$(now)
(cd "$RS" && cargo mutants --in-diff "$WORK/rust.diff" -j "$JOBS" --no-shuffle -o "$WORK/cm" >"$WORK/cm.log" 2>&1) || true
t1=$(now)
"$AGENTCTL" mutate "$RS" --in-diff HEAD~1 --jobs "$JOBS" --cache-dir "$WORK/ak-cache" --json >"$WORK/ak.json" || true
t2=$(now)

python3 - "$WORK/cm/mutants.out/outcomes.json" "$WORK/ak.json" "$t0" "$t1" "$t2" <<'EOF'
import json, re, sys
cm_path, ak_path, t0, t1, t2 = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:])
cm_time, ak_time = t1 - t0, t2 - t1
norm = lambda s: re.sub(r"[\s{}]", "", s)
cm = json.load(open(cm_path))
ak = json.load(open(ak_path))
cm_out = {"CaughtMutant": "caught", "MissedMutant": "missed", "Unviable": "unviable", "Timeout": "timeout"}
cm_by_key = {}
for o in cm["outcomes"]:
    s = o["scenario"]
    if not isinstance(s, dict) or "Mutant" not in s:
        continue
    m = s["Mutant"]
    key = (m["file"], m["span"]["start"]["line"], norm(m["replacement"]))
    cm_by_key.setdefault(key, []).append(cm_out.get(o["summary"], o["summary"]))
ak_by_key = {}
for m in ak["mutants"]:
    ak_by_key.setdefault((m["file"], m["line"], norm(m["replacement"])), []).append(m["outcome"])
def near(key, table):
    # A replaced body starts on the line of `{` for one tool and the next line for the other.
    f, line, r = key
    for l in (line, line - 1, line + 1):
        if (f, l, r) in table:
            return table[(f, l, r)]
    return None
both = [(k, v, near(k, cm_by_key)) for k, v in ak_by_key.items() if near(k, cm_by_key) is not None]
# Pair mutants of one key up to the smaller count (cargo-mutants may make two `+` on a line where we make one).
pairs = sum(min(len(v), len(c)) for _, v, c in both)
ak_caught = sum(min(v.count("caught"), len(c)) for _, v, c in both)
cm_caught = sum(min(c.count("caught"), len(v)) for _, v, c in both)
print(f"cargo-mutants: {cm['total_mutants']} mutants, {cm['caught']} caught, {cm['missed']} missed, "
      f"{cm['unviable']} unviable, {cm['timeout']} timeout, wall {cm_time:.1f} s")
print(f"agentctl:      {len(ak['mutants'])} mutants, {ak['caught']} caught, {ak['missed']} missed, "
      f"{ak['unviable']} unviable, {ak['timeout']} timeout, wall {ak_time:.1f} s, "
      f"score {ak['score'] if ak['score'] is None else round(ak['score'], 3)}")
print(f"wall-time ratio agentctl / cargo-mutants: {ak_time / cm_time:.2f}x")
print(f"mutants both generate: {pairs}; caught among them: agentctl {ak_caught}, cargo-mutants {cm_caught}")
for (f, line, r), a, c in both:
    if a.count("caught") * len(c) != c.count("caught") * len(a):
        print(f"  differ: {f}:{line} -> {r!r}: agentctl {a}, cargo-mutants {c}")
EOF

# --- Python and TypeScript: score and time ---------------------------------
for name in ${OTHERS-python-small ts-small}; do
  cp -r "$FIX/$name" "$WORK/$name"
  t0=$(now)
  "$AGENTCTL" mutate "$WORK/$name" --jobs "$JOBS" --cache-dir "$WORK/cache-$name" --json >"$WORK/$name.json" || true
  t1=$(now)
  python3 - "$WORK/$name.json" "$name" "$t0" "$t1" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
if "error" in r:
    print(f"{sys.argv[2]}: error: {r['error']}")
    sys.exit(0)
t = float(sys.argv[4]) - float(sys.argv[3])
print(f"{sys.argv[2]}: {len(r['mutants'])} mutants, {r['caught']} caught, {r['missed']} missed, "
      f"{r['unviable']} unviable, {r['timeout']} timeout, score {r['score']:.3f}, wall {t:.1f} s "
      f"(baseline {r['baseline_ms']} ms, timeout {r['timeout_ms']} ms)")
EOF
done
