#!/usr/bin/env python3
"""Side-by-side tables for benches/mutate.sh (issue 18).

Two mutants are "the same" when they make the same file: each tool's
mutant is applied to the original source and the mutated file is compared
with every whitespace character dropped (so a body replaced inside or
outside its braces, on the `fn` line or the first body line, still
matches; in Rust files comment lines are dropped too, since cargo-mutants
replaces a body from its first statement and keeps the comments above it) after a few spellings of one replacement are made one
(`"".into()` / `String::from("")` / `"".to_owned()` are `String::new()`).

Subcommands:

  rust CRATE SRC_DIR CM_OUTCOMES AK_JSON CM_SECONDS AK_SECONDS TABLE
      cargo-mutants' outcomes.json against `agentctl mutate --json`
  mutmut-dump OUT_JSON
      run inside a project after `mutmut run`: every mutant's name, file,
      status and mutated file text (mutmut 3.8's own apply logic, in memory)
  python PACKAGE SRC_DIR MUTMUT_JSON AK_JSON MM_SECONDS AK_SECONDS TABLE
      mutmut (dumped as above) against `agentctl mutate --json`

TABLE is a Markdown file rows are appended to; a header is written when it
is empty.
"""
import hashlib
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

WS = re.compile(r"\s+")
# Spellings of one replacement value, made one before comparing.
ALIASES = [
    (re.compile(r'^(?:""\.into\(\)|String::from\(""\)|""\.to_owned\(\)|""\.to_string\(\))$'), "String::new()"),
    (re.compile(r'^String::from\(("[^"]*")\)$'), r"\1.into()"),
    (re.compile(r'^("[^"]*")\.(?:to_owned|to_string)\(\)$'), r"\1.into()"),
    (re.compile(r"^Vec::new\(\)$"), "vec![]"),
    # cargo-mutants' value for a Result of an unknown type; agentctl writes `Ok(())` only for unit.
    (re.compile(r"^Ok\(Default::default\(\)\)$"), "Ok(())"),
    # A unit body: cargo-mutants writes `()`, agentctl an empty block.
    (re.compile(r"^\(\)$"), ""),
    # Negating a negation is deleting the `!` (cargo-mutants' "delete !").
    (re.compile(r"^!\(!\s*(.*)\)$", re.S), r"\1"),
]


def canon(replacement):
    r = replacement.strip()
    inner = r[1:-1].strip() if r.startswith("{") and r.endswith("}") else None
    for pat, to in ALIASES:
        if inner is not None and pat.match(inner):
            return "{ " + pat.sub(to, inner) + " }"
        if pat.match(r):
            return pat.sub(to, r)
    return replacement


# Rust comment lines: cargo-mutants replaces a body from its first statement, agentctl
# the whole block, so comment lines at the top of a body would tell them apart.
RUST_COMMENT_LINE = re.compile(r"^[ \t]*//[^\n]*$", re.M)


def key(file, text):
    if file.endswith(".rs"):
        text = RUST_COMMENT_LINE.sub("", text)
    return hashlib.sha1((file + "\0" + WS.sub("", text)).encode()).hexdigest()


def char_offset(lines, line, col):
    """Offset of 1-based line and 1-based char column in the joined lines."""
    return sum(len(l) for l in lines[: line - 1]) + col - 1


def agentctl_mutants(src_dir, ak):
    """(key, outcome, label) for every agentctl mutant."""
    out = []
    cache = {}
    for m in ak.get("mutants", []):
        f = m["file"]
        if f not in cache:
            cache[f] = (Path(src_dir) / f).read_bytes()
        data = cache[f]
        mutated = data[: m["byte_start"]] + canon(m["replacement"]).encode() + data[m["byte_end"] :]
        label = f"{f}:{m['line']} {m['operator']} `{m['original'][:40]}` -> `{m['replacement'][:40]}`"
        out.append((key(f, mutated.decode("utf-8", "replace")), m["outcome"], label))
    return out


CM_OUTCOME = {"CaughtMutant": "caught", "MissedMutant": "missed", "Unviable": "unviable", "Timeout": "timeout"}


