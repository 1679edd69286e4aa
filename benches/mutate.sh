#!/usr/bin/env bash
# Mutation-testing benchmarks: `agentctl mutate` side by side with
# cargo-mutants (Rust) and mutmut (Python), in the same run, same jobs.
#
# Usage (from anywhere):
#
#     benches/mutate.sh [fixture] [JOBS]          # issue 6: the rust-small fixture diff (default mode)
#     benches/mutate.sh crates [JOBS] [CRATE...]  # issue 18: whole published crates, cold
#     benches/mutate.sh python [JOBS] [PKG==VER...]  # issue 18: whole PyPI packages against mutmut
#     benches/mutate.sh all [JOBS]                # crates, then python
#
#     JOBS defaults to 2.
#     OTHERS= benches/mutate.sh          # fixture mode: the Rust comparison only
#     KEEP=1 benches/mutate.sh ...       # keep the work directory (both tools' outputs)
#     TABLE=FILE benches/mutate.sh ...   # also append the Markdown table rows to FILE
#
# Needs: cargo-mutants on PATH for `fixture` and `crates` (`cargo install
# cargo-mutants --locked`), mutmut 3.8 and pytest for `python` (`pip install
# mutmut==3.8.1 pytest`), git, python3, network access to crates.io / PyPI
# (or their packages already in the local caches). agentctl is built with
# `cargo build --release --example agentctl` and taken from
# `${CARGO_TARGET_DIR:-<repo>/target}/release/examples/agentctl`.
#
# crates (default: heck strsim semver, at the pinned versions in CRATES
# below): a scratch cargo project depending on the exact versions runs
# `cargo fetch`; `cargo metadata` says where each crate's published source
# is (under CARGO_HOME's registry). Each crate is copied twice to the work
# directory (one copy per tool, no `target`), a Cargo.lock is generated in it
# (offline when the index is cached), and the copy is committed to a fresh
# git repository there. Nothing of theirs is committed to this repository.
# Then, per crate, one after the other:
#     cargo mutants -j JOBS --no-shuffle -o OUT            (in its copy)
#     agentctl mutate COPY --jobs JOBS --json --cache-dir FRESH
# Both are cold: cargo-mutants builds in its own fresh copy of a tree that
# has never been built, agentctl gets an empty cache directory (job trees,
# build caches and results cache all live there).
#
# python (default: inflection==0.5.1, a single module with a root test
# file, and isodate==0.6.1, a src layout with its tests inside the
# package): `pip download --no-binary :all: --no-deps PKG==VER` fetches the
# sdist, which is unpacked twice (one copy per tool) and committed to a git
# repository. mutmut gets `source_paths` (the package directory) and
# `do_not_mutate` (test files) in a `[mutmut]` section appended to setup.cfg
# of both copies; then `mutmut run --max-children JOBS` and `agentctl mutate
# COPY --jobs JOBS --json --cache-dir FRESH`.
#
# For every crate or package it prints each tool's mutants, caught, missed,
# unviable and timeout, the wall times and their ratio, and the mutants
# both tools generate with how many each caught, then lists the shared
# mutants one tool caught and the other did not. Two mutants are the same
# when applying each to the original file gives the same text with all
# whitespace dropped (benches/mutate_compare.py; a few spellings of one
# value, such as `"".into()` and `String::new()`, are made one first). For
# mutmut the mutated file is rebuilt from its mutants/ directory with its
# own apply logic; a mutant it cannot rebuild is counted but never matched.
# At the end the Markdown table of all rows is printed.
set -euo pipefail

MODE=fixture
case "${1:-}" in
  fixture | crates | python | all) MODE=$1; shift ;;
esac
JOBS=${1:-2}
if [ $# -gt 0 ]; then shift; fi
case "$JOBS" in '' | *[!0-9]*) echo "JOBS must be a number, got '$JOBS'" >&2; exit 2 ;; esac

REPO=$(cd "$(dirname "$0")/.." && pwd)
FIX=$REPO/agent-mutants/tests/testdata/mutate
COMPARE=$REPO/benches/mutate_compare.py
WORK=$(mktemp -d "${TMPDIR:-/tmp}/agentkit-mutate-bench.XXXXXX")
# KEEP=1 keeps the work directory (both tools' outputs) for inspection.
if [ -z "${KEEP:-}" ]; then trap 'rm -rf "$WORK"' EXIT; else echo "work directory: $WORK"; fi

# Pinned versions of the crates and packages measured.
declare -A CRATES=([heck]=0.5.0 [strsim]=0.11.1 [semver]=1.0.27)
PACKAGES_DEFAULT="inflection==0.5.1 isodate==0.6.1"

now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$2"; }
gitc() { git -c user.name=bench -c user.email=bench@example.com -c commit.gpgsign=false "$@"; }
git_snapshot() { (cd "$1" && git init -q && gitc add -A && gitc commit -q -m "published source"); }

