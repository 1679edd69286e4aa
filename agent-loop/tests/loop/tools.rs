//! The built-in tools over real files in temporary directories, the real
//! `FileEditor` and `ProcessExecutor`, and real test runners (cargo, pytest,
//! go, node). Expected values come from the fixtures written here.

use agent_classify::{RepairContextBuilder, classifier_for};
use agent_core::failure::FailureKind;
use agent_core::tool::{ObservationLimits, ToolContext, ToolError, ToolOutput};
use agent_core::workspace::{DetectedCommand, Project, WorkspaceProfile};
use agent_core::{FailureClassifier, WorkspaceOracle};
use agent_loop::tools::ToolSet;
use agent_sandbox::{FileEditor, ProcessExecutor};
use agent_testkit::{init_repo_in_temp, line_of, write};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn classifier(tool: &str) -> Arc<dyn FailureClassifier> {
    classifier_for(tool).unwrap()
}

fn context_with(root: &Path, profile: WorkspaceProfile, tool: &str) -> ToolContext {
    ToolContext::new(
        root,
        Arc::new(FileEditor::new()),
        Arc::new(ProcessExecutor::new()),
        profile,
        classifier(tool),
        Arc::new(RepairContextBuilder::new()),
    )
}

fn context(root: &Path) -> ToolContext {
    context_with(root, WorkspaceProfile::new(root), "generic")
}

async fn call(cx: &ToolContext, tool: &str, args: serde_json::Value) -> Result<ToolOutput, ToolError> {
    ToolSet::builtin().call(tool, args, cx).await
}

async fn ok(cx: &ToolContext, tool: &str, args: serde_json::Value) -> String {
    match call(cx, tool, args.clone()).await {
        Ok(out) => out.content,
        Err(e) => panic!("{tool} {args}: {e}"),
    }
}

fn workspace() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    (tmp, ws)
}

fn numbered_lines(n: usize) -> String {
    (1..=n).map(|i| format!("line {i}\n")).collect()
}

// ---- read_file ----------------------------------------------------------------

#[tokio::test]
async fn read_file_shows_the_requested_range_with_line_numbers() {
    let (_tmp, ws) = workspace();
    write(&ws, "notes.txt", numbered_lines(10).as_bytes());
    let out = ok(&context(&ws), "read_file", json!({"path": "notes.txt", "start_line": 3, "end_line": 5})).await;
    assert!(out.starts_with("notes.txt: lines 3-5 of 10\n"), "{out}");
    assert!(out.contains("    3 | line 3\n    4 | line 4\n    5 | line 5\n"), "{out}");
    assert!(!out.contains("line 2\n") && !out.contains("line 6\n"), "{out}");
    assert!(out.contains("start_line=6"), "{out}");
}

#[tokio::test]
async fn read_file_shows_at_most_max_read_lines_and_says_where_to_read_on() {
    let (_tmp, ws) = workspace();
    write(&ws, "long.txt", numbered_lines(500).as_bytes());
    let cx = context(&ws).with_limits(ObservationLimits::default().with_max_tokens(100_000));
    let max = cx.limits.max_read_lines;
    let out = ok(&cx, "read_file", json!({"path": "long.txt"})).await;
    assert!(out.contains(&format!("{max:>5} | line {max}\n")), "{out}");
    assert!(!out.contains(&format!("line {}\n", max + 1)), "{out}");
    assert!(out.contains(&format!("start_line={}", max + 1)), "{out}");
    assert_eq!(out.lines().filter(|l| l.contains(" | line ")).count(), max);
}

#[tokio::test]
async fn read_file_stays_within_the_observation_budget() {
    let (_tmp, ws) = workspace();
    let wide: String = (1..=200).map(|i| format!("{i}: {}\n", "x".repeat(300))).collect();
    write(&ws, "wide.txt", wide.as_bytes());
    let cx = context(&ws).with_limits(ObservationLimits::default().with_max_tokens(500));
    let out = ok(&cx, "read_file", json!({"path": "wide.txt"})).await;
    assert!(out.len() <= 500 * 4, "{} bytes", out.len());
    assert!(out.contains("    1 | 1: xxx"), "{out}");
    assert!(out.contains("read on with start_line="), "{out}");
}

