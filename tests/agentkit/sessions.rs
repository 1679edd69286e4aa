//! `agentctl repair` in tools mode (the default) on fixtures in Rust,
//! Python, Go and JavaScript, end to end: the model is a scripted stand-in
//! replayed from `examples/cassettes/` (recorded by
//! `cargo run --example record_cassettes`), everything it drives is real —
//! the tools read and edit real files, `cargo test`, `pytest`, `go test` and
//! `node --test` really run, and each run is classified by the tool that ran.

use crate::support::{agentctl, fixture, repo, stdout_json as json};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn cassette(name: &str) -> String {
    repo().join("examples/cassettes").join(format!("{name}.json")).display().to_string()
}

/// Runs `agentctl repair` on a fresh copy of `fixture` in tools mode, strict replay.
fn repair(
    fixture_name: &str,
    cassette_name: &str,
    goal: &str,
    extra: &[&str],
) -> (tempfile::TempDir, std::path::PathBuf, Value) {
    let (dir, work) = fixture(fixture_name);
    let out = agentctl()
        .args(["repair", work.to_str().unwrap(), "--goal", goal, "--provider", "openai:gpt-4.1-mini"])
        .args(["--replay", &cassette(cassette_name), "--json"])
        .args(extra)
        .output()
        .unwrap();
    let doc = json(&out);
    assert_eq!(out.status.code(), Some(0), "{doc:#}\nstderr:\n{}", String::from_utf8_lossy(&out.stderr));
    (dir, work, doc)
}

/// The tool names called in attempt `n` (0-based), in order.
fn tool_calls(doc: &Value, n: usize) -> Vec<String> {
    doc["attempts"][n]["turns"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["tool_calls"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()))
        .collect()
}

/// Runs `program args` in `dir` and says whether it exited 0.
fn passes(dir: &Path, program: &str, args: &[&str]) -> bool {
    Command::new(program).args(args).current_dir(dir).output().unwrap().status.success()
}

/// The user's uncommitted work that setup.sh leaves (see examples/fixtures/setup.sh).
fn user_work_is_kept(work: &Path) {
    let notes = std::fs::read_to_string(work.join("NOTES.md")).unwrap();
    assert!(notes.contains("an uncommitted line the user was still writing"), "{notes}");
    assert!(work.join("scratch.txt").exists());
}

#[test]
fn a_python_repository_is_repaired_in_a_tool_session_and_its_pytest_runs_are_classified_as_pytest() {
    let goal = "Make the failing tests pass: slugify must lower-case the title.";
    let (_dir, work, doc) = repair("py-slugify", "py-slugify", goal, &[]);
    assert_eq!(doc["outcome"], "accepted");
    assert_eq!(doc["mode"], "tools");
    assert_eq!(tool_calls(&doc, 0), ["run_tests", "read_file", "edit_file", "run_tests", "finish"]);
    // The baseline was read as pytest output: two named failing tests, not a cargo build error.
    let failures = doc["baseline"]["failures"].as_array().unwrap();
    let tests: Vec<&str> = failures.iter().filter_map(|f| f["test_name"].as_str()).collect();
    assert!(tests.iter().any(|t| t.contains("test_capitals_are_lowered")), "{failures:#?}");
    assert_eq!(doc["baseline"]["tests"]["failed"], 2);
    assert!(std::fs::read_to_string(work.join("slugkit/slug.py")).unwrap().contains("title.lower()"));
    assert!(passes(&work, "python3", &["-m", "pytest", "-q", "-p", "no:cacheprovider"]));
    assert_eq!(doc["tool_calls"], 5);
    user_work_is_kept(&work);
}

#[test]
fn a_go_repository_is_repaired_in_a_tool_session_and_its_go_test_runs_are_classified_as_go() {
    let goal = "Make the failing tests pass: Count must compare words without regard to case.";
    let (_dir, work, doc) = repair("go-wordfreq", "go-wordfreq", goal, &[]);
    assert_eq!(doc["outcome"], "accepted");
    assert_eq!(tool_calls(&doc, 0), ["search", "read_file", "edit_file", "run_tests", "finish"]);
    let failures = doc["baseline"]["failures"].as_array().unwrap();
    assert!(failures.iter().any(|f| f["test_name"] == "TestCountIgnoresCase"), "{failures:#?}");
    assert!(std::fs::read_to_string(work.join("wordfreq.go")).unwrap().contains("strings.ToLower(word)"));
    assert!(passes(&work, "go", &["test", "./..."]));
    user_work_is_kept(&work);
}

#[test]
fn a_javascript_repository_is_repaired_in_a_tool_session_and_its_node_test_runs_are_classified_as_node() {
    let goal = "Make the failing tests pass: median must order the numbers by value.";
    let (_dir, work, doc) = repair("js-median", "js-median", goal, &[]);
    assert_eq!(doc["outcome"], "accepted");
    assert_eq!(tool_calls(&doc, 0), ["list_files", "read_file", "edit_file", "run_tests", "finish"]);
    let failures = doc["baseline"]["failures"].as_array().unwrap();
    assert!(
        failures.iter().any(|f| f["test_name"].as_str().is_some_and(|n| n.contains("ordered by value"))),
        "{failures:#?}"
    );
    assert!(std::fs::read_to_string(work.join("median.js")).unwrap().contains("(a, b) => a - b"));
    assert!(passes(&work, "node", &["--test"]));
    user_work_is_kept(&work);
}