build_agentctl() {
  (cd "$REPO" && cargo build --release --quiet --example agentctl)
  local target=${CARGO_TARGET_DIR:-$REPO/target}
  case "$target" in /*) ;; *) target=$REPO/$target ;; esac
  AGENTCTL=$target/release/examples/agentctl
  [ -x "$AGENTCTL" ] || { echo "agentctl was not built at $AGENTCTL" >&2; exit 2; }
  # From here on no tool may share a target directory: cargo-mutants does not
  # override CARGO_TARGET_DIR, so its parallel jobs (and its "cold" build)
  # would all use that one directory; agentctl sets its own per job.
  unset CARGO_TARGET_DIR
}

need_cargo_mutants() {
  command -v cargo-mutants >/dev/null || { echo "cargo-mutants is not on PATH: cargo install cargo-mutants --locked" >&2; exit 2; }
}

# --- fixture: rust-small, the same diff (issue 6) -----------------------------
fixture_mode() {
  need_cargo_mutants
  local RS=$WORK/rust-small
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

  local t0 t1 t2
  t0=$(now)
  (cd "$RS" && cargo mutants --in-diff "$WORK/rust.diff" -j "$JOBS" --no-shuffle -o "$WORK/cm" >"$WORK/cm.log" 2>&1) || true
  t1=$(now)
  "$AGENTCTL" mutate "$RS" --in-diff HEAD~1 --jobs "$JOBS" --cache-dir "$WORK/ak-cache" --json >"$WORK/ak.json" || true
  t2=$(now)
  local ROWS=$WORK/table-fixture.md
  python3 "$COMPARE" rust rust-small "$RS" "$WORK/cm/mutants.out/outcomes.json" "$WORK/ak.json" \
    "$(elapsed "$t0" "$t1")" "$(elapsed "$t1" "$t2")" "$ROWS"

  # Python and TypeScript fixtures: agentctl alone, score and time.
  local name
  for name in ${OTHERS-python-small ts-small}; do
    cp -r "$FIX/$name" "$WORK/$name"
    # A Node fixture's dependencies are not committed (README of the fixtures): install them as CI does.
    if [ -f "$WORK/$name/package-lock.json" ]; then
      (cd "$WORK/$name" && npm ci --no-audit --no-fund --silent >/dev/null)
    fi
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
}

# --- crates: whole published crates, cold (issue 18) --------------------------
fetch_crates() {
  local scratch=$WORK/fetch name
  mkdir -p "$scratch/src"
  : > "$scratch/src/lib.rs"
  {
    printf '[package]\nname = "mutate-bench-fetch"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n[dependencies]\n'
    for name in "$@"; do printf '%s = "=%s"\n' "$name" "${CRATES[$name]}"; done
    printf '\n[workspace]\n'
  } > "$scratch/Cargo.toml"
  (cd "$scratch" && { cargo fetch --quiet --offline 2>/dev/null || cargo fetch --quiet; })
  (cd "$scratch" && cargo metadata --format-version 1 --offline) > "$WORK/metadata.json"
}

crate_dir() {
  python3 - "$WORK/metadata.json" "$1" "$2" <<'EOF'
import json, os, sys
meta, name, version = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
for p in meta["packages"]:
    if p["name"] == name and p["version"] == version:
        print(os.path.dirname(p["manifest_path"]))
        break
else:
    sys.exit(f"{name} {version} is not in the fetched metadata")
EOF
}

crates_mode() {
  need_cargo_mutants
  local list=("$@") name src dir t0 t1 t2 ROWS=$WORK/table-crates.md
  [ ${#list[@]} -gt 0 ] || list=(heck strsim semver)
  for name in "${list[@]}"; do
    [ -n "${CRATES[$name]:-}" ] || { echo "unknown crate '$name' (known: ${!CRATES[*]})" >&2; exit 2; }
  done
  fetch_crates "${list[@]}"
  echo "crates: ${list[*]}, jobs=$JOBS, cargo-mutants $(cargo mutants --version | awk '{print $2}'), $(rustc --version)"
  for name in "${list[@]}"; do
    src=$(crate_dir "$name" "${CRATES[$name]}")
    for tool in cm ak; do
      dir=$WORK/$name-$tool
      cp -r "$src" "$dir"
      rm -rf "$dir/target" "$dir/mutants.out" "$dir/.cargo-ok"
      (cd "$dir" && { [ -f Cargo.lock ] || cargo generate-lockfile --quiet --offline 2>/dev/null || cargo generate-lockfile --quiet; })
      git_snapshot "$dir"
    done
    echo "-- $name ${CRATES[$name]}: $(find "$WORK/$name-cm" -name '*.rs' -not -path '*/.git/*' | xargs cat | wc -l) lines of Rust"
    t0=$(now)
    (cd "$WORK/$name-cm" && cargo mutants -j "$JOBS" --no-shuffle -o "$WORK/cm-$name" >"$WORK/cm-$name.log" 2>&1) \
      || echo "   cargo-mutants exited with $? (2: some missed, 3: some timed out): $(tail -n 1 "$WORK/cm-$name.log")"
    t1=$(now)
    "$AGENTCTL" mutate "$WORK/$name-ak" --jobs "$JOBS" --json --progress --cache-dir "$WORK/ak-cache-$name" \
      >"$WORK/ak-$name.json" 2>"$WORK/ak-$name.log" \
      || echo "   agentctl exited with $? (missed mutants give 1): $(tail -n 1 "$WORK/ak-$name.log")"
    t2=$(now)
    python3 "$COMPARE" rust "$name ${CRATES[$name]}" "$WORK/$name-ak" "$WORK/cm-$name/mutants.out/outcomes.json" \
      "$WORK/ak-$name.json" "$(elapsed "$t0" "$t1")" "$(elapsed "$t1" "$t2")" "$ROWS"
  done
}

# --- python: whole PyPI packages against mutmut (issue 18) --------------------
python_mode() {
  local list=("$@") spec pkg ver sdist dir tool t0 t1 t2 pkgdir ROWS=$WORK/table-python.md
  [ ${#list[@]} -gt 0 ] || read -r -a list <<< "$PACKAGES_DEFAULT"
  command -v mutmut >/dev/null || { echo "mutmut is not on PATH: pip install mutmut==3.8.1" >&2; exit 2; }
  echo "packages: ${list[*]}, jobs=$JOBS, $(mutmut --version 2>/dev/null || python3 -c 'import importlib.metadata as m; print("mutmut", m.version("mutmut"))'), $(python3 -m pytest --version 2>&1 | head -n 1), $(python3 --version)"
  for spec in "${list[@]}"; do
    pkg=${spec%%==*}
    ver=${spec#*==}
    mkdir -p "$WORK/sdist-$pkg"
    (cd "$WORK/sdist-$pkg" && pip download --quiet --no-binary :all: --no-deps "$spec" >/dev/null)
    sdist=$(find "$WORK/sdist-$pkg" -maxdepth 1 -type f | head -n 1)
    [ -n "$sdist" ] || { echo "no sdist of $spec was downloaded" >&2; exit 2; }
    for tool in mm ak; do
      dir=$WORK/$pkg-$tool
      mkdir -p "$dir"
      tar -xf "$sdist" -C "$dir" --strip-components=1
      rm -rf "$dir"/*.egg-info "$dir"/src/*.egg-info
      find "$dir" -name __pycache__ -type d -prune -exec rm -rf {} +
      # mutmut's configuration: the package's directory, and never its tests.
      pkgdir=$( (cd "$dir" && for d in "src/${pkg//-/_}" "${pkg//-/_}"; do [ -d "$d" ] && { echo "$d"; break; }; done) )
      [ -n "$pkgdir" ] || { echo "$spec: no package directory found" >&2; exit 2; }
      printf '\n[mutmut]\nsource_paths = %s/\ndo_not_mutate =\n    */tests/*\n    */test_*.py\n' "$pkgdir" >> "$dir/setup.cfg"
      git_snapshot "$dir"
    done
    echo "-- $spec: $(find "$WORK/$pkg-mm/$pkgdir" -name '*.py' | xargs cat | wc -l) lines of Python under $pkgdir (tests included); baseline: $(cd "$WORK/$pkg-mm" && python3 -m pytest -q -p no:cacheprovider 2>&1 | tail -n 1)"
    t0=$(now)
    (cd "$WORK/$pkg-mm" && mutmut run --max-children "$JOBS" >"$WORK/mm-$pkg.log" 2>&1) \
      || echo "   mutmut exited with $?: $(tail -n 1 "$WORK/mm-$pkg.log")"
    t1=$(now)
    "$AGENTCTL" mutate "$WORK/$pkg-ak" --jobs "$JOBS" --json --progress --cache-dir "$WORK/ak-cache-$pkg" \
      >"$WORK/ak-$pkg.json" 2>"$WORK/ak-$pkg.log" \
      || echo "   agentctl exited with $? (missed mutants give 1): $(tail -n 1 "$WORK/ak-$pkg.log")"
    t2=$(now)
    (cd "$WORK/$pkg-mm" && python3 "$COMPARE" mutmut-dump "$WORK/mm-$pkg.json" 2>"$WORK/mm-dump-$pkg.log") \
      || { echo "   could not read mutmut's results: $(tail -n 1 "$WORK/mm-dump-$pkg.log")"; echo '[]' > "$WORK/mm-$pkg.json"; }
    python3 "$COMPARE" python "$spec" "$WORK/$pkg-ak" "$WORK/mm-$pkg.json" "$WORK/ak-$pkg.json" \
      "$(elapsed "$t0" "$t1")" "$(elapsed "$t1" "$t2")" "$ROWS"
  done
}

build_agentctl
case "$MODE" in
  fixture) fixture_mode ;;
  crates) crates_mode "$@" ;;
  python) python_mode "$@" ;;
  all) crates_mode; python_mode ;;
esac

echo
echo "(jobs=$JOBS, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end)"
for rows in "$WORK"/table-*.md; do
  [ -s "$rows" ] || continue
  echo
  cat "$rows"
  if [ -n "${TABLE:-}" ]; then { echo; cat "$rows"; } >> "$TABLE"; fi
done
