#!/usr/bin/env python3
"""Gold-mode wall time of the shipped SWE task set (examples/swe).

Measures, in one run of this script:

1. `agentctl swe run --gold --jobs 1` and `--jobs 2` over the twelve
   instances: wall time of the set, per instance, and the share of each
   instance's time spent in environment setup (from report.json's phases);
2. the baseline a user would otherwise write: a plain sequential script
   doing the same work by hand for each instance (a clone at base_commit,
   `git apply` of the test patch, the same setup commands, the tests, the
   gold patch, the tests again), with the commands the runner reported, so
   the ratio is the runner's own cost (worktrees, oracle, parsing,
   reports) or saving (parallel jobs) against bare commands.

A warm-up pass runs first so that every measured pass sees the same warm
package caches (pip, npm, cargo); the figures are therefore warm-cache
figures. Usage:

    python3 benches/swe_gold.py [--skip-build]
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AGENTCTL = os.path.join(ROOT, "target", "debug", "examples", "agentctl")
INSTANCES = os.path.join(ROOT, "examples", "swe", "instances.jsonl")


def run_agentctl(mirrors, out, jobs):
    start = time.monotonic()
    subprocess.run(
        [AGENTCTL, "swe", "run", "--gold", "--jobs", str(jobs), "--instances", INSTANCES,
         "--repos", mirrors, "--out", out, "--json"],
        check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    wall = time.monotonic() - start
    with open(os.path.join(out, "report.json")) as f:
        report = json.load(f)
    assert report["summary"]["resolved"] == report["summary"]["total"], report["summary"]
    return wall, report


def sh(cmd, cwd, env):
    subprocess.run(["sh", "-c", cmd], cwd=cwd, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def by_hand(mirrors, instances, report, work):
    """The same work per instance, sequentially, with plain commands."""
    out_env = os.path.join(report["out"], "env")
    start = time.monotonic()
    for inst in instances:
        entry = report["instances"][inst["instance_id"]]
        owner, name = inst["repo"].split("/")
        src = os.path.join(mirrors, f"{owner}__{name}")
        dest = os.path.join(work, inst["instance_id"])
        env_dir = os.path.join(work, "env", inst["instance_id"])
        os.makedirs(env_dir, exist_ok=True)
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1",
                   PATH=os.path.join(env_dir, "venv", "bin") + ":" + os.environ["PATH"],
                   VIRTUAL_ENV=os.path.join(env_dir, "venv"))
        subprocess.run(["git", "clone", "-q", "--shared", src, dest], check=True)
        subprocess.run(["git", "-C", dest, "checkout", "-q", inst["base_commit"]], check=True)
        subprocess.run(["git", "-C", dest, "apply", "-"], input=inst["test_patch"].encode(), check=True)
        for step in entry["setup_commands"]:
            sh(step.replace(os.path.join(out_env, inst["instance_id"]), env_dir), dest, env)
        test = entry["test_command"]
        subprocess.run(["sh", "-c", test], cwd=dest, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["git", "-C", dest, "apply", "-"], input=inst["patch"].encode(), check=True)
        subprocess.run(["sh", "-c", test], cwd=dest, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(dest)
        shutil.rmtree(env_dir)
    return time.monotonic() - start


def main():
    if "--skip-build" not in sys.argv:
        subprocess.run(["cargo", "build", "-q", "--example", "agentctl"], cwd=ROOT, check=True)
    with open(INSTANCES) as f:
        instances = [json.loads(line) for line in f if line.strip()]
    tmp = tempfile.mkdtemp(prefix="swe-bench-")
    mirrors = os.path.join(tmp, "mirrors")
    subprocess.run(["bash", os.path.join(ROOT, "examples", "swe", "build-mirrors.sh"), mirrors], check=True)
    run_agentctl(mirrors, os.path.join(tmp, "warmup"), 2)
    wall1, rep1 = run_agentctl(mirrors, os.path.join(tmp, "jobs1"), 1)
    wall2, rep2 = run_agentctl(mirrors, os.path.join(tmp, "jobs2"), 2)
    rep1["out"] = os.path.join(tmp, "jobs1")
    hand = by_hand(mirrors, instances, rep1, os.path.join(tmp, "hand"))

    print(f"{'instance':<32} {'wall s':>7} {'setup s':>8} {'setup %':>8}")
    total_wall = total_setup = 0
    for iid, e in sorted(rep1["instances"].items()):
        w, s = e["wall_ms"] / 1000, e["phases"]["setup_ms"] / 1000
        total_wall += w
        total_setup += s
        print(f"{iid:<32} {w:7.1f} {s:8.1f} {100 * s / w:7.0f}%")
    print(f"{'sum of instances (jobs 1)':<32} {total_wall:7.1f} {total_setup:8.1f} {100 * total_setup / total_wall:7.0f}%")
    print()
    print(f"set, --jobs 1:               {wall1:6.1f} s  (resolved {rep1['summary']['resolved']} of {rep1['summary']['scored']})")
    print(f"set, --jobs 2:               {wall2:6.1f} s  (resolved {rep2['summary']['resolved']} of {rep2['summary']['scored']})")
    print(f"by hand, sequential:         {hand:6.1f} s")
    print(f"jobs 1 / by hand:            {wall1 / hand:6.2f}x")
    print(f"jobs 2 / by hand:            {wall2 / hand:6.2f}x")
    print(f"jobs 2 / jobs 1:             {wall2 / wall1:6.2f}x")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
