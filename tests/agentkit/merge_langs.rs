//! `agentctl merge DIR --gate tests` on a Go module and a Rust crate, as a
//! black box, through agentctl's own wiring (its workspace inspection picks
//! the test command; the tests gate runs the real `go test` or `cargo
//! test` on the rebased change). The target moves while the task works: a
//! correct change is rebased onto it, its suite passes and it lands; a change
//! that only worked against the old target (the function it calls was
//! renamed there) is rebased cleanly, fails the suite, and is refused with
//! the target left where it was. On a target whose suite already fails,
//! the suite run at the target's head is the gate's baseline: a correct
//! change lands, and one whose own new test fails is refused. A Python
//! target whose suite cannot run on this machine (a package it declares is
//! not installed) needs a human, and no gate judges the change. No model is
//! involved: these merges have no conflicts.

use crate::support::{agentctl, git, stdout_json as json};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A project on `main` whose suite passes, in the shape of its language.
struct Lang {
    /// Files of the first commit on `main`.
    base: &'static [(&'static str, &'static str)],
    /// A commit on `main` made while the task works, compatible with it.
    compatible: &'static [(&'static str, &'static str)],
    /// A commit on `main` that renames the function the task calls.
    rename: &'static [(&'static str, &'static str)],
    /// The task's change (written, not committed, in its worktree).
    task: &'static [(&'static str, &'static str)],
    /// A file the task adds, and one the compatible commit adds.
    task_file: &'static str,
    target_file: &'static str,
    /// Where the task's change calls the function the target renames, and its old name.
    calls_at: &'static str,
    called: &'static str,
    /// Run in the repository before the first commit (a lockfile).
    prepare: Option<&'static [&'static str]>,
}

const GO: Lang = Lang {
    base: &[
        ("go.mod", "module example.com/calc\n\ngo 1.19\n"),
        (
            "calc.go",
            "// Package calc does arithmetic.\npackage calc\n\n// Add returns a + b.\nfunc Add(a, b int) int {\n\treturn a + b\n}\n",
        ),
        (
            "calc_test.go",
            "package calc\n\nimport \"testing\"\n\nfunc TestAdd(t *testing.T) {\n\tif Add(2, 3) != 5 {\n\t\tt.Fatal(\"Add(2, 3) != 5\")\n\t}\n}\n",
        ),
    ],
    compatible: &[
        ("scale.go", "package calc\n\n// Scale returns x * k.\nfunc Scale(x, k int) int {\n\treturn x * k\n}\n"),
        (
            "scale_test.go",
            "package calc\n\nimport \"testing\"\n\nfunc TestScale(t *testing.T) {\n\tif Scale(4, 3) != 12 {\n\t\tt.Fatal(\"Scale(4, 3) != 12\")\n\t}\n}\n",
        ),
    ],
    rename: &[
        (
            "calc.go",
            "// Package calc does arithmetic.\npackage calc\n\n// Sum returns a + b.\nfunc Sum(a, b int) int {\n\treturn a + b\n}\n",
        ),
        (
            "calc_test.go",
            "package calc\n\nimport \"testing\"\n\nfunc TestSum(t *testing.T) {\n\tif Sum(2, 3) != 5 {\n\t\tt.Fatal(\"Sum(2, 3) != 5\")\n\t}\n}\n",
        ),
    ],
    task: &[
        ("twice.go", "package calc\n\n// Twice returns 2 * x.\nfunc Twice(x int) int {\n\treturn Add(x, x)\n}\n"),
        (
            "twice_test.go",
            "package calc\n\nimport \"testing\"\n\nfunc TestTwice(t *testing.T) {\n\tif Twice(21) != 42 {\n\t\tt.Fatal(\"Twice(21) != 42\")\n\t}\n}\n",
        ),
    ],
    task_file: "twice.go",
    target_file: "scale.go",
    calls_at: "twice.go:5",
    called: "Add",
    prepare: None,
};

