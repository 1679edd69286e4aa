//! `agentctl swe run --instances FILE --repos DIR [--specs FILE] [--gold]
//! [--provider SPEC …] [--replay C] [--jobs N] [--out DIR]` and
//! `agentctl swe report DIR`: SWE-bench-format instances through
//! agent-swe's `SweRunner`.
//!
//! `run` writes `predictions.jsonl` and `report.json` into `--out`
//! (default `swe-out`), prints a line per instance as it ends and, last,
//! `resolved N of M` (M: the instances scored, invalid ones left out).
//! `--replay C` replays a cassette: C is one cassette for every instance,
//! or a directory holding `INSTANCE_ID.json` per instance. Additions beyond
//! DESIGN.md: `--instance ID` (repeatable: run only these), `--rerun`
//! (run instances already in the report again), `--timeout D` (per
//! instance), `--keep-envs`, and the loop's `--max-attempts`,
//! `--max-turns`, `--sandbox`, `--tool-calling`, `--replay-match`
//! (default `sequential` here).
//!
//! Exit codes: 0 when every scored instance was resolved, 1 when one was
//! not, 2 on bad input (no instances file, a malformed instance, no
//! repositories folder, a bad flag).

use crate::cli::{parse_duration, parse_sandbox};
use crate::{CliError, Output, provider_stack_matching, to_json};
use agentkit::agent::{LoopMode, RepairConfig, SessionConfig, ToolMode};
use agentkit::core::LlmProvider;
use agentkit::core::exec::SandboxPolicy;
use agentkit::providers::ReplayMatch;
use agentkit::providers::layers::{Retry, RetryPolicy};
use agentkit::swe::{
    AgentSolver, InstanceReport, RepoSpecs, Solver, SweConfig, SweError, SweReport, SweRunner, read_instances,
    read_report,
};
use clap::{Args, Subcommand};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `agentctl swe`.
#[derive(Args, Debug)]
pub(crate) struct SweArgs {
    #[command(subcommand)]
    pub(crate) command: SweCommand,
}

