//! Records `examples/swe/cassettes/INSTANCE_ID.json`, one cassette per
//! instance of the shipped SWE task set, from a **scripted stand-in for a
//! model**: the replies are derived from each instance's gold patch, not
//! produced by an LLM. The session reads every file the patch changes,
//! applies the patch's hunks one `edit_file` call each (`write_file` for a
//! new file, `delete_file` for a removed one), runs the tests and calls
//! `finish`. Everything it drives is real: the mirrors are real git
//! repositories, the environments are really installed, the tests really
//! run, the loop really verifies. Replaying these cassettes
//! (`agentctl swe run --replay examples/swe/cassettes`) measures the
//! infrastructure, not a model.
//!
//! ```sh
//! cargo run --example record_swe_cassettes            # every instance
//! cargo run --example record_swe_cassettes -- ID ...  # some
//! ```

use agentkit::core::LlmProvider;
use agentkit::core::provider::{ProviderId, Usage};
use agentkit::providers::{RecordingProvider, ScriptedProvider, ScriptedReply};
use agentkit::swe::{AgentSolver, InstanceStatus, Solver, SweConfig, SweInstance, SweRunner, read_instances};
use std::path::PathBuf;
use std::sync::Arc;

/// The provider id the cassettes replay under (agentctl's default provider).
const PROVIDER: &str = "openai:gpt-4.1-mini";

/// One file's change in a unified diff.
enum FileEdit {
    /// Hunks of an existing file: (old text, new text), whole lines.
    Hunks { path: String, hunks: Vec<(String, String)> },
    /// A new file and its content.
    Create { path: String, content: String },
    /// A removed file.
    Delete { path: String },
}

/// Reads a `git diff` into per-file edits.
fn parse_patch(patch: &str) -> Vec<FileEdit> {
    let mut edits = Vec::new();
    for section in patch.split("\ndiff --git ").map(|s| s.trim_start_matches("diff --git ")) {
        let lines: Vec<&str> = section.lines().collect();
        let Some(path) = lines.iter().find_map(|l| l.strip_prefix("+++ b/")).map(str::to_owned) else {
            if let Some(old) = lines.iter().find_map(|l| l.strip_prefix("--- a/")) {
                if lines.iter().any(|l| l.starts_with("deleted file")) {
                    edits.push(FileEdit::Delete { path: old.to_owned() });
                }
            }
            continue;
        };
        let new_file = lines.iter().any(|l| l.starts_with("new file"));
        let mut hunks = Vec::new();
        let (mut old, mut new, mut in_hunk) = (String::new(), String::new(), false);
        for line in &lines {
            if line.starts_with("@@") {
                if in_hunk {
                    hunks.push((std::mem::take(&mut old), std::mem::take(&mut new)));
                }
                in_hunk = true;
                continue;
            }
            if !in_hunk || line.starts_with('\\') {
                continue;
            }
            match line.split_at_checked(1) {
                Some((" ", rest)) => {
                    old.push_str(rest);
                    old.push('\n');
                    new.push_str(rest);
                    new.push('\n');
                }
                Some(("-", rest)) => {
                    old.push_str(rest);
                    old.push('\n');
                }
                Some(("+", rest)) => {
                    new.push_str(rest);
                    new.push('\n');
                }
                _ if line.is_empty() => {
                    old.push('\n');
                    new.push('\n');
                }
                _ => {}
            }
        }
        if in_hunk {
            hunks.push((old, new));
        }
        if new_file {
            edits.push(FileEdit::Create { path, content: hunks.into_iter().map(|(_, n)| n).collect() });
        } else {
            edits.push(FileEdit::Hunks { path, hunks });
        }
    }
    edits
}

fn call(name: &str, args: serde_json::Value, input_tokens: u64, output_tokens: u64) -> ScriptedReply {
    ScriptedReply::call(name, args, Usage::new(input_tokens, output_tokens))
}

/// The scripted session of one instance.
fn script(instance: &SweInstance) -> Vec<ScriptedReply> {
    let edits = parse_patch(&instance.patch);
    let mut replies = Vec::new();
    let mut input = 1800;
    let mut next = |name: &str, args: serde_json::Value, out: u64| {
        input += 350;
        replies.push(call(name, args, input, out));
    };
    next("run_tests", serde_json::json!({}), 20);
    for edit in &edits {
        if let FileEdit::Hunks { path, .. } | FileEdit::Delete { path } = edit {
            next("read_file", serde_json::json!({ "path": path }), 30);
        }
    }
    for edit in edits {
        match edit {
            FileEdit::Hunks { path, hunks } => {
                for (old, new) in hunks {
                    next("edit_file", serde_json::json!({ "path": path, "old": old, "new": new }), 90);
                }
            }
            FileEdit::Create { path, content } => {
                next("write_file", serde_json::json!({ "path": path, "content": content }), 120);
            }
            FileEdit::Delete { path } => next("delete_file", serde_json::json!({ "path": path }), 20),
        }
    }
    next("run_tests", serde_json::json!({}), 20);
    next("finish", serde_json::json!({ "summary": format!("Fixed {}; the tests pass.", instance.instance_id) }), 40);
    replies
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let only: Vec<String> = std::env::args().skip(1).collect();
    let swe = repo.join("examples/swe");
    let work = tempfile::tempdir().expect("temp dir");
    let mirrors = work.path().join("mirrors");
    let status = std::process::Command::new("bash")
        .arg(swe.join("build-mirrors.sh"))
        .arg(&mirrors)
        .status()
        .expect("run build-mirrors.sh");
    assert!(status.success(), "build-mirrors.sh failed");
    let mut instances = read_instances(&swe.join("instances.jsonl")).expect("instances");
    if !only.is_empty() {
        instances.retain(|i| only.contains(&i.instance_id));
    }
    let cassettes = swe.join("cassettes");
    std::fs::create_dir_all(&cassettes).expect("cassettes dir");
    let dir = cassettes.clone();
    let factory = move |instance: &SweInstance| -> Result<Arc<dyn LlmProvider>, String> {
        let cassette = dir.join(format!("{}.json", instance.instance_id));
        let _ = std::fs::remove_file(&cassette);
        let scripted = ScriptedProvider::new(ProviderId::new(PROVIDER), script(instance));
        let recording = RecordingProvider::new(scripted, &cassette).map_err(|e| e.to_string())?;
        Ok(Arc::new(recording))
    };
    let solver = Solver::agent(AgentSolver::new(PROVIDER, Arc::new(factory)));
    let config = SweConfig::new(&mirrors, work.path().join("out")).with_jobs(2);
    let report = SweRunner::new(config, solver).run(instances).await.expect("swe run");
    for r in report.instances.values() {
        println!("{} {:?}: {} ({} turns)", r.instance_id, r.status, r.verdict, r.turns);
    }
    println!("{}", report.summary_line());
    assert!(
        report.instances.values().all(|r| r.status == InstanceStatus::Resolved),
        "every instance must resolve with its scripted session"
    );
}