const RUST: Lang = Lang {
    base: &[
        (".gitignore", "/target\n"),
        ("Cargo.toml", "[package]\nname = \"calc\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n"),
        (
            "src/lib.rs",
            "//! Arithmetic.\n\n/// Returns `a + b`.\npub fn add(a: i64, b: i64) -> i64 {\n    a + b\n}\n\n/// Nothing.\npub const ZERO: i64 = 0;\n\n/// One.\npub const ONE: i64 = 1;\n",
        ),
        ("tests/add.rs", "#[test]\nfn adds() {\n    assert_eq!(calc::add(2, 3), 5);\n}\n"),
    ],
    compatible: &[(
        "tests/identity.rs",
        "#[test]\nfn zero_is_the_identity() {\n    assert_eq!(calc::add(7, calc::ZERO), 7);\n}\n",
    )],
    rename: &[
        (
            "src/lib.rs",
            "//! Arithmetic.\n\n/// Returns `a + b`.\npub fn sum(a: i64, b: i64) -> i64 {\n    a + b\n}\n\n/// Nothing.\npub const ZERO: i64 = 0;\n\n/// One.\npub const ONE: i64 = 1;\n",
        ),
        ("tests/add.rs", "#[test]\nfn adds() {\n    assert_eq!(calc::sum(2, 3), 5);\n}\n"),
    ],
    task: &[
        (
            "src/lib.rs",
            "//! Arithmetic.\n\n/// Returns `a + b`.\npub fn add(a: i64, b: i64) -> i64 {\n    a + b\n}\n\n/// Nothing.\npub const ZERO: i64 = 0;\n\n/// One.\npub const ONE: i64 = 1;\n\n/// Returns `2 * x`.\npub fn twice(x: i64) -> i64 {\n    add(x, x)\n}\n",
        ),
        ("tests/twice.rs", "#[test]\nfn doubles() {\n    assert_eq!(calc::twice(21), 42);\n}\n"),
    ],
    task_file: "tests/twice.rs",
    target_file: "tests/identity.rs",
    calls_at: "src/lib.rs:16",
    called: "add",
    prepare: Some(&["cargo", "generate-lockfile", "--offline"]),
};

fn write_all(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// The repository (`main` at its base commit) and a detached worktree of it for the task.
fn project(lang: &Lang) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    write_all(&repo, lang.base);
    if let Some(cmd) = lang.prepare {
        let out = std::process::Command::new(cmd[0]).args(&cmd[1..]).current_dir(&repo).output().unwrap();
        assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["config", "user.name", "user"]);
    git(&repo, &["config", "user.email", "user@example.invalid"]);
    git(&repo, &["config", "commit.gpgsign", "false"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "base"]);
    let wt = dir.path().join("task");
    git(&repo, &["worktree", "add", "-q", "--detach", wt.to_str().unwrap(), "main"]);
    (dir, repo, wt)
}

/// Commits `files` on `main` (in the user's checkout) and returns the new head.
fn move_main(repo: &Path, files: &[(&str, &str)], message: &str) -> String {
    write_all(repo, files);
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", message]);
    git(repo, &["rev-parse", "main"]).trim().to_owned()
}

/// `agentctl merge WT --target main --gate tests`: its exit code, its JSON
/// and the journal's events.
fn merge_with_tests_gate(dir: &Path, wt: &Path) -> (Option<i32>, Value, Vec<Value>) {
    let journal = dir.join("merge.jsonl");
    let out = agentctl()
        .args(["merge", wt.to_str().unwrap(), "--target", "main", "--gate", "tests", "--goal", "add twice"])
        .args(["--journal", journal.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    let doc = json(&out);
    let events = std::fs::read_to_string(&journal)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .collect();
    (out.status.code(), doc, events)
}

/// The tests gate's reports in the journal.
fn tests_gate_reports(events: &[Value]) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| e["type"] == "gate_report" && e["report"]["gate"] == "tests")
        .map(|e| &e["report"])
        .collect()
}

/// The findings of the tests gate's failing reports in the journal.
fn failed_findings(events: &[Value]) -> Vec<&str> {
    let failed = tests_gate_reports(events).into_iter().filter(|r| r["passed"] == false);
    failed.flat_map(|r| r["findings"].as_array().unwrap()).map(|f| f.as_str().unwrap()).collect()
}

