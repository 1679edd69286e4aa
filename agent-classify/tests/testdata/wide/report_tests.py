#!/usr/bin/env python3
"""Prints, for each captured case, the failing tests its structured report names, as the
library names them (the `tests` column of manifest.tsv). Run from this directory:
`python3 report_tests.py`. Reports: out/NAME.junit.xml (pytest --junitxml), NAME.gojson
(go test -json), NAME.libtest.json (libtest JSON), NAME.jest.json (jest --json),
NAME.vitest.json (vitest's json reporter), or the case's own stdout when it is a json report.
Names: pytest node ids (`tests/test_a.py::test_x[param]`, a module that failed to import by
its path), go test names, libtest names, jest titles joined with ` › `, vitest with ` > `.
Cases without a report print `?`, reports without a failing test `-`."""
import json
import os
import sys
import xml.etree.ElementTree as ET

OUT = "out"


def junit(path, project):
    names = []
    for case in ET.parse(path).getroot().iter("testcase"):
        if case.find("failure") is None and case.find("error") is None:
            continue
        cls, name = case.get("classname", ""), case.get("name", "")
        if not cls:  # a collection error: the module, dotted
            names.append(name.replace(".", "/") + ".py")
            continue
        parts = cls.split(".")
        split = next(
            (i for i in range(len(parts), 0, -1) if os.path.isfile(os.path.join(project, *parts[:i]) + ".py")),
            len(parts),
        )
        names.append("::".join(["/".join(parts[:split]) + ".py", *parts[split:], name]))
    return names


def gojson(path):
    state = {}
    for line in open(path):
        v = json.loads(line)
        if v.get("Test") and v.get("Action") in ("run", "pass", "fail", "skip"):
            state[v["Test"]] = v["Action"]
    return [t for t, a in state.items() if a in ("fail", "run")]


def libtest(path):
    out = []
    for line in open(path):
        try:
            v = json.loads(line)
        except ValueError:
            continue
        if v.get("type") == "test" and v.get("event") == "failed":
            out.append(v["name"])
    return out


def js(path, sep):
    text = open(path).read()
    v = json.loads(text[text.index("{"):])
    return [
        sep.join([*a["ancestorTitles"], a["title"]])
        for r in v["testResults"]
        for a in r["assertionResults"]
        if a["status"] == "failed"
    ]


def names(case, project):
    base = os.path.join(OUT, case)
    if os.path.exists(base + ".junit.xml"):
        return junit(base + ".junit.xml", project)
    if os.path.exists(base + ".gojson"):
        return gojson(base + ".gojson")
    if os.path.exists(base + ".libtest.json"):
        return libtest(base + ".libtest.json")
    if os.path.exists(base + ".jest.json"):
        return js(base + ".jest.json", " › ")
    if os.path.exists(base + ".vitest.json"):
        return js(base + ".vitest.json", " > ")
    stdout = open(base + ".stdout").read()
    if stdout.lstrip().startswith("{") and '"testResults"' in stdout:  # vitest --reporter=json
        return js(base + ".stdout", " > ")
    return None


def main():
    for line in open("manifest.tsv"):
        if line.startswith("#") or not line.strip():
            continue
        case, _tool, project = line.split("\t")[:3]
        found = names(os.path.basename(case), os.path.join("..", project))
        print(case, "?" if found is None else "|".join(sorted(set(found))) or "-", sep="\t")


if __name__ == "__main__":
    sys.exit(main())
