//! Tokens sent per agent session: the loop's own tools mode (a repository
//! map in the first prompt, bounded observations, `run_tests` answering with
//! the classified failures) against a naive session that pastes every
//! source file and the raw test log into its first prompt and answers
//! `read_file` with the whole file and `run_tests` with the raw log.
//!
//! Both run the same scripted sessions (the model is a test double; its
//! tool calls are written below, the same as the demo cassettes') over the
//! same workspaces — the fixtures in Rust, Python, Go and JavaScript, and two
//! published crates (heck 0.5.0 and strsim 0.11.1, copied from the local
//! cargo registry, a one-line bug put in) — with the real tools, test
//! runners and classifiers. Tokens are counted with tiktoken's
//! `o200k_base` over every request the model receives (messages and tool
//! specs), summed over the session's turns: what a provider would bill as
//! input.
//!
//! ```sh
//! cargo bench --bench session_tokens
//! ```

use agentkit::agent::{AgentSession, MemoryJournal, RepairConfig, RepairLoop, RepairParts, Task, ToolSet};
use agentkit::classify::{AutoClassifier, RepairContextBuilder, RepoMap, count_tokens, exact_token_counts};
use agentkit::core::budget::{Budget, BudgetTracker};
use agentkit::core::exec::{CommandSpec, SandboxPolicy};
use agentkit::core::provider::{CompletionRequest, Usage};
use agentkit::core::tool::{ObservationLimits, Tool, ToolContext, ToolError, ToolOutput};
use agentkit::core::{Executor, WorkspaceOracle, async_trait};
use agentkit::oracles::default_oracle;
use agentkit::providers::{ScriptedProvider, ScriptedReply};
use agentkit::sandbox::{FileEditor, GitSnapshotter, ProcessExecutor};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;

struct Case {
    fixture: &'static str,
    goal: &'static str,
    script: fn() -> Vec<(&'static str, serde_json::Value)>,
    /// A published crate from the cargo registry instead of a fixture, with
    /// the bug put in: (file, correct text, buggy text).
    registry: Option<(&'static str, &'static str, &'static str)>,
}

fn heck() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("run_tests", json!({})),
        ("read_file", json!({"path": "src/kebab.rs", "start_line": 40, "end_line": 48})),
        ("edit_file", json!({"path": "src/kebab.rs", "old": "write!(f, \"_\")", "new": "write!(f, \"-\")"})),
        ("run_tests", json!({})),
        ("finish", json!({"summary": "Kebab case joins words with hyphens."})),
    ]
}

fn strsim() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("run_tests", json!({})),
        ("search", json!({"pattern": "count \\+= 2"})),
        ("read_file", json!({"path": "src/lib.rs", "start_line": 53, "end_line": 72})),
        ("edit_file", json!({"path": "src/lib.rs", "old": "count += 2;", "new": "count += 1;"})),
        ("run_tests", json!({})),
        ("finish", json!({"summary": "Each differing position counts once."})),
    ]
}

fn slug() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("run_tests", json!({})),
        ("read_file", json!({"path": "slugkit/slug.py"})),
        (
            "edit_file",
            json!({"path": "slugkit/slug.py", "old": "    slug = _NOT_WORD.sub(\"-\", title)", "new": "    slug = _NOT_WORD.sub(\"-\", title.lower())"}),
        ),
        ("run_tests", json!({})),
        ("finish", json!({"summary": "Lower-case the title first."})),
    ]
}

fn wordfreq() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("search", json!({"pattern": "func Count", "glob": "*.go"})),
        ("read_file", json!({"path": "wordfreq.go"})),
        (
            "edit_file",
            json!({"path": "wordfreq.go", "old": "\t\tcounts[word]++", "new": "\t\tcounts[strings.ToLower(word)]++"}),
        ),
        ("run_tests", json!({})),
        ("finish", json!({"summary": "Count lower-cases each word."})),
    ]
}

fn median() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("list_files", json!({})),
        ("read_file", json!({"path": "median.js"})),
        (
            "edit_file",
            json!({"path": "median.js", "old": "const sorted = [...values].sort();", "new": "const sorted = [...values].sort((a, b) => a - b);"}),
        ),
        ("run_tests", json!({})),
        ("finish", json!({"summary": "Sort numerically."})),
    ]
}

fn stats() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("run_tests", json!({})),
        ("read_file", json!({"path": "src/lib.rs"})),
        (
            "edit_file",
            json!({"path": "src/lib.rs", "old": "    Some(sum / (values.len() as i64 - 1))", "new": "    Some(sum / values.len() as i64)"}),
        ),
        ("run_tests", json!({})),
        ("finish", json!({"summary": "Divide by the number of values."})),
    ]
}