#[test]
fn a_rust_tool_session_recovers_from_an_edit_that_does_not_match_and_a_repair_session_fixes_the_type_error() {
    let goal = "Make the failing tests pass: mean must return the arithmetic mean.";
    let (_dir, work, doc) = repair("buggy-stats", "buggy-stats-tools", goal, &[]);
    assert_eq!(doc["outcome"], "accepted");
    assert_eq!(doc["attempts"].as_array().unwrap().len(), 2);
    // Session 1: the first edit's `old` is not in the file: an error observation, then the right edit.
    let first = &doc["attempts"][0];
    assert_eq!(tool_calls(&doc, 0), ["read_file", "edit_file", "edit_file", "finish"]);
    let calls: Vec<&Value> =
        first["turns"].as_array().unwrap().iter().flat_map(|t| t["tool_calls"].as_array().unwrap()).collect();
    assert_eq!(calls[1]["ok"], false);
    assert!(calls[1]["error"].as_str().unwrap().contains("was not found"), "{:#}", calls[1]);
    assert_eq!(calls[2]["ok"], true);
    // The loop's own test run after the session: the real type error, classified.
    assert_eq!(first["passed"], false);
    assert!(
        first["classification"]["failures"].as_array().unwrap().iter().any(|f| f["kind"] == "type"),
        "{:#}",
        first["classification"]
    );
    assert_eq!(doc["attempts"][1]["passed"], true);
    assert_eq!(tool_calls(&doc, 1), ["edit_file", "run_tests", "finish"]);
    assert!(std::fs::read_to_string(work.join("src/lib.rs")).unwrap().contains("values.len() as i64)"));
    user_work_is_kept(&work);
}

#[test]
fn the_journal_records_each_tool_call_by_name_and_argument_digest_and_the_timeline_shows_them() {
    let goal = "Make the failing tests pass: slugify must lower-case the title.";
    let (dir, _work) = fixture("py-slugify");
    let work = dir.path().join("py-slugify");
    let journal = dir.path().join("journal.jsonl");
    let out = agentctl()
        .args(["repair", work.to_str().unwrap(), "--goal", goal, "--provider", "openai:gpt-4.1-mini"])
        .args(["--replay", &cassette("py-slugify"), "--journal", journal.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&journal).unwrap();
    let tool_events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["type"] == "tool_call" || e["kind"] == "tool_call")
        .collect();
    assert_eq!(tool_events.len(), 5, "{text}");
    let edit = tool_events.iter().find(|e| e["name"] == "edit_file").unwrap();
    assert_eq!(edit["arguments_sha256"].as_str().unwrap().len(), 64);
    assert!(!text.contains("title.lower()"), "the journal holds digests of arguments, not file text");
    let timeline = agentctl().args(["timeline", journal.to_str().unwrap()]).output().unwrap();
    let shown = String::from_utf8_lossy(&timeline.stdout);
    assert!(shown.contains("tool edit_file (turn 3)"), "{shown}");
}

#[test]
fn sequential_replay_answers_a_session_whose_observations_differ_and_reports_the_differences() {
    // The cassette answers turn by turn even when this machine's test runner words
    // its output differently: the fixture's test file gains a comment line, which
    // shifts every line number in the observations.
    let goal = "Make the failing tests pass: slugify must lower-case the title.";
    let (dir, work) = fixture("py-slugify");
    let test = work.join("tests/test_slug.py");
    let text = std::fs::read_to_string(&test).unwrap();
    std::fs::write(&test, format!("# a comment line\n{text}")).unwrap();
    let strict = agentctl()
        .args(["repair", work.to_str().unwrap(), "--goal", goal, "--provider", "openai:gpt-4.1-mini"])
        .args(["--replay", &cassette("py-slugify"), "--json"])
        .output()
        .unwrap();
    assert_ne!(strict.status.code(), Some(0), "strict replay misses the changed request");
    drop(dir);
    let (dir, work) = fixture("py-slugify");
    let test = work.join("tests/test_slug.py");
    let text = std::fs::read_to_string(&test).unwrap();
    std::fs::write(&test, format!("# a comment line\n{text}")).unwrap();
    let out = agentctl()
        .args(["repair", work.to_str().unwrap(), "--goal", goal, "--provider", "openai:gpt-4.1-mini"])
        .args(["--replay", &cassette("py-slugify"), "--replay-match", "sequential", "--json"])
        .output()
        .unwrap();
    let doc = json(&out);
    assert_eq!(out.status.code(), Some(0), "{doc:#}");
    assert_eq!(doc["outcome"], "accepted");
    let mismatches = doc["replay_mismatches"].as_array().unwrap();
    assert!(!mismatches.is_empty(), "the changed observations are reported");
    drop(dir);
}