#[tokio::test]
async fn read_file_of_a_binary_file_says_so_instead_of_showing_it() {
    let (_tmp, ws) = workspace();
    write(&ws, "image.bin", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
    let out = ok(&context(&ws), "read_file", json!({"path": "image.bin"})).await;
    assert!(out.contains("binary"), "{out}");
    assert!(!out.contains("IHDR"), "{out}");
}

#[tokio::test]
async fn read_file_of_a_missing_file_fails_with_a_hint() {
    let (_tmp, ws) = workspace();
    let err = call(&context(&ws), "read_file", json!({"path": "nope.rs"})).await.unwrap_err();
    assert!(matches!(err, ToolError::Failed { .. }), "{err}");
    assert!(err.to_string().contains("nope.rs"), "{err}");
}

// ---- list_files ---------------------------------------------------------------

fn ignore_fixture() -> (tempfile::TempDir, std::path::PathBuf) {
    let (tmp, repo) = init_repo_in_temp();
    write(&repo, ".gitignore", b"build/\n*.log\n");
    write(&repo, "README.md", b"# demo\n");
    write(&repo, "src/main.rs", b"fn main() { println!(\"alpha\"); }\n");
    write(&repo, "src/util/mod.rs", b"pub fn alpha() {}\n");
    write(&repo, "scripts/run.py", b"def alpha():\n    return 1\n");
    write(&repo, "build/out.rs", b"pub fn alpha() {}\n");
    write(&repo, "debug.log", b"alpha\n");
    write(&repo, ".hidden/secret.rs", b"pub fn alpha() {}\n");
    write(&repo, ".env", b"ALPHA=1\n");
    (tmp, repo)
}

#[tokio::test]
async fn list_files_honours_gitignore_and_skips_hidden_files_and_git() {
    let (_tmp, repo) = ignore_fixture();
    let out = ok(&context(&repo), "list_files", json!({})).await;
    assert_eq!(out.lines().collect::<Vec<_>>(), ["README.md", "scripts/run.py", "src/main.rs", "src/util/mod.rs"]);
}

#[tokio::test]
async fn list_files_narrows_to_a_directory_and_a_glob() {
    let (_tmp, repo) = ignore_fixture();
    let cx = context(&repo);
    let under_src = ok(&cx, "list_files", json!({"path": "src"})).await;
    assert_eq!(under_src.lines().collect::<Vec<_>>(), ["src/main.rs", "src/util/mod.rs"]);
    let rust = ok(&cx, "list_files", json!({"glob": "*.rs"})).await;
    assert_eq!(rust.lines().collect::<Vec<_>>(), ["src/main.rs", "src/util/mod.rs"]);
    let nested = ok(&cx, "list_files", json!({"glob": "src/*/*.rs"})).await;
    assert_eq!(nested.lines().collect::<Vec<_>>(), ["src/util/mod.rs"]);
}

#[tokio::test]
async fn list_files_honours_gitignore_outside_a_git_repository_too() {
    let (_tmp, ws) = workspace();
    write(&ws, ".gitignore", b"*.tmp\n");
    write(&ws, "keep.txt", b"\n");
    write(&ws, "scratch.tmp", b"\n");
    let out = ok(&context(&ws), "list_files", json!({})).await;
    assert_eq!(out.lines().collect::<Vec<_>>(), ["keep.txt"]);
}

#[tokio::test]
async fn list_files_walks_an_ignored_directory_asked_for_by_name() {
    let (_tmp, repo) = ignore_fixture();
    let out = ok(&context(&repo), "list_files", json!({"path": "build"})).await;
    assert_eq!(out.lines().collect::<Vec<_>>(), ["build/out.rs"]);
}

#[tokio::test]
async fn list_files_skips_a_cargo_target_directory_nothing_ignores() {
    let (_tmp, ws) = workspace();
    write(&ws, "src/lib.rs", b"\n");
    write(&ws, "target/CACHEDIR.TAG", b"Signature: 8a477f597d28d172789f06886806bc55\n");
    write(&ws, "target/debug/out.rs", b"\n");
    write(&ws, "node_modules/left-pad/index.js", b"\n");
    let out = ok(&context(&ws), "list_files", json!({})).await;
    assert_eq!(out.lines().collect::<Vec<_>>(), ["src/lib.rs"]);
}

#[tokio::test]
async fn list_files_is_bounded_with_a_count_of_the_rest() {
    let (_tmp, ws) = workspace();
    for i in 0..30 {
        write(&ws, &format!("f{i:02}.txt"), b"x\n");
    }
    let mut limits = ObservationLimits::default();
    limits.max_matches = 5;
    let out = ok(&context(&ws).with_limits(limits), "list_files", json!({})).await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[..5], ["f00.txt", "f01.txt", "f02.txt", "f03.txt", "f04.txt"]);
    assert!(lines[5].contains("25 more"), "{out}");
    assert_eq!(lines.len(), 6);
}

// ---- search -------------------------------------------------------------------

#[tokio::test]
async fn search_finds_regex_matches_as_file_line_text_in_ignore_aware_files() {
    let (_tmp, repo) = ignore_fixture();
    let out = ok(&context(&repo), "search", json!({"pattern": r"fn\s+alpha|def alpha"})).await;
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["scripts/run.py:1: def alpha():", "src/util/mod.rs:1: pub fn alpha() {}"]
    );
}

#[tokio::test]
async fn search_narrows_to_a_glob_and_a_path() {
    let (_tmp, repo) = ignore_fixture();
    let cx = context(&repo);
    let py = ok(&cx, "search", json!({"pattern": "alpha", "glob": "*.py"})).await;
    assert_eq!(py.lines().collect::<Vec<_>>(), ["scripts/run.py:1: def alpha():"]);
    let src = ok(&cx, "search", json!({"pattern": "alpha", "path": "src"})).await;
    let main_line = line_of(&repo.join("src/main.rs"), "alpha");
    assert_eq!(
        src.lines().collect::<Vec<_>>(),
        [
            format!("src/main.rs:{main_line}: fn main() {{ println!(\"alpha\"); }}"),
            "src/util/mod.rs:1: pub fn alpha() {}".to_owned(),
        ]
    );
    let none = ok(&cx, "search", json!({"pattern": "omega"})).await;
    assert!(none.starts_with("no matches"), "{none}");
}

