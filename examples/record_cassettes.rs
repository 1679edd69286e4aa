//! Regenerates the demo cassettes in `examples/cassettes/` from scripted model replies.
//!
//! The cassettes are a **scripted stand-in for a model**: the replies below
//! were written by hand, not produced by an LLM. Everything they drive is
//! real: the fixture is a real git repository, the edits are applied by the
//! real `FileEditor`, `cargo test` really runs, and its real output is
//! classified. Recording goes through the same `RecordingProvider` a host
//! would use against a live provider, so the cassette keys are the hashes of
//! the real requests the loop sends.
//!
//! Run it after changing anything that shapes the prompts (the prompt
//! builder, the repair-context renderer, the classifier, the fixtures):
//!
//! ```sh
//! cargo run --example record_cassettes
//! ```

use agentkit::agent::{JsonlJournal, LoopMode, Outcome, RepairConfig, RepairLoop, RepairParts, Task};
use agentkit::classify::{AutoClassifier, RepairContextBuilder, RepoMap};
use agentkit::core::event::TaskId;
use agentkit::core::provider::{ProviderId, Usage};
use agentkit::oracles::default_oracle;
use agentkit::providers::{RecordingProvider, ScriptedProvider, ScriptedReply};
use agentkit::sandbox::{FileEditor, GitSnapshotter, ProcessExecutor};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The provider id the demo replays under (`--provider openai:gpt-4.1-mini`).
const PROVIDER: &str = "openai:gpt-4.1-mini";

/// The goal given to `agentctl repair` for the buggy-stats fixture.
const STATS_GOAL: &str = "Make the failing tests pass: mean must return the arithmetic mean.";
/// The goal given to `agentctl repair` for the hopeless-roman fixture.
const ROMAN_GOAL: &str = "Make to_roman use subtractive notation so that all tests pass.";
/// The goal given to `agentctl repair` for the regression-trap fixture.
const TRAP_GOAL: &str = "Make discount_starts_at_one_hundred pass: an order of exactly 100.00 gets the 10% discount.";
/// The test the regression-trap goal names (`agentctl repair --test`).
const TRAP_TEST: &str = "discount_starts_at_one_hundred";
/// The goal of the Rust tool-session demo (buggy-stats, `--mode tools`).
const STATS_TOOLS_GOAL: &str = "Make the failing tests pass: mean must return the arithmetic mean.";
/// The goal given to `agentctl repair` for the py-slugify fixture.
const SLUG_GOAL: &str = "Make the failing tests pass: slugify must lower-case the title.";
/// The goal given to `agentctl repair` for the go-wordfreq fixture.
const WORDFREQ_GOAL: &str = "Make the failing tests pass: Count must compare words without regard to case.";
/// The goal given to `agentctl repair` for the js-median fixture.
const MEDIAN_GOAL: &str = "Make the failing tests pass: median must order the numbers by value.";

fn plan(summary: &str, path: &str, old: &str, new: &str) -> String {
    serde_json::json!({
        "summary": summary,
        "actions": [{ "action": "replace_block", "path": path, "old": old, "new": new }]
    })
    .to_string()
}

fn reply(text: String, input_tokens: u64, output_tokens: u64) -> ScriptedReply {
    ScriptedReply::text_with_usage(text, Usage::new(input_tokens, output_tokens))
}

fn stats_script() -> Vec<ScriptedReply> {
    vec![
        // Attempt 1 fixes the divisor but forgets the cast: a real type error (E0277).
        reply(
            plan(
                "Divide the sum by the number of values instead of one less.",
                "src/lib.rs",
                "    Some(sum / (values.len() as i64 - 1))",
                "    Some(sum / values.len())",
            ),
            1510,
            96,
        ),
        // Repair 1 adds the cast; the tests pass.
        reply(
            plan(
                "Cast the length to i64 so the division type-checks.",
                "src/lib.rs",
                "    Some(sum / values.len())",
                "    Some(sum / values.len() as i64)",
            ),
            2320,
            84,
        ),
    ]
}

/// One tool call of a scripted session.
fn call(name: &str, args: serde_json::Value, input_tokens: u64, output_tokens: u64) -> ScriptedReply {
    ScriptedReply::call(name, args, Usage::new(input_tokens, output_tokens))
}

fn finish(summary: &str, input_tokens: u64) -> ScriptedReply {
    call("finish", serde_json::json!({ "summary": summary }), input_tokens, 40)
}