const CASES: &[Case] = &[
    Case {
        fixture: "buggy-stats",
        goal: "Make the failing tests pass: mean must return the arithmetic mean.",
        script: stats,
        registry: None,
    },
    Case {
        fixture: "py-slugify",
        goal: "Make the failing tests pass: slugify must lower-case the title.",
        script: slug,
        registry: None,
    },
    Case {
        fixture: "go-wordfreq",
        goal: "Make the failing tests pass: Count must compare words without regard to case.",
        script: wordfreq,
        registry: None,
    },
    Case {
        fixture: "js-median",
        goal: "Make the failing tests pass: median must order the numbers by value.",
        script: median,
        registry: None,
    },
    Case {
        fixture: "heck-0.5.0",
        goal: "Make the failing tests pass: kebab case must join words with hyphens.",
        script: heck,
        registry: Some(("src/kebab.rs", "write!(f, \"-\")", "write!(f, \"_\")")),
    },
    Case {
        fixture: "strsim-0.11.1",
        goal: "Make the failing tests pass: the Hamming distance counts each differing position once.",
        script: strsim,
        registry: Some(("src/lib.rs", "count += 1;", "count += 2;")),
    },
];

fn replies(case: &Case) -> Vec<ScriptedReply> {
    (case.script)().into_iter().map(|(name, args)| ScriptedReply::call(name, args, Usage::new(1000, 40))).collect()
}

/// Input tokens of every request: messages (content and tool calls) and tool specs.
fn request_tokens(requests: &[CompletionRequest]) -> usize {
    requests
        .iter()
        .map(|r| {
            let messages: usize = r
                .messages
                .iter()
                .map(|m| {
                    count_tokens(&m.content)
                        + m.tool_calls.iter().map(|c| count_tokens(&c.name) + count_tokens(&c.arguments)).sum::<usize>()
                })
                .sum();
            let specs: usize =
                r.tools.iter().map(|t| count_tokens(&serde_json::to_string(t).unwrap_or_default())).sum();
            messages + specs
        })
        .sum()
}

/// The workspace of `case`: a fixture set up by setup.sh, or a published
/// crate copied from the cargo registry into a git repository, its bug put
/// in as an uncommitted change.
fn workspace(repo: &Path, case: &Case) -> (tempfile::TempDir, PathBuf) {
    let Some((file, good, bad)) = case.registry else { return fixture(repo, case.fixture) };
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cargo"));
    let src = std::fs::read_dir(home.join("registry/src"))
        .expect("the cargo registry")
        .filter_map(Result::ok)
        .map(|e| e.path().join(case.fixture))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| panic!("{} is not in the cargo registry", case.fixture));
    let dir = tempfile::tempdir().expect("temp dir");
    let work = dir.path().join(case.fixture);
    let status = std::process::Command::new("cp").arg("-R").arg(&src).arg(&work).status().expect("cp");
    assert!(status.success());
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .args(["-c", "user.name=b", "-c", "user.email=b@b", "-c", "commit.gpgsign=false"])
            .args(args)
            .current_dir(&work)
            .output()
            .expect("git")
            .status
            .success();
        assert!(ok, "git {args:?}");
    };
    std::fs::write(work.join(".gitignore"), "/target\n").expect("gitignore");
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-qm", "published"]);
    let path = work.join(file);
    let text = std::fs::read_to_string(&path).expect("source");
    assert_eq!(text.matches(good).count(), 1, "{}: the bug site is unique", case.fixture);
    std::fs::write(&path, text.replace(good, bad)).expect("bug");
    let work = work.canonicalize().expect("canonical");
    (dir, work)
}

fn fixture(repo: &Path, name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let work = dir.path().join(name);
    let status = std::process::Command::new("bash")
        .arg(repo.join("examples/fixtures/setup.sh"))
        .arg(name)
        .arg(&work)
        .status()
        .expect("setup.sh");
    assert!(status.success());
    let work = work.canonicalize().expect("canonical");
    (dir, work)
}

/// The loop's own tools mode, as `agentctl repair` builds it.
async fn loop_session(repo: &Path, case: &Case) -> (usize, usize) {
    let (_dir, work) = workspace(repo, case);
    let model = Arc::new(ScriptedProvider::new("openai:gpt-4.1-mini", replies(case)));
    let parts = RepairParts {
        provider: model.clone(),
        oracle: Arc::new(default_oracle()),
        classifier: Arc::new(AutoClassifier::new()),
        executor: Arc::new(ProcessExecutor::new().with_default_cwd(work.clone())),
        snapshotter: Arc::new(GitSnapshotter::new()),
        editor: Arc::new(FileEditor::new()),
        journal: Arc::new(MemoryJournal::default()),
    };
    let report = RepairLoop::new(parts)
        .with_config(RepairConfig::default())
        .with_context_renderer(Arc::new(RepairContextBuilder::new()))
        .with_repo_map(Arc::new(RepoMap::new()))
        .run(Task::new("bench", &work, case.goal))
        .await
        .expect("the loop runs");
    assert_eq!(report.outcome, agentkit::agent::Outcome::Accepted, "{}: {report:#?}", case.fixture);
    let requests = model.requests();
    (request_tokens(&requests), requests.len())
}