#[tokio::test]
async fn search_with_an_invalid_regex_is_invalid_arguments_naming_the_error() {
    let (_tmp, ws) = workspace();
    let err = call(&context(&ws), "search", json!({"pattern": "fn ("})).await.unwrap_err();
    assert!(matches!(err, ToolError::InvalidArguments { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("pattern") && text.contains("unclosed group"), "{text}");
}

#[tokio::test]
async fn search_is_bounded_with_a_count_of_the_rest() {
    let (_tmp, ws) = workspace();
    write(&ws, "many.txt", numbered_lines(50).as_bytes());
    let mut limits = ObservationLimits::default();
    limits.max_matches = 3;
    let out = ok(&context(&ws).with_limits(limits), "search", json!({"pattern": "^line"})).await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[..3], ["many.txt:1: line 1", "many.txt:2: line 2", "many.txt:3: line 3"]);
    assert!(lines[3].contains("47 more"), "{out}");
}

// ---- edit_file ----------------------------------------------------------------

const AVERAGE: &str =
    "def total(xs):\n    return sum(xs)\n\n\ndef average(xs):\n    n = len(xs)\n    return total(xs) / (n + 1)\n";

#[tokio::test]
async fn edit_file_replaces_the_one_exact_occurrence_through_the_editor() {
    let (_tmp, ws) = workspace();
    write(&ws, "stats.py", AVERAGE.as_bytes());
    let out =
        call(&context(&ws), "edit_file", json!({"path": "stats.py", "old": "(n + 1)", "new": "n"})).await.unwrap();
    let now = std::fs::read_to_string(ws.join("stats.py")).unwrap();
    assert_eq!(now, AVERAGE.replace("(n + 1)", "n"));
    assert_eq!(out.changes.len(), 1);
    assert_eq!((out.changes[0].path.as_str(), out.changes[0].change.as_str()), ("stats.py", "modified"));
    let line = line_of(&ws.join("stats.py"), "return total(xs) / n");
    assert!(out.content.contains(&format!("{line:>5} |     return total(xs) / n")), "{}", out.content);
}

#[tokio::test]
async fn edit_file_tolerates_trailing_whitespace_differences() {
    let (_tmp, ws) = workspace();
    let with_spaces = AVERAGE.replace("    n = len(xs)\n", "    n = len(xs)   \n");
    write(&ws, "stats.py", with_spaces.as_bytes());
    let old = "    n = len(xs)\n    return total(xs) / (n + 1)\n";
    let new = "    n = len(xs)\n    return total(xs) / n\n";
    call(&context(&ws), "edit_file", json!({"path": "stats.py", "old": old, "new": new})).await.unwrap();
    assert_eq!(std::fs::read_to_string(ws.join("stats.py")).unwrap(), AVERAGE.replace("(n + 1)", "n"));
}

#[tokio::test]
async fn edit_file_tolerates_wrong_indentation_and_reindents_the_replacement() {
    let (_tmp, ws) = workspace();
    write(&ws, "stats.py", AVERAGE.as_bytes());
    let old = "n = len(xs)\nreturn total(xs) / (n + 1)";
    let new = "n = len(xs)\nif n == 0:\n    return 0.0\nreturn total(xs) / n";
    call(&context(&ws), "edit_file", json!({"path": "stats.py", "old": old, "new": new})).await.unwrap();
    let expected = AVERAGE
        .replace("    return total(xs) / (n + 1)\n", "    if n == 0:\n        return 0.0\n    return total(xs) / n\n");
    assert_eq!(std::fs::read_to_string(ws.join("stats.py")).unwrap(), expected);
}

#[tokio::test]
async fn edit_file_keeps_a_crlf_file_crlf() {
    let (_tmp, ws) = workspace();
    let crlf = AVERAGE.replace('\n', "\r\n");
    write(&ws, "stats.py", crlf.as_bytes());
    let old = "    n = len(xs)\n    return total(xs) / (n + 1)\n";
    let new = "    n = len(xs)\n    if n == 0:\n        return 0.0\n    return total(xs) / n\n";
    call(&context(&ws), "edit_file", json!({"path": "stats.py", "old": old, "new": new})).await.unwrap();
    let expected = AVERAGE
        .replace("    return total(xs) / (n + 1)\n", "    if n == 0:\n        return 0.0\n    return total(xs) / n\n")
        .replace('\n', "\r\n");
    assert_eq!(std::fs::read_to_string(ws.join("stats.py")).unwrap(), expected);
    // A one-line exact match in a CRLF file: the multi-line `new` gets CRLF too.
    call(&context(&ws), "edit_file", json!({"path": "stats.py", "old": "return 0.0", "new": "x = 0.0\nreturn x"}))
        .await
        .unwrap();
    let now = std::fs::read_to_string(ws.join("stats.py")).unwrap();
    assert!(now.contains("x = 0.0\r\n        return x\r\n") || now.contains("x = 0.0\r\nreturn x\r\n"), "{now:?}");
    assert!(!now.replace("\r\n", "").contains('\n'), "a bare LF crept in: {now:?}");
}

#[tokio::test]
async fn edit_file_with_an_ambiguous_old_fails_listing_the_candidate_lines() {
    let (_tmp, ws) = workspace();
    let text = "a = 1\nx = 1\nb = 2\nc = 3\nx = 1\n";
    write(&ws, "conf.py", text.as_bytes());
    let err =
        call(&context(&ws), "edit_file", json!({"path": "conf.py", "old": "x = 1", "new": "x = 2"})).await.unwrap_err();
    assert!(matches!(err, ToolError::Failed { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("2 places"), "{msg}");
    assert!(msg.contains("    2 | x = 1") && msg.contains("    5 | x = 1"), "{msg}");
    assert_eq!(std::fs::read_to_string(ws.join("conf.py")).unwrap(), text, "nothing was written");
}

#[tokio::test]
async fn edit_file_with_absent_old_fails_showing_the_nearest_lines() {
    let (_tmp, ws) = workspace();
    write(&ws, "stats.py", AVERAGE.as_bytes());
    let old = "def averag(xs):\n    n = len(xs)\n";
    let err =
        call(&context(&ws), "edit_file", json!({"path": "stats.py", "old": old, "new": "pass\n"})).await.unwrap_err();
    assert!(matches!(err, ToolError::Failed { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("not found"), "{msg}");
    let def = line_of(&ws.join("stats.py"), "def average");
    let body = line_of(&ws.join("stats.py"), "n = len(xs)");
    assert!(msg.contains(&format!("{def:>5} | def average(xs):")), "{msg}");
    assert!(msg.contains(&format!("{body:>5} |     n = len(xs)")), "{msg}");
    assert_eq!(std::fs::read_to_string(ws.join("stats.py")).unwrap(), AVERAGE, "nothing was written");
}

#[tokio::test]
async fn edit_file_refuses_an_empty_old_and_a_no_op_replacement() {
    let (_tmp, ws) = workspace();
    write(&ws, "stats.py", AVERAGE.as_bytes());
    let cx = context(&ws);
    let empty = call(&cx, "edit_file", json!({"path": "stats.py", "old": "", "new": "x"})).await.unwrap_err();
    assert!(matches!(empty, ToolError::InvalidArguments { .. }), "{empty}");
    let same = call(&cx, "edit_file", json!({"path": "stats.py", "old": "n = len(xs)", "new": "n = len(xs)"}))
        .await
        .unwrap_err();
    assert!(matches!(same, ToolError::Failed { .. }), "{same}");
    let missing = call(&cx, "edit_file", json!({"path": "nope.py", "old": "a", "new": "b"})).await.unwrap_err();
    assert!(missing.to_string().contains("write_file"), "{missing}");
    assert_eq!(std::fs::read_to_string(ws.join("stats.py")).unwrap(), AVERAGE);
}

// ---- write_file, delete_file ------------------------------------------------------

#[tokio::test]
async fn write_file_creates_and_overwrites_and_delete_file_removes_through_the_editor() {
    let (_tmp, ws) = workspace();
    let cx = context(&ws);
    let created = call(&cx, "write_file", json!({"path": "pkg/new.txt", "content": "one\ntwo\n"})).await.unwrap();
    assert_eq!(std::fs::read_to_string(ws.join("pkg/new.txt")).unwrap(), "one\ntwo\n");
    assert_eq!(created.changes[0].change, "created");
    assert!(created.changes[0].sha256.is_some());
    let modified = call(&cx, "write_file", json!({"path": "pkg/new.txt", "content": "three\n"})).await.unwrap();
    assert_eq!(modified.changes[0].change, "modified");
    assert_eq!(std::fs::read_to_string(ws.join("pkg/new.txt")).unwrap(), "three\n");
    let deleted = call(&cx, "delete_file", json!({"path": "pkg/new.txt"})).await.unwrap();
    assert_eq!(deleted.changes[0].change, "deleted");
    assert!(!ws.join("pkg/new.txt").exists());
    let again = call(&cx, "delete_file", json!({"path": "pkg/new.txt"})).await.unwrap_err();
    assert!(matches!(again, ToolError::Edit(_)), "{again}");
}

// ---- containment ----------------------------------------------------------------

#[tokio::test]
async fn paths_outside_the_workspace_are_refused_and_nothing_is_read_or_written() {
    let (tmp, ws) = workspace();
    let outside = tmp.path().join("outside");
    write(&outside, "secret.txt", b"TOPSECRET\n");
    std::os::unix::fs::symlink(&outside, ws.join("out")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret.txt"), ws.join("link.txt")).unwrap();
    write(&ws, "inside.txt", b"hello\n");
    let cx = context(&ws);
    let absolute = outside.join("secret.txt").display().to_string();
    let refused = [
        ("read_file", json!({"path": "../outside/secret.txt"})),
        ("read_file", json!({"path": absolute})),
        ("read_file", json!({"path": "out/secret.txt"})),
        ("read_file", json!({"path": "link.txt"})),
        ("read_file", json!({"path": ".git/config"})),
        ("list_files", json!({"path": ".."})),
        ("list_files", json!({"path": "out"})),
        ("search", json!({"pattern": "TOPSECRET", "path": "out"})),
        ("search", json!({"pattern": "TOPSECRET", "path": "link.txt"})),
        ("edit_file", json!({"path": "out/secret.txt", "old": "TOPSECRET", "new": "x"})),
        ("write_file", json!({"path": "../outside/new.txt", "content": "x"})),
        ("write_file", json!({"path": "out/new.txt", "content": "x"})),
        ("delete_file", json!({"path": "out/secret.txt"})),
    ];
    for (tool, args) in refused {
        let err = call(&cx, tool, args.clone()).await.unwrap_err();
        assert!(matches!(err, ToolError::Refused(_)), "{tool} {args}: {err}");
        let msg = err.to_string();
        assert!(msg.contains("outside the workspace") || msg.contains(".git"), "{tool}: {msg}");
        assert!(!msg.contains("TOPSECRET"), "{tool}: {msg}");
    }
    // The walk does not follow the links out either.
    let listing = ok(&cx, "list_files", json!({})).await;
    assert_eq!(listing.lines().collect::<Vec<_>>(), ["inside.txt"]);
    let found = ok(&cx, "search", json!({"pattern": "TOPSECRET"})).await;
    assert!(found.starts_with("no matches"), "{found}");
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 1, "nothing was written outside");
    assert_eq!(std::fs::read_to_string(outside.join("secret.txt")).unwrap(), "TOPSECRET\n");
}

#[tokio::test]
async fn observations_name_files_relative_to_the_root() {
    let (_tmp, ws) = workspace();
    write(&ws, "src/a.txt", b"needle\n");
    let cx = context(&ws);
    let root = ws.canonicalize().unwrap().display().to_string();
    let by_absolute_path = ok(&cx, "read_file", json!({"path": ws.join("src/a.txt").display().to_string()})).await;
    assert!(by_absolute_path.starts_with("src/a.txt: lines 1-1 of 1\n"), "{by_absolute_path}");
    for out in [
        by_absolute_path,
        ok(&cx, "search", json!({"pattern": "needle"})).await,
        ok(&cx, "list_files", json!({})).await,
        ok(&cx, "run_command", json!({"program": "pwd"})).await,
    ] {
        assert!(!out.contains(&root), "{out}");
    }
}

// ---- arguments ------------------------------------------------------------------

#[tokio::test]
async fn unknown_fields_and_missing_fields_are_invalid_arguments_naming_the_field() {
    let (_tmp, ws) = workspace();
    write(&ws, "a.txt", b"x\n");
    let cx = context(&ws);
    let tools = ToolSet::builtin();
    for name in tools.names() {
        let err = call(&cx, name, json!({"bogus_field": 1})).await.unwrap_err();
        assert!(matches!(err, ToolError::InvalidArguments { .. }), "{name}: {err}");
        let msg = err.to_string();
        assert!(msg.contains("bogus_field") || msg.contains("missing field"), "{name}: {msg}");
    }
    let err = call(&cx, "read_file", json!({"path": "a.txt", "lines": 3})).await.unwrap_err();
    assert!(err.to_string().contains("unknown field `lines`"), "{err}");
    let err = call(&cx, "edit_file", json!({"path": "a.txt", "new": "y"})).await.unwrap_err();
    assert!(err.to_string().contains("missing field `old`"), "{err}");
    let err = call(&cx, "read_file", json!({"path": "a.txt", "start_line": "two"})).await.unwrap_err();
    assert!(err.to_string().contains("start_line"), "{err}");
    assert!(err.is_invalid_call());
}

#[test]
fn every_builtin_tool_offers_an_object_schema_refusing_unknown_fields() {
    let tools = ToolSet::builtin();
    assert_eq!(
        tools.names(),
        [
            "list_files",
            "read_file",
            "search",
            "edit_file",
            "write_file",
            "delete_file",
            "run_tests",
            "run_command",
            "finish"
        ]
    );
    for spec in tools.specs() {
        assert_eq!(spec.parameters["type"], "object", "{}", spec.name);
        assert_eq!(spec.parameters["additionalProperties"], false, "{}", spec.name);
        assert!(spec.parameters["properties"].is_object(), "{}", spec.name);
        assert!(!spec.description.is_empty());
    }
    let edit = tools.get("edit_file").unwrap().parameters();
    assert_eq!(edit["required"], json!(["path", "old", "new"]));
    let search = tools.get("search").unwrap().parameters();
    assert_eq!(search["required"], json!(["pattern"]));
}

#[tokio::test]
async fn finish_ends_with_the_summary() {
    let (_tmp, ws) = workspace();
    let out = call(&context(&ws), "finish", json!({"summary": "fixed the average"})).await.unwrap();
    assert_eq!(out.finished.as_deref(), Some("fixed the average"));
}

// ---- run_command ----------------------------------------------------------------

#[tokio::test]
async fn run_command_shows_the_exit_code_and_both_streams_with_durations_masked() {
    let (_tmp, ws) = workspace();
    let script = "echo 'finished in 0.52s, 12ms per item'; echo 'oops at line 40' >&2; exit 3";
    let out = ok(&context(&ws), "run_command", json!({"program": "sh", "args": ["-c", script]})).await;
    assert!(out.starts_with("$ sh -c "), "{out}");
    assert!(out.contains("exit code 3"), "{out}");
    assert!(out.contains("stdout:\nfinished in <time>, <time> per item\n"), "{out}");
    assert!(out.contains("stderr:\noops at line 40\n"), "{out}");
    let (command_line, observed) = out.split_once('\n').unwrap();
    assert!(command_line.contains("0.52s"), "the command line is shown as asked: {command_line}");
    assert!(!observed.contains("0.52s") && !observed.contains("12ms"), "{out}");
}

#[tokio::test]
async fn run_command_shows_its_command_line_with_secrets_masked() {
    let (_tmp, ws) = workspace();
    let args = json!(["--token", "s3cr3tvalue123", "https://me:hunter2pass@example.com"]);
    let out = ok(&context(&ws), "run_command", json!({"program": "echo", "args": args})).await;
    let command_line = out.lines().next().unwrap();
    assert_eq!(command_line, "$ echo --token *** https://me:***@example.com", "{out}");
}

#[tokio::test]
async fn run_command_runs_in_the_root_and_shows_it_as_dot() {
    let (_tmp, ws) = workspace();
    write(&ws, "marker.txt", b"\n");
    let out = ok(&context(&ws), "run_command", json!({"program": "ls"})).await;
    assert!(out.contains("stdout:\nmarker.txt\n"), "{out}");
    let pwd = ok(&context(&ws), "run_command", json!({"program": "pwd"})).await;
    assert!(pwd.contains("stdout:\n.\n"), "{pwd}");
}

#[tokio::test]
async fn run_command_bounds_a_flood_of_output_to_its_head_and_tail() {
    let (_tmp, ws) = workspace();
    let cx = context(&ws).with_limits(ObservationLimits::default().with_max_tokens(400));
    let out = ok(&cx, "run_command", json!({"program": "seq", "args": ["1", "200000"]})).await;
    assert!(out.len() <= 400 * 4, "{} bytes", out.len());
    assert!(out.contains("stdout:\n1\n2\n3\n"), "{out}");
    assert!(out.contains("\n199999\n200000\nstderr: (empty)\n"), "{out}");
    assert!(out.contains("cut") || out.contains("omitted"), "{out}");
}

#[tokio::test]
async fn run_command_that_overruns_its_limit_says_it_timed_out() {
    let (_tmp, ws) = workspace();
    let limits = ObservationLimits::default().with_command_timeout(Duration::from_millis(300));
    let out = ok(&context(&ws).with_limits(limits), "run_command", json!({"program": "sleep", "args": ["30"]})).await;
    assert!(out.contains("timed out"), "{out}");
}

#[tokio::test]
async fn run_command_of_a_missing_program_is_an_exec_error() {
    let (_tmp, ws) = workspace();
    let err = call(&context(&ws), "run_command", json!({"program": "no-such-program-xyz"})).await.unwrap_err();
    assert!(matches!(err, ToolError::Exec(_)), "{err}");
}

// ---- run_tests ------------------------------------------------------------------

async fn inspected(root: &Path, tool: &str) -> ToolContext {
    let profile = agent_oracles::default_oracle().inspect(root).await.unwrap();
    assert!(profile.test_command().is_some(), "{profile:?}");
    context_with(root, profile, tool)
}

fn profile_with(root: &Path, kind: &str, build: &str, program: &str, args: &[&str]) -> WorkspaceProfile {
    let mut project = Project::new("", &[kind], build);
    project.primary = true;
    project.test = Some(DetectedCommand::new(program, args, Vec::new(), 1.0));
    let mut profile = WorkspaceProfile::new(root);
    profile.projects.push(project);
    profile
}

const PY_STATS: &str = "def mean(xs):\n    return sum(xs) / (len(xs) + 1)\n";
const PY_TESTS: &str = "from stats import mean\n\n\ndef test_mean_of_two():\n    assert mean([1, 3]) == 2\n\n\ndef test_mean_of_one():\n    assert mean([4]) == 4\n\n\ndef test_truth():\n    assert True\n";

fn python_project() -> (tempfile::TempDir, std::path::PathBuf) {
    let (tmp, ws) = workspace();
    write(
        &ws,
        "pyproject.toml",
        b"[project]\nname = \"stats\"\nversion = \"0.1.0\"\n\n[tool.pytest.ini_options]\npythonpath = [\".\"]\n",
    );
    write(&ws, "stats.py", PY_STATS.as_bytes());
    write(&ws, "tests/test_stats.py", PY_TESTS.as_bytes());
    (tmp, ws)
}

#[tokio::test]
async fn run_tests_on_a_failing_python_project_returns_the_rendered_classification_not_the_log() {
    let (_tmp, ws) = python_project();
    let cx = inspected(&ws, "pytest").await;
    let out = call(&cx, "run_tests", json!({})).await.unwrap();
    let c = out.classification.as_ref().expect("the classification is attached");
    let tests = c.tests.expect("pytest's summary was read");
    assert_eq!((tests.passed, tests.failed), (1, 2));
    let line = line_of(&ws.join("tests/test_stats.py"), "assert mean([1, 3]) == 2");
    assert!(
        c.failures.iter().any(|f| f.kind == FailureKind::TestAssertion
            && f.file.as_deref() == Some(Path::new("tests/test_stats.py"))
            && f.line == Some(line)),
        "{c:?}"
    );
    let text = &out.content;
    assert!(text.contains(&format!("tests/test_stats.py:{line}")), "{text}");
    assert!(text.contains("test_mean_of_two"), "{text}");
    for raw in ["short test summary info", "=====", "platform linux", "rootdir:"] {
        assert!(!text.contains(raw), "the raw pytest log leaked ({raw}): {text}");
    }
    assert_eq!(text, &agent_loop::tools::bound_observation(text, cx.limits.max_tokens));
}

/// [`python_project`] declaring a package this machine lacks, imported
/// inside one test (`tests/test_sdk.py::test_sdk_client`).
fn python_project_with_an_absent_package() -> (tempfile::TempDir, std::path::PathBuf) {
    let (tmp, ws) = python_project();
    write(
        &ws,
        "pyproject.toml",
        b"[project]\nname = \"stats\"\nversion = \"0.1.0\"\ndependencies = [\"agentkit-absent-sdk>=1\"]\n\n[tool.pytest.ini_options]\npythonpath = [\".\"]\n",
    );
    write(
        &ws,
        "tests/test_sdk.py",
        b"def test_sdk_client():\n    import agentkit_absent_sdk\n\n    assert agentkit_absent_sdk.Client()\n",
    );
    (tmp, ws)
}

#[tokio::test]
async fn run_command_names_the_tests_the_environment_broke_before_when_its_output_shows_them() {
    let (_tmp, ws) = python_project_with_an_absent_package();
    let cx = inspected(&ws, "pytest").await;
    let pytest = json!({"program": "python3", "args": ["-m", "pytest", "-q", "-p", "no:cacheprovider"]});
    let plain = ok(&cx, "run_command", pytest.clone()).await;
    assert!(plain.contains("agentkit_absent_sdk"), "pytest ran and failed on the import: {plain}");
    assert!(!plain.contains("the environment already broke"), "without the set there is no note: {plain}");

    let cx = cx.with_environment_broken_tests(["tests/test_sdk.py::test_sdk_client".to_owned()]);
    let out = ok(&cx, "run_command", pytest).await;
    let note =
        out.lines().find(|l| l.starts_with("note: the environment already broke")).unwrap_or_else(|| panic!("{out}"));
    assert!(note.contains("tests/test_sdk.py::test_sdk_client"), "{note}");
    assert!(!note.contains("test_mean"), "the code's failures are not named: {note}");
    assert!(out.contains("agentkit_absent_sdk") && out.contains("test_mean_of_two"), "the output stays whole: {out}");

    let unrelated = ok(&cx, "run_command", json!({"program": "python3", "args": ["-c", "print('hello')"]})).await;
    assert!(
        !unrelated.contains("the environment already broke"),
        "an output naming none of them has no note: {unrelated}"
    );
}

#[tokio::test]
async fn run_tests_leaves_out_the_failures_of_tests_the_environment_broke_before_but_keeps_them_in_the_classification()
{
    let (_tmp, ws) = python_project_with_an_absent_package();
    let cx = inspected(&ws, "pytest").await;
    let is_env = |f: &&agent_core::failure::Failure| f.kind == FailureKind::Environment;
    let first = call(&cx, "run_tests", json!({})).await.unwrap();
    let broken: Vec<String> = first
        .classification
        .as_ref()
        .unwrap()
        .failures
        .iter()
        .filter(is_env)
        .filter_map(|f| f.test_name.clone())
        .collect();
    assert!(broken.len() == 1 && broken[0].ends_with("test_sdk_client"), "{:#?}", first.classification);
    assert!(first.content.contains("agentkit_absent_sdk"), "without the set it is shown: {}", first.content);

    let cx = cx.with_environment_broken_tests(broken);
    let out = call(&cx, "run_tests", json!({})).await.unwrap();
    let text = &out.content;
    assert!(!text.contains("agentkit_absent_sdk"), "{text}");
    assert!(text.contains("1 failure(s) of tests the environment already broke before any change"), "{text}");
    assert!(text.contains("test_mean_of_two") && text.contains("test_mean_of_one"), "the code's failures stay: {text}");
    let kept = out.classification.unwrap();
    assert_eq!(kept.failures.iter().filter(is_env).count(), 1, "{kept:#?}");
}

#[tokio::test]
async fn run_tests_with_names_runs_only_those_pytest_tests() {
    let (_tmp, ws) = python_project();
    let cx = inspected(&ws, "pytest").await;
    let out = call(&cx, "run_tests", json!({"tests": ["test_truth"]})).await.unwrap();
    let tests = out.classification.unwrap().tests.expect("a summary");
    assert_eq!((tests.passed, tests.failed), (1, 0), "{}", out.content);
    assert!(out.content.contains("-k test_truth"), "{}", out.content);
}

const RUST_LIB: &str = "pub fn average(xs: &[f64]) -> f64 {\n    xs.iter().sum::<f64>() / (xs.len() as f64 + 1.0)\n}\n\npub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n\n#[cfg(test)]\nmod tests {\n    use super::*;\n\n    #[test]\n    fn average_of_two() {\n        assert_eq!(average(&[1.0, 3.0]), 2.0);\n    }\n\n    #[test]\n    fn adds() {\n        assert_eq!(add(2, 2), 4);\n    }\n}\n";

#[tokio::test]
async fn run_tests_on_a_failing_rust_crate_returns_the_rendered_classification_not_the_log() {
    let (_tmp, ws) = workspace();
    write(&ws, "Cargo.toml", b"[package]\nname = \"avg\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n");
    write(&ws, "src/lib.rs", RUST_LIB.as_bytes());
    let cx = inspected(&ws, "cargo").await;
    let out = call(&cx, "run_tests", json!({})).await.unwrap();
    let c = out.classification.as_ref().expect("the classification is attached");
    let tests = c.tests.expect("libtest's summary was read");
    assert_eq!((tests.passed, tests.failed), (1, 1), "{}", out.content);
    let text = &out.content;
    assert!(text.contains("average_of_two"), "{text}");
    assert!(text.contains("src/lib.rs"), "{text}");
    for raw in ["Compiling avg", "running 2 tests", "test result:", "Finished `test` profile"] {
        assert!(!text.contains(raw), "the raw cargo log leaked ({raw}): {text}");
    }
    // Narrowed to the passing test: `cargo test adds`.
    let narrowed = call(&cx, "run_tests", json!({"tests": ["adds"]})).await.unwrap();
    let command = cx.profile.test_command().unwrap().display();
    assert!(command.starts_with("cargo test"), "{command}");
    assert!(narrowed.content.starts_with(&format!("$ {command} adds\n")), "{}", narrowed.content);
    let tests = narrowed.classification.unwrap().tests.expect("a summary");
    assert_eq!((tests.passed, tests.failed), (1, 0), "{}", narrowed.content);
}

#[tokio::test]
async fn run_tests_narrows_go_tests_with_an_anchored_run_pattern() {
    let (_tmp, ws) = workspace();
    write(&ws, "go.mod", b"module example.com/calc\n\ngo 1.19\n");
    write(&ws, "calc.go", b"package calc\n\nfunc Add(a, b int) int { return a - b }\n");
    write(
        &ws,
        "calc_test.go",
        b"package calc\n\nimport \"testing\"\n\nfunc TestAdd(t *testing.T) {\n\tif Add(2, 2) != 4 {\n\t\tt.Errorf(\"Add(2, 2) = %d, want 4\", Add(2, 2))\n\t}\n}\n\nfunc TestAddZero(t *testing.T) {\n\tif Add(0, 0) != 0 {\n\t\tt.Fatal(\"zero\")\n\t}\n}\n",
    );
    let cx = context_with(&ws, profile_with(&ws, "go", "go", "go", &["test", "./..."]), "go");
    let all = call(&cx, "run_tests", json!({})).await.unwrap();
    let c = all.classification.unwrap();
    assert!(c.failures.iter().any(|f| f.test_name.as_deref() == Some("TestAdd")), "{}", all.content);
    // `TestAdd` alone would also match `TestAddZero` without the anchors.
    let only = call(&cx, "run_tests", json!({"tests": ["TestAddZero"]})).await.unwrap();
    assert!(only.content.starts_with("$ go test ./... -run ^(TestAddZero)$"), "{}", only.content);
    assert!(only.content.contains("exit code 0"), "{}", only.content);
    assert!(only.classification.unwrap().failures.is_empty());
}

#[tokio::test]
async fn run_tests_narrows_node_tests_with_a_name_pattern() {
    let (_tmp, ws) = workspace();
    write(
        &ws,
        "test/calc.test.js",
        b"const test = require('node:test');\nconst assert = require('node:assert');\n\ntest('adds', () => {\n  assert.strictEqual(1 + 1, 2);\n});\n\ntest('subtracts', () => {\n  assert.strictEqual(2 - 1, 3);\n});\n",
    );
    let cx = context_with(&ws, profile_with(&ws, "node", "npm", "node", &["--test"]), "node");
    let all = call(&cx, "run_tests", json!({})).await.unwrap();
    assert!(all.content.contains("exit code 1"), "{}", all.content);
    assert!(all.classification.unwrap().failures.iter().any(|f| f.message.contains("3")), "{}", all.content);
    let only = call(&cx, "run_tests", json!({"tests": ["adds"]})).await.unwrap();
    assert!(only.content.starts_with("$ node --test --test-name-pattern=adds"), "{}", only.content);
    assert!(only.content.contains("exit code 0"), "{}", only.content);
}

#[tokio::test]
async fn run_tests_without_a_test_command_tells_the_model_to_find_one() {
    let (_tmp, ws) = workspace();
    let err = call(&context(&ws), "run_tests", json!({})).await.unwrap_err();
    assert!(matches!(err, ToolError::Failed { .. }), "{err}");
    assert!(err.to_string().contains("run_command"), "{err}");
}