fn a_correct_change_is_rebased_onto_the_moved_target_tested_and_landed(lang: &Lang) {
    let (dir, repo, wt) = project(lang);
    write_all(&wt, lang.task);
    let moved = move_main(&repo, lang.compatible, "target work");

    let (code, doc, events) = merge_with_tests_gate(dir.path(), &wt);
    assert_eq!(code, Some(0), "{doc:#}\n{events:#?}");
    assert_eq!(doc["report"]["outcome"], "merged", "{doc:#}");
    let head = git(&repo, &["rev-parse", "main"]).trim().to_owned();
    assert_eq!(doc["report"]["commit"].as_str(), Some(head.as_str()));
    assert_eq!(git(&repo, &["rev-parse", "main~1"]).trim(), moved, "the change sits on the moved target");
    let files = git(&repo, &["ls-tree", "-r", "--name-only", "main"]);
    assert!(files.lines().any(|f| f == lang.task_file) && files.lines().any(|f| f == lang.target_file), "{files}");
    assert!(!files.lines().any(|f| f.starts_with("target/")), "build output was committed: {files}");
    assert!(events.iter().any(|e| e["type"] == "rebased" && e["onto"] == moved.as_str()), "{events:#?}");
    let reports = tests_gate_reports(&events);
    assert!(!reports.is_empty(), "{events:#?}");
    // Every test ran and passed: the task's, the moved target's and the base's.
    assert!(reports.iter().all(|r| r["passed"] == true && r.get("skipped").is_none()), "{reports:#?}");
    assert!(reports.iter().all(|r| r["summary"].as_str().unwrap().starts_with("3 passed, 0 failed")), "{reports:#?}");
    // The user's checkout of main followed the landing.
    assert_eq!(git(&repo, &["status", "--porcelain"]), "");
    assert!(repo.join(lang.task_file).is_file());
}

fn a_change_the_moved_target_breaks_is_refused_by_the_tests_gate(lang: &Lang) {
    let (dir, repo, wt) = project(lang);
    write_all(&wt, lang.task);
    let moved = move_main(&repo, lang.rename, "rename the function");

    let (code, doc, events) = merge_with_tests_gate(dir.path(), &wt);
    assert_eq!(code, Some(1), "{doc:#}\n{events:#?}");
    assert_eq!(doc["report"]["outcome"], "gates_failed", "{doc:#}");
    assert_eq!(git(&repo, &["rev-parse", "main"]).trim(), moved, "the target is left where it was");
    assert!(events.iter().any(|e| e["type"] == "rebased" && e["onto"] == moved.as_str()), "{events:#?}");
    let reports = tests_gate_reports(&events);
    // The gate names the compiler's finding: the renamed function, where the task calls it.
    let failed: Vec<_> = reports.iter().filter(|r| r["passed"] == false).collect();
    assert!(!failed.is_empty(), "{reports:#?}");
    assert!(failed.iter().all(|r| r["summary"].as_str().unwrap().contains("did not build")), "{failed:#?}");
    let findings = failed_findings(&events);
    assert!(
        findings.iter().any(|f| f.contains(lang.calls_at) && f.contains(lang.called)),
        "no finding names {} at {}: {findings:#?}",
        lang.called,
        lang.calls_at
    );
    assert!(!events.iter().any(|e| e["type"] == "merged"), "{events:#?}");
}

#[test]
fn go_a_correct_change_is_rebased_onto_the_moved_target_tested_with_go_test_and_landed() {
    a_correct_change_is_rebased_onto_the_moved_target_tested_and_landed(&GO);
}

#[test]
fn go_a_change_calling_a_function_the_target_renamed_is_refused_by_go_test_after_the_rebase() {
    a_change_the_moved_target_breaks_is_refused_by_the_tests_gate(&GO);
}

#[test]
fn rust_a_correct_change_is_rebased_onto_the_moved_target_tested_with_cargo_test_and_landed() {
    a_correct_change_is_rebased_onto_the_moved_target_tested_and_landed(&RUST);
}

#[test]
fn rust_a_change_calling_a_function_the_target_renamed_is_refused_by_cargo_test_after_the_rebase() {
    a_change_the_moved_target_breaks_is_refused_by_the_tests_gate(&RUST);
}

const FLAKY_TEST: (&str, &str) = (
    "flaky_test.go",
    "package calc\n\nimport \"testing\"\n\nfunc TestFlaky(t *testing.T) {\n\tt.Fatal(\"fails on main already\")\n}\n",
);