/// `swe run` and `swe report`.
#[derive(Subcommand, Debug)]
pub(crate) enum SweCommand {
    /// Run task instances: predictions.jsonl, report.json, `resolved N of M`.
    Run(Box<RunArgs>),
    /// Summarise the report.json in DIR.
    Report {
        /// The output folder of a run.
        dir: PathBuf,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
}

impl SweArgs {
    pub(crate) fn json(&self) -> bool {
        match &self.command {
            SweCommand::Run(args) => args.json,
            SweCommand::Report { json, .. } => *json,
        }
    }
}

/// Arguments of `agentctl swe run`.
#[derive(Args, Debug)]
pub(crate) struct RunArgs {
    /// Task instances, SWE-bench's JSONL.
    #[arg(long)]
    pub(crate) instances: PathBuf,
    /// The folder of repository mirrors (`owner__name`, `owner/name` or `name`).
    #[arg(long)]
    pub(crate) repos: PathBuf,
    /// Setup and test overrides by repository (`{"owner/name": {"setup": [..], "test_cmd": ".. {tests}"}}`).
    #[arg(long)]
    pub(crate) specs: Option<PathBuf>,
    /// Apply each instance's own patch instead of running the agent.
    #[arg(long)]
    pub(crate) gold: bool,
    /// The model (`KIND:MODEL[@BASE_URL]`); several make a cascade.
    #[arg(long)]
    pub(crate) provider: Vec<String>,
    /// Replay a cassette (a file for all instances, or a directory of `INSTANCE_ID.json`).
    #[arg(long)]
    pub(crate) replay: Option<PathBuf>,
    /// How --replay matches a request: `sequential` (the Nth call gets the
    /// Nth recording) or `strict` (by the request's bytes).
    #[arg(long, default_value = "sequential", value_parser = ["strict", "sequential"])]
    pub(crate) replay_match: String,
    /// Instances run at once.
    #[arg(long, default_value_t = 1)]
    pub(crate) jobs: usize,
    /// Where predictions.jsonl and report.json go.
    #[arg(long, default_value = "swe-out")]
    pub(crate) out: PathBuf,
    /// Run only this instance (repeatable).
    #[arg(long = "instance")]
    pub(crate) only: Vec<String>,
    /// Run instances already in the report again.
    #[arg(long)]
    pub(crate) rerun: bool,
    /// Wall-clock limit of one instance (`30m` by default).
    #[arg(long)]
    pub(crate) timeout: Option<String>,
    /// Keep each instance's environment (its venv) after it ends.
    #[arg(long)]
    pub(crate) keep_envs: bool,
    /// Attempts of the agent's loop.
    #[arg(long, default_value_t = 3)]
    pub(crate) max_attempts: u32,
    /// Most model turns of one agent session.
    #[arg(long, default_value_t = 30)]
    pub(crate) max_turns: u32,
    /// The sandbox of the commands the model runs.
    #[arg(long, default_value = "workspace-write+no-network", value_parser = parse_sandbox)]
    pub(crate) sandbox: SandboxPolicy,
    /// How tools are called: `native` or `json`.
    #[arg(long, default_value = "native", value_parser = ["native", "json"])]
    pub(crate) tool_calling: String,
    /// Print one JSON document.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) async fn swe(args: SweArgs) -> Result<Output, CliError> {
    match args.command {
        SweCommand::Run(run) => swe_run(*run).await,
        SweCommand::Report { dir, .. } => swe_report(&dir),
    }
}

fn swe_error(e: SweError) -> CliError {
    match e {
        SweError::Instances(_) | SweError::NoRepos { .. } | SweError::InvalidConfig { .. } => {
            CliError::bad_input(e.to_string())
        }
        other => CliError::failed(other.to_string()),
    }
}

async fn swe_run(args: RunArgs) -> Result<Output, CliError> {
    let mut instances = read_instances(&args.instances).map_err(|e| CliError::bad_input(e.to_string()))?;
    if !args.only.is_empty() {
        if let Some(missing) = args.only.iter().find(|id| !instances.iter().any(|i| &i.instance_id == *id)) {
            return Err(CliError::bad_input(format!("no instance `{missing}` in {}", args.instances.display())));
        }
        instances.retain(|i| args.only.contains(&i.instance_id));
    }
    if args.jobs == 0 {
        return Err(CliError::bad_input("--jobs must be at least 1"));
    }
    if args.gold && (args.replay.is_some() || !args.provider.is_empty()) {
        return Err(CliError::bad_input(
            "--gold applies the instances' own patches: --provider and --replay do not apply",
        ));
    }
    let specs = match &args.specs {
        Some(path) => RepoSpecs::read(path).map_err(|e| CliError::bad_input(e.to_string()))?,
        None => RepoSpecs::default(),
    };
    let mut config = SweConfig::new(&args.repos, &args.out)
        .with_jobs(args.jobs)
        .with_specs(specs)
        .with_rerun(args.rerun)
        .with_keep_envs(args.keep_envs);
    if let Some(t) = &args.timeout {
        config = config.with_instance_timeout(parse_duration(t).map_err(CliError::bad_input)?);
    }
    let solver = if args.gold {
        Solver::Gold
    } else {
        if args.max_attempts == 0 || args.max_turns == 0 {
            return Err(CliError::bad_input("--max-attempts and --max-turns must be at least 1"));
        }
        let matching: ReplayMatch = args.replay_match.parse().map_err(|e| CliError::bad_input(format!("{e}")))?;
        if let Some(replay) = &args.replay {
            if !replay.exists() {
                return Err(CliError::bad_input(format!("no cassette at {}", replay.display())));
            }
        }
        // Refuse a bad provider spec before any instance runs.
        provider_stack_matching(&args.provider, None, None, matching, None)?;
        let specs = args.provider.clone();
        let replay = args.replay.clone();
        let factory = move |instance: &agentkit::swe::SweInstance| -> Result<Arc<dyn LlmProvider>, String> {
            let cassette = replay
                .as_ref()
                .map(|r| if r.is_dir() { r.join(format!("{}.json", instance.instance_id)) } else { r.clone() });
            if let Some(c) = &cassette {
                if !c.is_file() {
                    return Err(format!("no cassette for the instance at {}", c.display()));
                }
            }
            let stack =
                provider_stack_matching(&specs, cassette.as_deref(), None, matching, None).map_err(|e| e.message)?;
            // Transient failures the cascade cannot route around are retried.
            Ok(Arc::new(Retry::new(stack, RetryPolicy::default())) as Arc<dyn LlmProvider>)
        };
        let name = args.provider.first().cloned().unwrap_or_else(|| crate::cli::DEFAULT_PROVIDER.to_owned());
        let tool_mode = if args.tool_calling == "json" { ToolMode::Json } else { ToolMode::Native };
        let loop_config = RepairConfig::default()
            .with_max_attempts(args.max_attempts)
            .with_mode(LoopMode::Tools)
            .with_session(SessionConfig::default().with_max_turns(args.max_turns).with_mode(tool_mode))
            .with_sandbox(args.sandbox.clone());
        Solver::agent(AgentSolver::new(name, Arc::new(factory)).with_config(loop_config))
    };
    let json = args.json;
    let progress = move |r: &InstanceReport| {
        if !json {
            eprintln!("{}", line(r));
        }
    };
    let report =
        SweRunner::new(config, solver).with_progress(Arc::new(progress)).run(instances).await.map_err(swe_error)?;
    Ok(render(&report, &args.out))
}

fn swe_report(dir: &std::path::Path) -> Result<Output, CliError> {
    if !dir.is_dir() {
        return Err(CliError::bad_input(format!("{} is not a directory", dir.display())));
    }
    let path = dir.join("report.json");
    match read_report(&path).map_err(swe_error)? {
        Some(report) => Ok(render(&report, dir)),
        None => Err(CliError::bad_input(format!("no report.json in {}", dir.display()))),
    }
}

fn line(r: &InstanceReport) -> String {
    let status = serde_json::to_value(r.status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    let secs = r.wall_ms as f64 / 1000.0;
    let setup = r.phases.setup_ms as f64 / 1000.0;
    format!("{:<10} {} ({secs:.1}s, setup {setup:.1}s): {}", status, r.instance_id, r.verdict)
}

fn render(report: &SweReport, out: &std::path::Path) -> Output {
    let mut doc = to_json(report);
    if let serde_json::Value::Object(map) = &mut doc {
        map.insert("out".into(), serde_json::json!(out));
        map.insert("predictions".into(), serde_json::json!(out.join("predictions.jsonl")));
        map.insert("summary_line".into(), serde_json::json!(report.summary_line()));
    }
    let mut human = String::new();
    for r in report.instances.values() {
        let _ = writeln!(human, "{}", line(r));
    }
    let s = report.summary;
    if s.invalid + s.error + s.timeout > 0 {
        let _ = writeln!(human, "{} invalid (not scored), {} errors, {} timeouts", s.invalid, s.error, s.timeout);
    }
    let _ = writeln!(human, "predictions: {}", out.join("predictions.jsonl").display());
    let _ = writeln!(human, "{}", report.summary_line());
    let ok = s.scored > 0 && s.resolved == s.scored;
    Output { json: doc, human, ok }
}