def cargo_mutants(src_dir, cm):
    out = []
    cache = {}
    for o in cm["outcomes"]:
        s = o["scenario"]
        if not isinstance(s, dict) or "Mutant" not in s:
            continue
        m = s["Mutant"]
        f = m["file"]
        if f not in cache:
            cache[f] = (Path(src_dir) / f).read_text().splitlines(keepends=True)
        lines = cache[f]
        sp = m["span"]
        a = char_offset(lines, sp["start"]["line"], sp["start"]["column"])
        b = char_offset(lines, sp["end"]["line"], sp["end"]["column"])
        text = "".join(lines)
        mutated = text[:a] + canon(m["replacement"]) + text[b:]
        out.append((key(f, mutated), CM_OUTCOME.get(o["summary"], o["summary"]), f"{m['name']} [{m.get('genre', '?')}]"))
    return out


def compare(a_list, b_list):
    """Pairs of (a, b) mutants with the same key (up to the smaller count per key)."""
    by_a, by_b = defaultdict(list), defaultdict(list)
    for k, o, label in a_list:
        by_a[k].append((o, label))
    for k, o, label in b_list:
        by_b[k].append((o, label))
    pairs = []
    for k, xs in by_a.items():
        ys = by_b.get(k, [])
        pairs.extend(zip(sorted(xs), sorted(ys)))
    return pairs


def table_header(path, first):
    p = Path(path)
    if not p.exists() or p.stat().st_size == 0:
        p.write_text(
            f"| {first} | tool | mutants | caught | missed | unviable | timeout | wall | ratio |\n"
            "|---|---|---:|---:|---:|---:|---:|---:|---:|\n"
        )


def report(name, other_tool, other, ak_list, other_list, other_s, ak_s, table, first):
    """Prints the per-tool counts, the shared mutants and their differences; appends table rows."""
    oc = Counter(o for _, o, _ in other_list)
    ac = Counter(o for _, o, _ in ak_list)
    ratio = ak_s / other_s if other_s > 0 else float("nan")
    pairs = compare(ak_list, other_list)
    ak_caught = sum(1 for (a, _), _ in pairs if a == "caught")
    ot_caught = sum(1 for _, (b, _) in pairs if b == "caught")
    print(f"== {name}")
    print(
        f"{other_tool}: {len(other_list)} mutants, {oc['caught']} caught, {oc['missed']} missed, "
        f"{oc['unviable']} unviable, {oc['timeout']} timeout{other}, wall {other_s:.1f} s"
    )
    print(
        f"agentctl: {len(ak_list)} mutants, {ac['caught']} caught, {ac['missed']} missed, "
        f"{ac['unviable']} unviable, {ac['timeout']} timeout, wall {ak_s:.1f} s"
    )
    print(f"wall-time ratio agentctl / {other_tool}: {ratio:.2f}x")
    print(
        f"mutants both generate: {len(pairs)} (of {len(ak_list)} agentctl, {len(other_list)} {other_tool}); "
        f"caught among them: agentctl {ak_caught}, {other_tool} {ot_caught}"
    )
    for title, keep in (
        (f"caught by {other_tool}, not by agentctl", lambda a, b: b == "caught" and a != "caught"),
        (f"caught by agentctl, not by {other_tool}", lambda a, b: a == "caught" and b != "caught"),
    ):
        rows = [(la, a, lb, b) for (a, la), (b, lb) in pairs if keep(a, b)]
        if rows:
            print(f"  {title} ({len(rows)}):")
            for la, a, lb, b in rows:
                print(f"    {lb}: {other_tool} {b} | agentctl {a}: {la}")
    shared = {k for k, _, _ in ak_list} & {k for k, _, _ in other_list}
    only_other = Counter(label.rsplit("[", 1)[-1].rstrip("]") if "[" in label else label.split(" ")[0].split(":")[0]
                         for k, _, label in other_list if k not in shared)
    only_ak = Counter(label.split(" ")[1] for k, _, label in ak_list if k not in shared)
    print(f"  only {other_tool}: {sum(only_other.values())} {dict(only_other.most_common())}")
    print(f"  only agentctl: {sum(only_ak.values())} {dict(only_ak.most_common())}")
    table_header(table, first)
    with open(table, "a") as t:
        t.write(
            f"| {name} | {other_tool} | {len(other_list)} | {oc['caught']} | {oc['missed']} | {oc['unviable']} | "
            f"{oc['timeout']} | {other_s:.1f} s | 1.00x |\n"
        )
        t.write(
            f"| {name} | agentctl | {len(ak_list)} | {ac['caught']} | {ac['missed']} | {ac['unviable']} | "
            f"{ac['timeout']} | {ak_s:.1f} s | {ratio:.2f}x |\n"
        )
        t.write(
            f"| {name} | both generate: {len(pairs)} | caught: agentctl {ak_caught}, {other_tool} {ot_caught} "
            f"| | | | | | |\n"
        )