/// Rust, two sessions: the first misses with an `old` text that is not in
/// the file (the tool answers with the nearest lines), edits without the
/// cast and finishes untested; the loop's own run classifies the real E0277;
/// the second session adds the cast, runs the tests and finishes.
fn stats_tools_script() -> Vec<ScriptedReply> {
    vec![
        call("read_file", serde_json::json!({ "path": "src/lib.rs", "end_line": 12 }), 1900, 30),
        call(
            "edit_file",
            serde_json::json!({
                "path": "src/lib.rs",
                "old": "    Some(sum / (values.len() - 1))",
                "new": "    Some(sum / values.len())"
            }),
            2300,
            60,
        ),
        call(
            "edit_file",
            serde_json::json!({
                "path": "src/lib.rs",
                "old": "    Some(sum / (values.len() as i64 - 1))",
                "new": "    Some(sum / values.len())"
            }),
            2600,
            60,
        ),
        finish("Divide the sum by the number of values instead of one less.", 2800),
        // Session 2: the loop's test run found the type error.
        call(
            "edit_file",
            serde_json::json!({
                "path": "src/lib.rs",
                "old": "    Some(sum / values.len())",
                "new": "    Some(sum / values.len() as i64)"
            }),
            2100,
            60,
        ),
        call("run_tests", serde_json::json!({}), 2400, 20),
        finish("Cast the length to i64 so the division type-checks; the tests pass.", 2700),
    ]
}

/// Python: run the tests, read the module, fix, run again, finish.
fn slug_script() -> Vec<ScriptedReply> {
    vec![
        call("run_tests", serde_json::json!({}), 1700, 20),
        call("read_file", serde_json::json!({ "path": "slugkit/slug.py" }), 2100, 30),
        call(
            "edit_file",
            serde_json::json!({
                "path": "slugkit/slug.py",
                "old": "    slug = _NOT_WORD.sub(\"-\", title)",
                "new": "    slug = _NOT_WORD.sub(\"-\", title.lower())"
            }),
            2400,
            60,
        ),
        call("run_tests", serde_json::json!({}), 2600, 20),
        finish("Lower-case the title before replacing the runs of other characters.", 2800),
    ]
}

/// Go: search for the function, read it, fix, run the tests, finish.
fn wordfreq_script() -> Vec<ScriptedReply> {
    vec![
        call("search", serde_json::json!({ "pattern": "func Count", "glob": "*.go" }), 1600, 30),
        call("read_file", serde_json::json!({ "path": "wordfreq.go", "start_line": 6, "end_line": 14 }), 1900, 30),
        call(
            "edit_file",
            serde_json::json!({
                "path": "wordfreq.go",
                "old": "\t\tcounts[word]++",
                "new": "\t\tcounts[strings.ToLower(word)]++"
            }),
            2200,
            60,
        ),
        call("run_tests", serde_json::json!({}), 2500, 20),
        finish("Count lower-cases each word before counting it.", 2700),
    ]
}

/// JavaScript: list, read, fix, run the tests, finish.
fn median_script() -> Vec<ScriptedReply> {
    vec![
        call("list_files", serde_json::json!({}), 1500, 20),
        call("read_file", serde_json::json!({ "path": "median.js" }), 1800, 30),
        call(
            "edit_file",
            serde_json::json!({
                "path": "median.js",
                "old": "const sorted = [...values].sort();",
                "new": "const sorted = [...values].sort((a, b) => a - b);"
            }),
            2100,
            60,
        ),
        call("run_tests", serde_json::json!({}), 2400, 20),
        finish("Sort numerically with a comparator instead of as text.", 2600),
    ]
}

fn roman_script() -> Vec<ScriptedReply> {
    let table = "    let table = [(1000, \"M\"), (500, \"D\"), (100, \"C\"), (50, \"L\"), (10, \"X\"), (5, \"V\"), (1, \"I\")];";
    let with_four = "    let table = [(1000, \"M\"), (500, \"D\"), (100, \"C\"), (50, \"L\"), (10, \"X\"), (5, \"V\"), (4, \"IV\"), (1, \"I\")];";
    let broken = "    let table = [(1000, \"M\"), (500, \"D\"), (100, \"C\"), (50, \"L\"), (10, \"X\"), (9, \"IX\") (5, \"V\"), (4, \"IV\"), (1, \"I\")];";
    let with_nine = "    let table = [(1000, \"M\"), (500, \"D\"), (100, \"C\"), (50, \"L\"), (10, \"X\"), (9, \"IX\"), (5, \"V\"), (4, \"IV\"), (1, \"I\")];";
    vec![
        // Attempt 1 handles 4 only: 1994 still fails.
        reply(plan("Add IV to the table.", "src/lib.rs", table, with_four), 1480, 120),
        // Repair 1 adds IX but drops a comma: a real syntax error.
        reply(plan("Add IX to the table.", "src/lib.rs", with_four, broken), 2410, 131),
        // Repair 2 fixes the comma but still lacks CM, XC: 1994 still fails.
        reply(plan("Fix the missing comma.", "src/lib.rs", broken, with_nine), 2630, 133),
    ]
}

