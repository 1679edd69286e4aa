//! A minimal host: composes the library's parts into a repair loop.
//!
//! ```sh
//! cargo run --example host -- /path/to/a/git/cargo/project "make the tests pass"
//! ```
//!
//! It talks to OpenAI (`OPENAI_API_KEY`, or any Chat Completions server via
//! `OPENAI_BASE_URL`); the offline demo is `bash examples/demo.sh`.

use agentkit::agent::{JsonlJournal, RepairConfig, RepairLoop, RepairParts, Task};
use agentkit::classify::AutoClassifier;
use agentkit::oracles::default_oracle;
use agentkit::providers::OpenAiProvider;
use agentkit::sandbox::{FileEditor, GitSnapshotter, ProcessExecutor};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let root = std::path::PathBuf::from(args.next().ok_or("usage: host DIR GOAL")?).canonicalize()?;
    let goal = args.next().ok_or("usage: host DIR GOAL")?;

    let parts = RepairParts {
        provider: Arc::new(OpenAiProvider::from_env("gpt-4.1-mini", None)),
        oracle: Arc::new(default_oracle()),
        classifier: Arc::new(AutoClassifier::new()),
        executor: Arc::new(ProcessExecutor::new()),
        snapshotter: Arc::new(GitSnapshotter::new()),
        editor: Arc::new(FileEditor::new()),
        journal: Arc::new(JsonlJournal::open(std::env::temp_dir().join("host-journal.jsonl")).await?),
    };
    let report =
        RepairLoop::new(parts).with_config(RepairConfig::default()).run(Task::new("host-task", root, goal)).await?;
    println!("{:?} after {} attempt(s)", report.outcome, report.attempts.len());
    Ok(())
}