def load_ak(path):
    try:
        ak = json.load(open(path))
    except (OSError, ValueError) as e:
        return None, f"no report ({e})"
    if "error" in ak:
        return None, ak["error"]
    return ak, None


def main_rust(name, src, cm_path, ak_path, cm_s, ak_s, table):
    cm = json.load(open(cm_path))
    ak, err = load_ak(ak_path)
    if ak is None:
        print(f"== {name}: agentctl failed: {err}")
        ak = {"mutants": []}
    report(name, "cargo-mutants", "", agentctl_mutants(src, ak), cargo_mutants(src, cm), float(cm_s), float(ak_s),
           table, "crate")


# --- mutmut ------------------------------------------------------------------

MM_OUTCOME = {"killed": "caught", "survived": "missed", "no tests": "missed", "timeout": "timeout",
              "caught by type check": "unviable", "segfault": "caught", "suspicious": "suspicious"}


def mutmut_dump(out_path):
    """Every mutant of the mutmut run in the current directory, with its mutated file."""
    import libcst as cst
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.mutation.diff_apply import (find_top_level_function_or_method, read_functions_from_index,
                                            read_mutant_function, read_mutants_module, read_orig_module)
    from mutmut.stats import status_by_exit_code
    from mutmut.utils.file_utils import walk_mutatable_files
    from mutmut.utils.format_utils import orig_function_and_class_names_from_key

    rows = []
    for path in walk_mutatable_files():
        m = SourceFileMutationData(path=path)
        m.load()
        orig_module = read_orig_module(path)
        for name, code in m.exit_code_by_key.items():
            status = status_by_exit_code[code]
            text = None
            try:
                # mutmut 3.8's apply_mutant, without writing the file.
                fn_name, _ = orig_function_and_class_names_from_key(name)
                fn_name = fn_name.rpartition(".")[-1]
                original = find_top_level_function_or_method(orig_module, fn_name)
                pair = read_functions_from_index(name, path)
                mutant = pair[1] if pair is not None else read_mutant_function(read_mutants_module(path), name)
                mutant = mutant.with_changes(name=cst.Name(fn_name))
                if original is not None:
                    text = orig_module.deep_replace(original, mutant).code
            except Exception as e:  # a mutant mutmut itself cannot show is counted, not matched
                text = None
                print(f"mutmut-dump: {name}: {e}", file=sys.stderr)
            rows.append({"name": name, "file": str(path), "status": status, "text": text})
    json.dump(rows, open(out_path, "w"))


def main_python(name, src, mm_path, ak_path, mm_s, ak_s, table):
    mm = json.load(open(mm_path))
    ak, err = load_ak(ak_path)
    if ak is None:
        print(f"== {name}: agentctl failed: {err}")
        ak = {"mutants": []}
    mm_list = []
    unmatchable = 0
    for r in mm:
        outcome = MM_OUTCOME.get(r["status"], r["status"])
        if r["text"] is None:
            unmatchable += 1
            k = "unmatchable:" + r["name"]
        else:
            k = key(r["file"], r["text"])
        mm_list.append((k, outcome, f"{r['name']} [{r['file']}]"))
    statuses = Counter(r["status"] for r in mm)
    extra = f" (statuses {dict(statuses)}; {unmatchable} not rebuilt for matching)"
    report(name, "mutmut", extra, agentctl_mutants(src, ak), mm_list, float(mm_s), float(ak_s), table, "package")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "rust":
        main_rust(*args)
    elif cmd == "python":
        main_python(*args)
    elif cmd == "mutmut-dump":
        mutmut_dump(*args)
    else:
        sys.exit(f"unknown subcommand {cmd}")