#[test]
fn go_a_target_whose_suite_already_fails_takes_a_correct_change_and_refuses_one_whose_new_test_fails() {
    let (dir, repo, wt) = project(&GO);
    write_all(&wt, GO.task);
    let moved = move_main(&repo, &[FLAKY_TEST], "a test that fails");

    // TestFlaky fails at the target's head and after the change alike: not the change's doing.
    let (code, doc, events) = merge_with_tests_gate(dir.path(), &wt);
    assert_eq!(code, Some(0), "{doc:#}\n{events:#?}");
    assert_eq!(doc["report"]["outcome"], "merged", "{doc:#}");
    assert_eq!(git(&repo, &["rev-parse", "main~1"]).trim(), moved);
    // The suite ran at the target's head before the gate.
    let runs: Vec<_> = events.iter().filter(|e| e["type"] == "run").collect();
    assert_eq!(runs.len(), 1, "{events:#?}");
    assert!(runs[0]["command"].as_str().unwrap().starts_with("go test -json"), "{runs:#?}");
    assert_eq!(runs[0]["exit_code"], 1, "the target's own suite fails");
    let reports = tests_gate_reports(&events);
    assert!(reports.iter().all(|r| r["passed"] == true), "{reports:#?}");
    assert!(reports[0]["summary"].as_str().unwrap().starts_with("2 passed, 1 failed"), "{reports:#?}");

    // A second task brings a test of its own that fails: refused, though the target's suite fails too.
    let second_dir = tempfile::tempdir().unwrap();
    let second = second_dir.path().join("half");
    git(&repo, &["worktree", "add", "-q", "--detach", second.to_str().unwrap(), "main"]);
    write_all(
        &second,
        &[
            ("half.go", "package calc\n\n// Half returns x / 2.\nfunc Half(x int) int {\n\treturn x / 3\n}\n"),
            (
                "half_test.go",
                "package calc\n\nimport \"testing\"\n\nfunc TestHalf(t *testing.T) {\n\tif Half(8) != 4 {\n\t\tt.Fatal(\"Half(8) != 4\")\n\t}\n}\n",
            ),
        ],
    );
    let before = git(&repo, &["rev-parse", "main"]);
    let (code, doc, events) = merge_with_tests_gate(second_dir.path(), &second);
    assert_eq!(code, Some(1), "{doc:#}\n{events:#?}");
    assert_eq!(doc["report"]["outcome"], "gates_failed", "{doc:#}");
    assert_eq!(git(&repo, &["rev-parse", "main"]), before, "the target is left where it was");
    let findings = failed_findings(&events);
    assert!(
        findings.iter().any(|f| f.contains("TestHalf") && f.contains("is new since the baseline")),
        "{findings:#?}"
    );
    assert!(!findings.iter().any(|f| f.contains("TestFlaky")), "the target's own failure was blamed: {findings:#?}");
}

#[test]
fn python_a_target_whose_suite_cannot_run_on_this_machine_needs_a_human_and_no_gate_judges_the_change() {
    const PY: Lang = Lang {
        base: &[
            (
                "pyproject.toml",
                "[project]\nname = \"calc\"\nversion = \"0.1.0\"\n\n[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\n",
            ),
            (".gitignore", "__pycache__/\n.pytest_cache/\n"),
            ("calc.py", "def add(a, b):\n    return a + b\n"),
            ("tests/test_calc.py", "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"),
        ],
        compatible: &[],
        rename: &[],
        task: &[("twice.py", "from calc import add\n\n\ndef twice(x):\n    return add(x, x)\n")],
        task_file: "twice.py",
        target_file: "tests/conftest.py",
        calls_at: "",
        called: "",
        prepare: None,
    };
    let (dir, repo, wt) = project(&PY);
    write_all(&wt, PY.task);
    // The target now needs a package it declares and this machine lacks.
    let moved = move_main(
        &repo,
        &[
            (
                "pyproject.toml",
                "[project]\nname = \"calc\"\nversion = \"0.1.0\"\ndependencies = [\"agentkit-absent-sdk>=1\"]\n\n[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\n",
            ),
            ("tests/conftest.py", "import agentkit_absent_sdk\n"),
        ],
        "use the sdk",
    );

    let (code, doc, events) = merge_with_tests_gate(dir.path(), &wt);
    assert_eq!(code, Some(1), "{doc:#}\n{events:#?}");
    assert_eq!(doc["report"]["outcome"], "needs_human", "{doc:#}");
    let reason = doc["report"]["reason"].as_str().unwrap();
    assert!(reason.contains("cannot run here") && reason.contains("agentkit_absent_sdk"), "{reason}");
    assert_eq!(git(&repo, &["rev-parse", "main"]).trim(), moved, "the target is left where it was");
    assert!(events.iter().any(|e| e["type"] == "run"), "the run at the target's head is journaled: {events:#?}");
    assert!(tests_gate_reports(&events).is_empty(), "a gate judged the change: {events:#?}");
    assert!(events.iter().any(|e| e["type"] == "merge_refused"), "{events:#?}");
}
