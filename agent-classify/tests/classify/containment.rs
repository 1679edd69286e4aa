//! Containment: output naming a file outside the workspace (an absolute
//! path elsewhere, `../` climbing out, a symlink inside the root pointing
//! out) gives a failure at that location, but the file is never read: no
//! snippet, and the repair context does not quote it.

use agent_classify::{AutoClassifier, RepairContextBuilder};
use agent_core::ContextRenderer;
use agent_core::FailureClassifier;
use agent_core::exec::RunOutput;
use agent_core::failure::{Classification, Failure, FailureCategory, FailureKind};
use agent_core::workspace::WorkspaceProfile;
use std::path::{Path, PathBuf};

/// The line of the outside file that must never reach a prompt.
const SECRET: &str = "SECRET_TOKEN = 'hunter2-must-not-leak'";

/// A temporary `ws/` workspace beside an `outside/` directory holding
/// `secret.EXT` (the secret on line 3), with `ws/link.EXT` symlinks to each,
/// `ws/linked` a symlink to `outside/`, and `ws/src/inside.py` a real file.
struct Tree {
    _dir: tempfile::TempDir,
    ws: PathBuf,
    outside: PathBuf,
}

fn tree() -> Tree {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(ws.join("src")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    for ext in ["py", "ts", "js", "go", "rs"] {
        let secret = outside.join(format!("secret.{ext}"));
        std::fs::write(&secret, format!("line one\nline two\n{SECRET}\nline four\n")).unwrap();
        std::os::unix::fs::symlink(&secret, ws.join(format!("link.{ext}"))).unwrap();
    }
    std::os::unix::fs::symlink(&outside, ws.join("linked")).unwrap();
    std::fs::write(ws.join("src/inside.py"), "a = 1\nb = 2\nVISIBLE_LINE: int = 'x'\n").unwrap();
    Tree { _dir: dir, ws, outside }
}

/// Classifies `stdout`/`stderr` of `command` (exit 1) through [`AutoClassifier`] in `ws`.
fn classify(ws: &Path, command: &str, stdout: &str, stderr: &str) -> Classification {
    AutoClassifier::new().classify(&RunOutput::from_text(command, 1, stdout, stderr), &WorkspaceProfile::new(ws))
}

/// Asserts a failure at `file:line` without a snippet quoting the secret, and
/// a repair context that names the location but does not quote the secret.
fn assert_located_unread(ws: &Path, case: &str, c: &Classification, file: &Path, line: u32, no_snippet: bool) {
    let f = c
        .failures
        .iter()
        .find(|f| f.file.as_deref() == Some(file) && f.line == Some(line))
        .unwrap_or_else(|| panic!("{case}: no failure at {}:{line} in {:#?}", file.display(), c.failures));
    if no_snippet {
        assert_eq!(f.snippet, None, "{case}");
    }
    for f in &c.failures {
        assert!(!f.snippet.as_deref().unwrap_or_default().contains("hunter2"), "{case}: {f:#?}");
    }
    let text = RepairContextBuilder::new().render(ws, c);
    assert!(text.contains(&format!("{}:{line}", file.display())), "{case}: {text}");
    assert!(!text.contains("hunter2"), "{case}: {text}");
}

#[test]
fn a_file_inside_the_root_is_quoted_so_the_checks_below_are_meaningful() {
    let t = tree();
    let out = "src/inside.py:3:1: error: Incompatible types in assignment (expression has type \"str\", variable has type \"int\")  [assignment]\n";
    let c = classify(&t.ws, "mypy .", out, "");
    assert!(c.failures[0].snippet.as_deref().unwrap_or_default().contains("VISIBLE_LINE"), "{c:#?}");
    assert!(RepairContextBuilder::new().render(&t.ws, &c).contains("VISIBLE_LINE"));
}

#[test]
fn tool_output_naming_files_outside_the_workspace_gives_locations_without_their_content() {
    let t = tree();
    let outside = t.outside.display().to_string();
    let ws = t.ws.display().to_string();
    let mypy_line = "error: Incompatible types in assignment (expression has type \"str\", variable has type \"int\")  [assignment]";
    let cases: Vec<(&str, String, String, &str, PathBuf)> = vec![
        // (command, stdout, stderr, case, expected file)
        ("mypy .", format!("link.py:3:1: {mypy_line}\n"), String::new(), "mypy, symlink out", "link.py".into()),
        (
            "mypy .",
            format!("{outside}/secret.py:3:1: {mypy_line}\n"),
            String::new(),
            "mypy, absolute path elsewhere",
            PathBuf::from(format!("{outside}/secret.py")),
        ),
        (
            "ruff check --output-format concise",
            "../outside/secret.py:3:1: F821 Undefined name `x`\nFound 1 error.\n".to_owned(),
            String::new(),
            "ruff, ../ out of the root",
            "../outside/secret.py".into(),
        ),
        (
            "tsc --noEmit",
            "linked/secret.ts(3,1): error TS2322: Type 'string' is not assignable to type 'number'.\n".to_owned(),
            String::new(),
            "tsc, through a symlinked directory",
            "linked/secret.ts".into(),
        ),
        (
            "go build ./...",
            String::new(),
            "# example.com/m\n./linked/secret.go:3:2: undefined: x\n".to_owned(),
            "go, through a symlinked directory",
            "linked/secret.go".into(),
        ),
        (
            "./build.sh",
            String::new(),
            "link.rs:3:1: error: expected `;`\n".to_owned(),
            "generic, symlink out",
            "link.rs".into(),
        ),
        (
            "npx eslint -f json .",
            format!(
                "[{{\"filePath\":\"{ws}/link.js\",\"messages\":[{{\"ruleId\":\"no-undef\",\"severity\":2,\"message\":\"'x' is not defined.\",\"line\":3,\"column\":1}}],\"errorCount\":1}}]"
            ),
            String::new(),
            "eslint, symlink out",
            "link.js".into(),
        ),
        (
            "npx jest --json",
            format!(
                "{{\"success\":false,\"numFailedTests\":1,\"numPassedTests\":0,\"numPendingTests\":0,\"numTotalTests\":1,\"numRuntimeErrorTestSuites\":0,\"testResults\":[{{\"name\":\"{ws}/link.test.js\",\"status\":\"failed\",\"message\":\"\",\"assertionResults\":[{{\"ancestorTitles\":[\"secret\"],\"title\":\"leaks\",\"fullName\":\"secret leaks\",\"status\":\"failed\",\"failureMessages\":[\"Error: boom\\n    at check ({ws}/link.js:3:5)\"]}}]}}]}}"
            ),
            String::new(),
            "jest, stack frame through a symlink",
            "link.js".into(),
        ),
        (
            "python3 -m pytest",
            pytest_output(&ws, &format!("{outside}/secret.py:3")),
            String::new(),
            "pytest, absolute frame elsewhere",
            PathBuf::from(format!("{outside}/secret.py")),
        ),
        (
            "python3 -m pytest",
            // pytest's `rootdir:` is output too: it does not widen the workspace.
            pytest_output(&outside, "secret.py:3"),
            String::new(),
            "pytest, rootdir outside the workspace",
            "secret.py".into(),
        ),
    ];
    for (command, stdout, stderr, case, file) in cases {
        let c = classify(&t.ws, command, &stdout, &stderr);
        assert_located_unread(&t.ws, case, &c, &file, 3, true);
    }
    // rustc renders the source itself (from its output, not from the file): only the secret is checked.
    let stderr = "error[E0308]: mismatched types\n --> linked/secret.rs:3:5\n\nerror: could not compile `m` (lib) due to 1 previous error\n";
    let c = classify(&t.ws, "cargo build", "", stderr);
    assert_located_unread(&t.ws, "rustc", &c, Path::new("linked/secret.rs"), 3, false);
}

#[test]
fn system_files_named_by_output_are_not_read() {
    let t = tree();
    let c = classify(
        &t.ws,
        "./build.sh",
        "",
        "/etc/passwd:1:1: error: bad\n../../../../../../etc/passwd:1:1: error: bad\n",
    );
    assert_eq!(c.failures.len(), 2, "{c:#?}");
    for f in &c.failures {
        assert_eq!(f.snippet, None, "{f:#?}");
    }
    let text = RepairContextBuilder::new().render(&t.ws, &c);
    assert!(text.contains("/etc/passwd:1:1"), "{text}");
    assert!(!text.contains("root:"), "{text}");
    // A Python standard-library frame stays a location.
    let out = pytest_output(&t.ws.display().to_string(), "/usr/lib/python3.11/json/decoder.py:355");
    let c = classify(&t.ws, "python3 -m pytest", &out, "");
    assert!(c.failures.iter().all(|f| f.snippet.is_none()), "{c:#?}");
}

#[test]
fn the_repair_context_does_not_read_failures_located_outside_the_root() {
    let t = tree();
    let mut c = Classification::default();
    for file in [
        "link.py".to_owned(),
        "linked/secret.rs".to_owned(),
        "../outside/secret.go".to_owned(),
        format!("{}/secret.ts", t.outside.display()),
        "src/../../outside/secret.js".to_owned(),
    ] {
        c.failures.push(Failure::new(FailureCategory::Build, FailureKind::Type, "mismatched types").at(
            file,
            Some(3),
            Some(1),
        ));
    }
    let text = RepairContextBuilder::new().render(&t.ws, &c);
    assert_eq!(text.matches(":3:1").count(), 5, "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

/// A pytest text report whose one failure raises at `location` (`FILE:LINE`), with `rootdir: ROOTDIR`.
fn pytest_output(rootdir: &str, location: &str) -> String {
    format!(
        "============================= test session starts ==============================
platform linux -- Python 3.11.7, pytest-9.2.0, pluggy-1.7.0
rootdir: {rootdir}
collected 1 item

tests/test_x.py F                                                        [100%]

=================================== FAILURES ===================================
____________________________________ test_x ____________________________________

    def test_x():
>       check()

tests/test_x.py:3: 
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ 

    def check():
>       raise ValueError(\"boom\")
E       ValueError: boom

{location}: ValueError
=========================== short test summary info ============================
FAILED tests/test_x.py::test_x - ValueError: boom
============================== 1 failed in 0.01s ===============================
"
    )
}