fn trap_script() -> Vec<ScriptedReply> {
    // Every "fix" makes the named test pass and breaks `no_discount_just_below_one_hundred`.
    vec![
        reply(
            plan("Lower the discount threshold.", "src/lib.rs", "    if total > 10_000 {", "    if total > 9_000 {"),
            1390,
            70,
        ),
        reply(
            plan(
                "Move the threshold closer to 100.00.",
                "src/lib.rs",
                "    if total > 9_000 {",
                "    if total >= 9_990 {",
            ),
            2210,
            74,
        ),
        reply(
            plan("Use a rounder threshold.", "src/lib.rs", "    if total >= 9_990 {", "    if total > 5_000 {"),
            2480,
            71,
        ),
    ]
}

/// Records a plan-mode cassette (`--mode plan`).
async fn record(repo: &Path, name: &str, goal: &str, tests: &[&str], script: Vec<ScriptedReply>, expect: Outcome) {
    record_as(repo, name, name, LoopMode::Plan, goal, tests, script, expect).await;
}

/// Records fixture `fixture` into `examples/cassettes/{cassette}.json`, the
/// loop built as `agentctl repair --mode MODE` builds it.
#[allow(clippy::too_many_arguments)]
async fn record_as(
    repo: &Path,
    fixture: &str,
    cassette: &str,
    mode: LoopMode,
    goal: &str,
    tests: &[&str],
    script: Vec<ScriptedReply>,
    expect: Outcome,
) {
    let name = fixture;
    let dir = tempfile::tempdir().expect("temp dir");
    let work = dir.path().join(name);
    let status = std::process::Command::new("bash")
        .arg(repo.join("examples/fixtures/setup.sh"))
        .arg(name)
        .arg(&work)
        .status()
        .expect("run setup.sh");
    assert!(status.success(), "setup.sh failed for {name}");
    let cassette = repo.join("examples/cassettes").join(format!("{cassette}.json"));
    let _ = std::fs::remove_file(&cassette);
    let scripted = ScriptedProvider::new(ProviderId::new(PROVIDER), script);
    let provider = RecordingProvider::new(scripted, &cassette).expect("open cassette");
    let journal = JsonlJournal::open(dir.path().join("journal.jsonl")).await.expect("journal");
    let parts = RepairParts {
        provider: Arc::new(provider),
        oracle: Arc::new(default_oracle()),
        classifier: Arc::new(AutoClassifier::new()),
        executor: Arc::new(ProcessExecutor::new().with_default_cwd(work.clone())),
        snapshotter: Arc::new(GitSnapshotter::new()),
        editor: Arc::new(FileEditor::new()),
        journal: Arc::new(journal),
    };
    let root = work.canonicalize().expect("canonical root");
    let report = RepairLoop::new(parts)
        .with_config(RepairConfig::default().with_mode(mode))
        // As `agentctl repair` builds it: failures by root cause within a token
        // budget, and a repository map in the first prompt of a session.
        .with_context_renderer(Arc::new(RepairContextBuilder::new()))
        .with_repo_map(Arc::new(RepoMap::new()))
        .run(Task::new(TaskId::new(name), root, goal).with_named_tests(tests.iter().map(|t| (*t).to_owned()).collect()))
        .await
        .expect("loop runs");
    assert_eq!(report.outcome, expect, "{name}: {report:#?}");
    println!("{name}: {:?} after {} attempt(s) -> {}", report.outcome, report.attempts.len(), cassette.display());
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    record(&repo, "buggy-stats", STATS_GOAL, &[], stats_script(), Outcome::Accepted).await;
    record(&repo, "hopeless-roman", ROMAN_GOAL, &[], roman_script(), Outcome::RolledBack).await;
    record(&repo, "regression-trap", TRAP_GOAL, &[TRAP_TEST], trap_script(), Outcome::RolledBack).await;
    let tools = LoopMode::Tools;
    let accepted = Outcome::Accepted;
    record_as(&repo, "buggy-stats", "buggy-stats-tools", tools, STATS_TOOLS_GOAL, &[], stats_tools_script(), accepted)
        .await;
    record_as(&repo, "py-slugify", "py-slugify", tools, SLUG_GOAL, &[], slug_script(), accepted).await;
    record_as(&repo, "go-wordfreq", "go-wordfreq", tools, WORDFREQ_GOAL, &[], wordfreq_script(), accepted).await;
    record_as(&repo, "js-median", "js-median", tools, MEDIAN_GOAL, &[], median_script(), accepted).await;
}
