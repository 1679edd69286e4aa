//! Command-line arguments of agentctl, as DESIGN.md states them.
//!
//! Additions beyond DESIGN.md, all additive (the subcommands, flags and JSON
//! fields it lists are unchanged): `repair --test NAME` (repeatable; the
//! attempt is judged regression-aware), `repair --memory FILE` (opt-in, so
//! replayed demos keep the prompts their cassettes were recorded with),
//! `repair --repeat N` (determinism), `timeline JOURNAL [TASK]`, and the
//! store subcommands `worker`, `enqueue`, `status` and `costs`. The repair
//! report's attempts carry per-test outcomes.

use agentkit::core::exec::{Enforcement, SandboxPolicy};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

/// The provider used when no `--provider` is given.
pub(crate) const DEFAULT_PROVIDER: &str = "openai:gpt-4.1-mini";

/// agentctl: drive the agentkit library from the command line.
#[derive(Parser, Debug)]
#[command(name = "agentctl", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Print the WorkspaceProfile of DIR.
    Inspect {
        /// The workspace.
        dir: PathBuf,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Classify captured tool output read from stdin.
    Classify {
        /// The tool that produced the output (`cargo`, `generic`, `auto`).
        #[arg(long)]
        tool: String,
        /// The exit code of the run that produced the output.
        #[arg(long, allow_hyphen_values = true)]
        exit_code: Option<i32>,
        /// The workspace root, to resolve files and read snippets.
        #[arg(long)]
        root: Option<PathBuf>,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Run a command with limits and report its RunOutput.
    Exec {
        /// Wall-clock limit (`500ms`, `5s`, `2m`).
        #[arg(long)]
        timeout: Option<String>,
        /// Inactivity limit: no output for this long ends the run.
        #[arg(long)]
        idle: Option<String>,
        /// Bytes of output kept in memory per stream (head and tail halves).
        #[arg(long)]
        max_output: Option<usize>,
        /// Sandbox policy: none, workspace-write, no-network (append `:required` to refuse when not enforceable).
        #[arg(long)]
        sandbox: Option<String>,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
        /// The program and its arguments.
        #[arg(last = true, required = true)]
        argv: Vec<String>,
    },
    /// Take a snapshot of DIR and print its id.
    Snapshot {
        /// The workspace (a git repository).
        dir: PathBuf,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Restore DIR to snapshot ID.
    Restore {
        /// The workspace.
        dir: PathBuf,
        /// The snapshot id.
        id: String,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Drop snapshot ID of DIR.
    Discard {
        /// The workspace.
        dir: PathBuf,
        /// The snapshot id.
        id: String,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Restore DIR if a killed run left it mid-attempt (its owner process is gone).
    Recover {
        /// The workspace (a git repository).
        dir: PathBuf,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// One completion through the provider stack (a fallback chain when several specs are given).
    Ask {
        /// Provider spec `KIND:MODEL[@BASE_URL]`; repeat for a fallback chain.
        #[arg(long = "provider")]
        provider: Vec<String>,
        /// Stream the answer.
        #[arg(long)]
        stream: bool,
        /// A JSON schema file the answer must match.
        #[arg(long)]
        schema: Option<PathBuf>,
        /// Answer from this cassette instead of the network.
        #[arg(long)]
        replay: Option<PathBuf>,
        /// Record the exchange into this cassette.
        #[arg(long)]
        record: Option<PathBuf>,
        /// Reasoning controls: `minimal`, `low`, `medium`, `high`, or a token budget.
        #[arg(long)]
        reasoning: Option<String>,
        /// An image to send with the prompt (png, jpeg, gif, webp); repeatable.
        #[arg(long = "image")]
        images: Vec<PathBuf>,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
        /// The prompt.
        prompt: String,
    },
    /// Mutation testing of DIR: mutants with outcomes and the mutation score.
    Mutate(crate::mutate::MutateArgs),
    /// A task's timeline from a journal, and metrics across its tasks.
    Timeline(crate::timeline::TimelineArgs),
    /// Land a task's accepted change: commit, rebase onto the target, re-run the gates, fast-forward (or leave a branch).
    Merge(crate::merge::MergeArgs),
    /// Claim tasks from a shared store and run the repair loop on each.
    Worker(crate::store::WorkerArgs),
    /// Add a task to a shared store.
    Enqueue(crate::store::EnqueueArgs),
    /// Tasks per state, unfinished and stuck tasks of a shared store.
    Status(crate::store::StatusArgs),
    /// Spend of a shared store grouped by task, provider, model, repo or day.
    Costs(crate::store::CostsArgs),
    /// SWE-bench-format task instances: `swe run`, `swe report`.
    Swe(crate::swe::SweArgs),
    /// Operator controls on a task of a shared store: retry, reimplement, cancel, show.
    Task(crate::task::TaskArgs),
    /// Run the whole repair loop on DIR.
    Repair {
        /// The workspace (a git repository).
        dir: PathBuf,
        /// What to achieve.
        #[arg(long)]
        goal: String,
        /// Provider spec `KIND:MODEL[@BASE_URL]`; repeat for a fallback chain.
        #[arg(long = "provider")]
        provider: Vec<String>,
        /// Answer from this cassette instead of the network.
        #[arg(long)]
        replay: Option<PathBuf>,
        /// Record every model exchange into this cassette.
        #[arg(long)]
        record: Option<PathBuf>,
        /// Attempts in all (the first plan plus repairs).
        #[arg(long, default_value_t = 3)]
        max_attempts: u32,
        /// Where to write the JSONL journal (default: a file under the temp dir).
        #[arg(long)]
        journal: Option<PathBuf>,
        /// A test that must go from failing to passing (repeatable): the
        /// attempt is then judged regression-aware, every test that passed
        /// before must still pass.
        #[arg(long = "test")]
        tests: Vec<String>,
        /// Memory file (JSON lines): earlier attempts at the same goal and the
        /// workspace's lessons go into the planning prompt; this task's are added.
        #[arg(long)]
        memory: Option<PathBuf>,
        /// Run the same task this many times (the first on DIR, the others on
        /// copies of it as it was) and report determinism: the share of runs
        /// whose resulting tree is the most common one.
        #[arg(long, default_value_t = 1)]
        repeat: u32,
        /// How the model works: `tools` (agent sessions: read, search, edit,
        /// run the tests, finish) or `plan` (one JSON plan per attempt).
        #[arg(long, default_value = "tools", value_parser = ["tools", "plan"])]
        mode: String,
        /// Most model turns of one agent session.
        #[arg(long, default_value_t = 30)]
        max_turns: u32,
        /// The sandbox of the commands the model runs: none, workspace-write,
        /// no-network or workspace-write+no-network, with :required to refuse
        /// where the kernel cannot enforce it.
        #[arg(long, default_value = "workspace-write+no-network", value_parser = parse_sandbox)]
        sandbox: SandboxPolicy,
        /// How tools are called: `native` (the provider's tool calling) or
        /// `json` (the model answers one JSON object per turn).
        #[arg(long, default_value = "native", value_parser = ["native", "json"])]
        tool_calling: String,
        /// How --replay matches a request: `strict` (by the request's bytes)
        /// or `sequential` (the Nth call gets the Nth recording; differences
        /// are reported, not failed).
        #[arg(long, default_value = "strict", value_parser = ["strict", "sequential"])]
        replay_match: String,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
}

impl Command {
    /// Whether `--json` was given.
    pub(crate) fn json(&self) -> bool {
        match self {
            Self::Inspect { json, .. }
            | Self::Classify { json, .. }
            | Self::Exec { json, .. }
            | Self::Snapshot { json, .. }
            | Self::Restore { json, .. }
            | Self::Discard { json, .. }
            | Self::Recover { json, .. }
            | Self::Ask { json, .. }
            | Self::Repair { json, .. } => *json,
            Self::Mutate(args) => args.json,
            Self::Timeline(args) => args.json,
            Self::Merge(args) => args.json,
            Self::Worker(args) => args.json,
            Self::Enqueue(args) => args.json,
            Self::Status(args) => args.json,
            Self::Costs(args) => args.json,
            Self::Swe(args) => args.json(),
            Self::Task(args) => args.json(),
        }
    }
}

/// Parses `500ms`, `5s`, `2m`, `1h`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().map_err(|_| format!("bad duration `{text}`: expected e.g. 500ms, 5s, 2m"))?;
    let ms = match unit {
        "ms" => n,
        "s" => n.saturating_mul(1000),
        "m" => n.saturating_mul(60_000),
        "h" => n.saturating_mul(3_600_000),
        _ => return Err(format!("bad duration unit in `{text}`: use ms, s, m or h")),
    };
    Ok(Duration::from_millis(ms))
}

/// Parses `none`, `workspace-write`, `no-network` or both joined with `+`
/// (`workspace-write+no-network`, in either order), optionally with
/// `:required` or `:best-effort`.
pub(crate) fn parse_sandbox(text: &str) -> Result<SandboxPolicy, String> {
    let (name, level) = text.split_once(':').unwrap_or((text, "best-effort"));
    let enforcement = match level {
        "best-effort" => Enforcement::BestEffort,
        "required" => Enforcement::Required,
        other => return Err(format!("bad sandbox enforcement `{other}`: use required or best-effort")),
    };
    match name {
        "none" => Ok(SandboxPolicy::None),
        "workspace-write" => Ok(SandboxPolicy::WorkspaceWrite { enforcement }),
        "no-network" => Ok(SandboxPolicy::NoNetwork { enforcement }),
        "workspace-write+no-network" | "no-network+workspace-write" => {
            Ok(SandboxPolicy::WorkspaceWriteNoNetwork { enforcement })
        }
        other => Err(format!(
            "unknown sandbox policy `{other}`: use none, workspace-write, no-network or workspace-write+no-network"
        )),
    }
}