/// `read_file` that answers with the whole file.
struct WholeFile;

#[async_trait]
impl Tool for WholeFile {
    fn name(&self) -> &str {
        "read_file"
    }
    fn description(&self) -> &str {
        "The whole file."
    }
    fn parameters(&self) -> serde_json::Value {
        json!({"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]})
    }
    async fn call(&self, args: serde_json::Value, cx: &ToolContext) -> Result<ToolOutput, ToolError> {
        let path = args["path"].as_str().unwrap_or_default();
        let text = std::fs::read_to_string(cx.root.join(path))
            .map_err(|e| ToolError::Failed { tool: "read_file".into(), reason: e.to_string() })?;
        Ok(ToolOutput::text(text))
    }
}

/// `run_tests` that answers with the raw log.
struct RawLog;

async fn raw_log(cx: &ToolContext) -> Result<String, ToolError> {
    let test = cx.profile.test_command().expect("a test command").to_spec(&cx.root);
    let out = cx.executor.run(test).await?;
    Ok(format!("{}{}", out.stdout.text(), out.stderr.text()))
}

#[async_trait]
impl Tool for RawLog {
    fn name(&self) -> &str {
        "run_tests"
    }
    fn description(&self) -> &str {
        "The test run's raw output."
    }
    fn parameters(&self) -> serde_json::Value {
        json!({"type": "object", "properties": {}})
    }
    async fn call(&self, _args: serde_json::Value, cx: &ToolContext) -> Result<ToolOutput, ToolError> {
        Ok(ToolOutput::text(raw_log(cx).await?))
    }
}

/// A naive session: every source file and the raw log pasted in, whole
/// files and raw logs as observations, no bound on them.
async fn naive_session(repo: &Path, case: &Case) -> (usize, usize) {
    let (_dir, work) = workspace(repo, case);
    let model = Arc::new(ScriptedProvider::new("openai:gpt-4.1-mini", replies(case)));
    let profile = default_oracle().inspect(&work).await.expect("inspect");
    let executor = Arc::new(ProcessExecutor::new().with_default_cwd(work.clone()));
    let cx = ToolContext::new(
        &work,
        Arc::new(FileEditor::new()),
        executor.clone(),
        profile,
        Arc::new(AutoClassifier::new()),
        Arc::new(RepairContextBuilder::new()),
    )
    .with_sandbox(SandboxPolicy::None)
    .with_limits(ObservationLimits::default().with_max_tokens(1_000_000));
    let mut first = format!("Goal: {}\n\nTest output:\n{}\n", case.goal, raw_log(&cx).await.expect("raw log"));
    let listing = executor
        .run(CommandSpec::new("git").args(["ls-files", "--cached", "--others", "--exclude-standard"]).cwd(&work))
        .await
        .expect("git ls-files");
    for file in listing.stdout.text().lines() {
        if let Ok(text) = std::fs::read_to_string(work.join(file)) {
            first.push_str(&format!("\n`{file}`:\n```\n{text}```\n"));
        }
    }
    let tools = ToolSet::builtin().with(Arc::new(WholeFile)).with(Arc::new(RawLog));
    let session = AgentSession::new(model.clone(), tools, Arc::new(MemoryJournal::default()), "naive".into());
    let mut tracker = BudgetTracker::start(Budget::unlimited());
    session
        .run(&cx, agentkit::agent::repair::TOOLS_SYSTEM_PROMPT.to_owned(), first, &mut tracker)
        .await
        .expect("the session runs");
    let requests = model.requests();
    (request_tokens(&requests), requests.len())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    assert!(exact_token_counts(), "the bench needs the tokenizer feature for exact counts");
    println!("{:<14} {:>6} {:>12} {:>12} {:>7}", "workspace", "turns", "loop tokens", "naive tokens", "ratio");
    let (mut ours, mut naive) = (0usize, 0usize);
    for case in CASES {
        let (a, turns) = loop_session(&repo, case).await;
        let (b, naive_turns) = naive_session(&repo, case).await;
        assert_eq!(turns, naive_turns, "{}: both sessions take the same turns", case.fixture);
        println!("{:<14} {:>6} {:>12} {:>12} {:>6.2}x", case.fixture, turns, a, b, a as f64 / b as f64);
        ours += a;
        naive += b;
    }
    println!("{:<14} {:>6} {:>12} {:>12} {:>6.2}x", "all", "", ours, naive, ours as f64 / naive as f64);
}
