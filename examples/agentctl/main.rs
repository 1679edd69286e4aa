//! `agentctl`: a thin command-line program over the agentkit library, for
//! people trying the library and for black-box tests.
//!
//! Every subcommand prints one JSON document on stdout with `--json` (human
//! text otherwise), exits 0 on success, 1 when what it checked failed and 2
//! on bad input. Progress lines of `repair` go to stderr.

mod cli;
mod merge;
mod mutate;
mod progress;
mod recover;
mod store;
mod swe;
mod task;
mod timeline;

use agentkit::agent::{JsonlJournal, LoopMode, RepairConfig, RepairLoop, RepairParts, SessionConfig, Task, ToolMode};
use agentkit::classify::{AutoClassifier, RepairContextBuilder, RepoMap, classify_captured};
use agentkit::core::event::{TaskId, unix_ms_now};
use agentkit::core::exec::{CommandSpec, ExecError, OutputCaps, SandboxPolicy};
use agentkit::core::failure::Classification;
use agentkit::core::provider::{
    Completion, CompletionRequest, CompletionStream, ContentPart, Message, ProviderError, ProviderErrorKind,
    ReasoningEffort, ReasoningRequest, Role, StreamEvent,
};
use agentkit::core::snapshot::{SnapshotError, SnapshotId};
use agentkit::core::workspace::WorkspaceProfile;
use agentkit::core::{Executor, FailureClassifier, LlmProvider, Snapshotter, WorkspaceOracle};
use agentkit::oracles::{default_oracle, default_oracle_with};
use agentkit::providers::layers::{
    AttemptOutcome, Cascade, CascadeAttempt, CascadeEntry, ProviderStack, Retry, RetryPolicy,
};
use agentkit::providers::{ProviderSpec, ReplayMatch, ReplayMismatchLog, build_provider};
use agentkit::sandbox::{DirSnapshotter, FileEditor, GitSnapshotter, LimitedExecutor, ProcessExecutor};
use clap::Parser;
use cli::{Cli, Command};
use serde_json::{Value, json};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Exit code: what was checked failed.
const FAILED: u8 = 1;
/// Exit code: bad input.
const BAD_INPUT: u8 = 2;

/// A failure of agentctl itself, with the exit code it maps to.
struct CliError {
    code: u8,
    pub(crate) message: String,
}

impl CliError {
    fn bad_input(message: impl Into<String>) -> Self {
        Self { code: BAD_INPUT, message: message.into() }
    }
    fn failed(message: impl Into<String>) -> Self {
        Self { code: FAILED, message: message.into() }
    }
}

/// What a subcommand produced: the JSON document, the human text, and whether the check passed.
struct Output {
    json: Value,
    human: String,
    ok: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json_mode = cli.command.json();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("agentctl: cannot start the runtime: {e}");
            return ExitCode::from(FAILED);
        }
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(out) => {
            if json_mode {
                print_out(&serde_json::to_string_pretty(&out.json).unwrap_or_else(|_| "{}".into()));
            } else {
                print_out(out.human.trim_end());
            }
            if out.ok { ExitCode::SUCCESS } else { ExitCode::from(FAILED) }
        }
        Err(err) => {
            if json_mode {
                let doc = json!({ "error": err.message, "exit_code": err.code });
                print_out(&serde_json::to_string_pretty(&doc).unwrap_or_default());
            }
            eprintln!("agentctl: {}", err.message);
            ExitCode::from(err.code)
        }
    }
}

/// Writes `text` and a newline to stdout. A reader that went away (`| head`)
/// is not an error worth a panic: the rest is dropped.
fn print_out(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}

async fn dispatch(command: Command) -> Result<Output, CliError> {
    match command {
        Command::Inspect { dir, .. } => inspect(&dir).await,
        Command::Classify { tool, exit_code, root, .. } => classify(&tool, exit_code, root.as_deref()),
        Command::Exec { timeout, idle, max_output, sandbox, argv, .. } => {
            exec(timeout.as_deref(), idle.as_deref(), max_output, sandbox.as_deref(), argv).await
        }
        Command::Snapshot { dir, .. } => snapshot(&dir).await,
        Command::Restore { dir, id, .. } => restore(&dir, &id).await,
        Command::Discard { dir, id, .. } => discard(&dir, &id).await,
        Command::Recover { dir, .. } => recover::recover(&dir).await,
        Command::Ask { provider, stream, schema, replay, record, reasoning, images, prompt, json } => {
            let request = ask_request(&prompt, reasoning.as_deref(), &images)?;
            ask(&provider, stream, json, schema.as_deref(), replay.as_deref(), record.as_deref(), request).await
        }
        Command::Mutate(args) => mutate::mutate(args).await,
        Command::Timeline(args) => timeline::timeline(args).await,
        Command::Merge(args) => merge::merge(args).await,
        Command::Worker(args) => store::worker(args).await,
        Command::Enqueue(args) => store::enqueue(args).await,
        Command::Status(args) => store::status(args).await,
        Command::Costs(args) => store::costs(args).await,
        Command::Swe(args) => swe::swe(args).await,
        Command::Task(args) => task::task(args).await,
        Command::Repair {
            dir,
            goal,
            provider,
            replay,
            record,
            max_attempts,
            journal,
            tests,
            memory,
            repeat,
            mode,
            max_turns,
            sandbox,
            tool_calling,
            replay_match,
            ..
        } => {
            let run = RepairRun {
                replay,
                record,
                max_attempts,
                journal,
                tests,
                memory,
                repeat,
                mode,
                max_turns,
                sandbox,
                tool_calling,
                replay_match,
            };
            repair(&dir, &goal, &provider, run).await
        }
    }
}

fn require_dir(dir: &Path) -> Result<PathBuf, CliError> {
    if !dir.is_dir() {
        return Err(CliError::bad_input(format!("{} is not a directory", dir.display())));
    }
    dir.canonicalize().map_err(|e| CliError::bad_input(format!("{}: {e}", dir.display())))
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

async fn inspect(dir: &Path) -> Result<Output, CliError> {
    let root = require_dir(dir)?;
    // `cargo metadata` confirms cargo members where cargo is installed; the manifests stand otherwise.
    let oracle = default_oracle_with(Arc::new(ProcessExecutor::new()));
    let profile = oracle.inspect(&root).await.map_err(|e| CliError::bad_input(e.to_string()))?;
    let mut human = format!("{}: {} project(s)\n", root.display(), profile.projects.len());
    for p in &profile.projects {
        let path = if p.path.as_os_str().is_empty() { ".".into() } else { p.path.display().to_string() };
        human.push_str(&format!(
            "- {path}{} [{}] {}{}\n",
            p.name.as_ref().map(|n| format!(" ({n})")).unwrap_or_default(),
            p.kinds.join(", "),
            p.build_system,
            if p.primary { ", primary" } else { "" }
        ));
        for (label, cmd) in [("setup", &p.setup), ("build", &p.build), ("test", &p.test), ("lint", &p.lint)] {
            if let Some(c) = cmd {
                human.push_str(&format!("    {label}: {} (confidence {:.2})\n", c.display(), c.confidence));
            }
        }
    }
    for a in &profile.ambiguities {
        human.push_str(&format!("ambiguous {}: {}\n", a.subject, a.candidates.join(" | ")));
    }
    Ok(Output { json: to_json(&profile), human, ok: true })
}

fn classify(tool: &str, exit_code: Option<i32>, root: Option<&Path>) -> Result<Output, CliError> {
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).map_err(|e| CliError::bad_input(format!("cannot read stdin: {e}")))?;
    let text = String::from_utf8_lossy(&input).into_owned();
    let root = match root {
        Some(r) => require_dir(r)?,
        None => std::env::current_dir().map_err(|e| CliError::bad_input(e.to_string()))?,
    };
    let classification = classify_captured(tool, &text, exit_code, &WorkspaceProfile::new(root))
        .map_err(|e| CliError::bad_input(e.to_string()))?;
    let human = describe_classification(&classification);
    let ok = classification.passed();
    Ok(Output { json: to_json(&classification), human, ok })
}

fn describe_classification(c: &Classification) -> String {
    let mut s = format!("tool: {}, valid run: {}, tier: {:?}\n", c.tool, c.valid_run, c.tier);
    if let Some(t) = c.tests {
        s.push_str(&format!("tests: {} passed, {} failed, {} ignored\n", t.passed, t.failed, t.ignored));
    }
    for f in &c.failures {
        let at = match (&f.file, f.line) {
            (Some(file), Some(line)) => format!(" {}:{line}", file.display()),
            (Some(file), None) => format!(" {}", file.display()),
            _ => String::new(),
        };
        let test = f.test_name.as_ref().map(|t| format!(" `{t}`")).unwrap_or_default();
        s.push_str(&format!("- [{}]{at}{test}: {}\n", f.kind.name(), f.message.lines().next().unwrap_or_default()));
    }
    for n in &c.notes {
        s.push_str(&format!("note: {n}\n"));
    }
    s
}

async fn exec(
    timeout: Option<&str>,
    idle: Option<&str>,
    max_output: Option<usize>,
    sandbox: Option<&str>,
    argv: Vec<String>,
) -> Result<Output, CliError> {
    let (program, args) = argv.split_first().ok_or_else(|| CliError::bad_input("no program given after --"))?;
    let mut spec = CommandSpec::new(program.clone()).args(args.iter().cloned());
    if let Some(t) = timeout {
        spec = spec.wall_timeout(cli::parse_duration(t).map_err(CliError::bad_input)?);
    }
    if let Some(t) = idle {
        spec = spec.idle_timeout(cli::parse_duration(t).map_err(CliError::bad_input)?);
    }
    if let Some(max) = max_output {
        spec = spec.output_caps(OutputCaps { head_bytes: max / 2, tail_bytes: max - max / 2 });
    }
    if let Some(policy) = sandbox {
        spec = spec.sandbox(cli::parse_sandbox(policy).map_err(CliError::bad_input)?);
    }
    let cwd = std::env::current_dir().map_err(|e| CliError::bad_input(e.to_string()))?;
    let executor = ProcessExecutor::new().with_default_cwd(cwd);
    let out = executor.run(spec).await.map_err(|e| match e {
        ExecError::SandboxUnavailable { .. } => CliError::failed(e.to_string()),
        other => CliError::bad_input(other.to_string()),
    })?;
    let mut human = String::new();
    human.push_str(&out.stdout.text());
    if !out.stderr.text().is_empty() {
        human.push_str(&format!("\n[stderr]\n{}", out.stderr.text()));
    }
    human.push_str(&format!(
        "\n[exit: {:?}, signal: {:?}, timed out: {:?}, {} ms]",
        out.exit_code, out.signal, out.timed_out, out.duration_ms
    ));
    Ok(Output { ok: out.success(), json: to_json(&out), human })
}

fn snapshot_error(e: SnapshotError) -> CliError {
    match e {
        SnapshotError::NotFound { .. } | SnapshotError::Unsupported { .. } => CliError::bad_input(e.to_string()),
        other => CliError::failed(other.to_string()),
    }
}

/// The snapshotter for a workspace: git snapshots at the top of a git
/// repository, directory copies (kept under the temp dir) anywhere else.
/// The task spec a store task's payload carries (`spec`), if any.
fn spec_of(payload: &serde_json::Value) -> Result<Option<agentkit::core::spec::TaskSpec>, String> {
    match payload.get("spec") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(value) => {
            use serde::Deserialize as _;
            let spec =
                agentkit::core::spec::TaskSpec::deserialize(value).map_err(|e| format!("the task's spec: {e}"))?;
            spec.check().map_err(|e| format!("the task's spec: {e}"))?;
            Ok(Some(spec))
        }
    }
}

/// The gates a spec's acceptance criteria and non-goals name, for a loop
/// or a merge, and the gates `extra` names besides (`agentctl merge
/// --gate`), each built once however often it is named. The spec's `tests`
/// gate is left out (the loop judges the tests itself, regression-aware,
/// with the spec's named tests); `extra` may name it.
fn spec_gates(
    spec: &agentkit::core::spec::TaskSpec,
    extra: &[String],
    executor: Arc<dyn agentkit::core::Executor>,
) -> Result<Vec<Arc<dyn agentkit::core::Gate>>, CliError> {
    let mut spec = spec.clone();
    for criterion in &mut spec.acceptance_criteria {
        if criterion.gate.as_deref() == Some("tests") {
            criterion.gate = None;
        }
    }
    for name in extra {
        spec.acceptance_criteria.push(
            agentkit::core::spec::AcceptanceCriterion::new(format!("--gate {name}"), "named on the command line")
                .proved_by_gate(name.as_str()),
        );
    }
    agentkit::gates::gates_for_spec(&spec, executor)
        .map(|built| built.gates)
        .map_err(|e| CliError::bad_input(format!("the spec's non-goal paths: {e}")))
}

fn snapshotter_for(root: &Path) -> (&'static str, Arc<dyn Snapshotter>) {
    if root.join(".git").exists() {
        ("git", Arc::new(GitSnapshotter::new()))
    } else {
        ("dir", Arc::new(DirSnapshotter::in_temp_dir()))
    }
}

async fn snapshot(dir: &Path) -> Result<Output, CliError> {
    let root = require_dir(dir)?;
    let (kind, snapshotter) = snapshotter_for(&root);
    let id = snapshotter.snapshot(&root).await.map_err(snapshot_error)?;
    Ok(Output { json: json!({ "id": id, "root": root, "kind": kind }), human: id.to_string(), ok: true })
}

async fn restore(dir: &Path, id: &str) -> Result<Output, CliError> {
    let root = require_dir(dir)?;
    let id = SnapshotId::new(id);
    let (kind, snapshotter) = snapshotter_for(&root);
    snapshotter.restore(&root, &id).await.map_err(snapshot_error)?;
    Ok(Output {
        json: json!({ "restored": id, "root": root, "kind": kind }),
        human: format!("restored {id}"),
        ok: true,
    })
}

async fn discard(dir: &Path, id: &str) -> Result<Output, CliError> {
    let root = require_dir(dir)?;
    let id = SnapshotId::new(id);
    let (kind, snapshotter) = snapshotter_for(&root);
    snapshotter.discard(&root, &id).await.map_err(snapshot_error)?;
    Ok(Output {
        json: json!({ "discarded": id, "root": root, "kind": kind }),
        human: format!("discarded {id}"),
        ok: true,
    })
}

/// One provider stack per spec (replay or record cassette, idle watchdog),
/// composed into a cascade tried in the order the specs were given.
fn provider_stack(specs: &[String], replay: Option<&Path>, record: Option<&Path>) -> Result<Cascade, CliError> {
    provider_stack_matching(specs, replay, record, ReplayMatch::Strict, None)
}

/// [`provider_stack`] with a replay matching mode, and the log its
/// sequential replay reports differences to.
fn provider_stack_matching(
    specs: &[String],
    replay: Option<&Path>,
    record: Option<&Path>,
    matching: ReplayMatch,
    mismatches: Option<ReplayMismatchLog>,
) -> Result<Cascade, CliError> {
    build_cascade(specs, replay, record, matching, mismatches, None)
}

/// The cascade of one stack per spec; with `member_retry`, each member
/// retries on its own provider.
fn build_cascade(
    specs: &[String],
    replay: Option<&Path>,
    record: Option<&Path>,
    matching: ReplayMatch,
    mismatches: Option<ReplayMismatchLog>,
    member_retry: Option<RetryPolicy>,
) -> Result<Cascade, CliError> {
    if replay.is_some() && record.is_some() {
        return Err(CliError::bad_input("--replay and --record cannot be used together"));
    }
    let specs: Vec<String> = if specs.is_empty() { vec![cli::DEFAULT_PROVIDER.to_owned()] } else { specs.to_vec() };
    let mut members: Vec<(Arc<dyn LlmProvider>, CascadeEntry)> = Vec::new();
    for text in &specs {
        let spec: ProviderSpec = text.parse().map_err(|e| CliError::bad_input(format!("provider `{text}`: {e}")))?;
        let base = build_provider(&spec).map_err(|e| CliError::bad_input(format!("provider `{text}`: {e}")))?;
        let mut stack = ProviderStack::new(base).idle_timeout(std::time::Duration::from_secs(300));
        if let Some(path) = replay {
            stack = stack.replay_with(path, matching);
            if let Some(log) = &mismatches {
                stack = stack.replay_mismatch_log(log.clone());
            }
        }
        if let Some(path) = record {
            stack = stack.record(path);
        }
        if let Some(policy) = &member_retry {
            stack = stack.retry(policy.clone());
        }
        let member = stack.build().map_err(|e| CliError::bad_input(format!("provider `{text}`: {e}")))?;
        members.push((member, CascadeEntry::new()));
    }
    Ok(Cascade::new(members))
}

/// An attempt of the cascade, as agentctl reports it.
fn attempt_json(attempts: &[CascadeAttempt], final_error: Option<&ProviderError>) -> Value {
    let last_failed = attempts.iter().rposition(|a| matches!(a.outcome, AttemptOutcome::Failed(_)));
    let rows: Vec<Value> = attempts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let (ok, class) = match &a.outcome {
                AttemptOutcome::Answered => (true, None),
                AttemptOutcome::Failed(kind) => (false, Some(kind.name().to_owned())),
                AttemptOutcome::SkippedCooling => (false, Some("skipped_cooling".to_owned())),
                AttemptOutcome::SkippedExhausted => (false, Some("skipped_exhausted".to_owned())),
                AttemptOutcome::SkippedContextWindow => (false, Some("skipped_context_window".to_owned())),
                _ => (false, Some("other".to_owned())),
            };
            let error = (Some(i) == last_failed).then(|| final_error.map(ToString::to_string)).flatten();
            json!({ "provider": a.provider, "ok": ok, "error_class": class, "error": error })
        })
        .collect();
    Value::Array(rows)
}

#[allow(clippy::too_many_arguments)]
/// The request of `ask`: the prompt with any images as content parts, and
/// the reasoning controls (`minimal`…`high`, or a token budget).
fn ask_request(prompt: &str, reasoning: Option<&str>, images: &[PathBuf]) -> Result<CompletionRequest, CliError> {
    let message = if images.is_empty() {
        Message::user(prompt)
    } else {
        let mut parts = vec![ContentPart::text(prompt)];
        for path in images {
            let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
            let media_type = match ext.as_deref() {
                Some("png") => "image/png",
                Some("jpg" | "jpeg") => "image/jpeg",
                Some("gif") => "image/gif",
                Some("webp") => "image/webp",
                _ => {
                    return Err(CliError::bad_input(format!(
                        "image {}: not a png, jpeg, gif or webp file name",
                        path.display()
                    )));
                }
            };
            let bytes =
                std::fs::read(path).map_err(|e| CliError::bad_input(format!("image {}: {e}", path.display())))?;
            parts.push(ContentPart::image_bytes(media_type, &bytes));
        }
        Message::with_parts(Role::User, parts)
    };
    let mut req = CompletionRequest::new(vec![message]);
    if let Some(text) = reasoning {
        let controls = match text.trim() {
            "minimal" => ReasoningRequest::effort(ReasoningEffort::Minimal),
            "low" => ReasoningRequest::effort(ReasoningEffort::Low),
            "medium" => ReasoningRequest::effort(ReasoningEffort::Medium),
            "high" => ReasoningRequest::effort(ReasoningEffort::High),
            other => ReasoningRequest::budget(other.parse().map_err(|_| {
                CliError::bad_input(format!(
                    "--reasoning {other:?}: expected minimal, low, medium, high or a token budget"
                ))
            })?),
        };
        req = req.with_reasoning(controls);
    }
    Ok(req)
}

async fn ask(
    specs: &[String],
    stream: bool,
    json_mode: bool,
    schema: Option<&Path>,
    replay: Option<&Path>,
    record: Option<&Path>,
    mut req: CompletionRequest,
) -> Result<Output, CliError> {
    // Each member retries transient failures (a 5xx, a 429) on its own provider before
    // the cascade moves on: `ask` has no `Retry` around the cascade (the loops do, and
    // a retry on both levels would multiply the attempts).
    let stack = build_cascade(specs, replay, record, ReplayMatch::Strict, None, Some(RetryPolicy::default()))?;
    let schema_value = match schema {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::bad_input(format!("schema {}: {e}", path.display())))?;
            let value: Value = serde_json::from_str(&text)
                .map_err(|e| CliError::bad_input(format!("schema {} is not JSON: {e}", path.display())))?;
            req = req.with_response_format("answer", value.clone());
            Some(value)
        }
        None => None,
    };
    // In human mode a streamed answer is printed as it arrives; --json prints one document at the end.
    let printed_live = stream && !json_mode;
    let (result, attempts) = if stream {
        let (opened, attempts) = stack.stream_with_attempts(req).await;
        let collected = match opened {
            Ok(events) => collect_stream(events, printed_live).await,
            Err(e) => Err(e),
        };
        (collected, attempts)
    } else {
        stack.complete_with_attempts(req).await
    };
    let completion = match result {
        Ok(c) => c,
        Err(err) => {
            let attempts = attempt_json(&attempts, Some(&err));
            let json = json!({ "provider": Value::Null, "content": Value::Null, "attempts": attempts, "error": err.to_string() });
            return Ok(Output { json, human: format!("every provider failed; last error: {err}"), ok: false });
        }
    };
    let attempts = attempt_json(&attempts, None);
    let mut ok = true;
    let mut parsed = Value::Null;
    let mut schema_error = Value::Null;
    if schema_value.is_some() {
        match serde_json::from_str::<Value>(completion.content.trim()) {
            Ok(v) => parsed = v,
            Err(e) => {
                ok = false;
                schema_error = json!(format!("answer is not JSON: {e}"));
            }
        }
    }
    let json = json!({
        "provider": completion.provider,
        "model": completion.model,
        "content": completion.content,
        "parsed": parsed,
        "schema_error": schema_error,
        "usage": completion.usage,
        "cost_usd": completion.cost_usd,
        "request_id": completion.request_id,
        "reasoning": completion.reasoning,
        "streamed": stream,
        "attempts": attempts,
    });
    let shown = if printed_live { String::new() } else { completion.content.clone() };
    let human = format!(
        "{}\n[{}; {} in / {} out tokens{}]",
        shown,
        completion.provider,
        completion.usage.input_tokens,
        completion.usage.output_tokens,
        completion.cost_usd.map(|c| format!("; ${c:.6}")).unwrap_or_default()
    );
    Ok(Output { json, human, ok })
}

#[allow(clippy::too_many_arguments)]
/// Copies a tree (`.git` included, `target` left out) for a repeated run.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if kind.is_dir() {
            if entry.file_name() != "target" {
                copy_tree(&src, &dst)?;
            }
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
        } else {
            std::fs::copy(&src, &dst)?;
        }
    }
    Ok(())
}

/// The options of `agentctl repair` beyond the workspace, goal and providers.
struct RepairRun {
    replay: Option<PathBuf>,
    record: Option<PathBuf>,
    max_attempts: u32,
    journal: Option<PathBuf>,
    tests: Vec<String>,
    memory: Option<PathBuf>,
    repeat: u32,
    mode: String,
    max_turns: u32,
    sandbox: SandboxPolicy,
    tool_calling: String,
    replay_match: String,
}

async fn repair(dir: &Path, goal: &str, specs: &[String], run: RepairRun) -> Result<Output, CliError> {
    let RepairRun {
        replay,
        record,
        max_attempts,
        journal,
        tests,
        memory,
        repeat,
        mode,
        max_turns,
        sandbox,
        tool_calling,
        replay_match,
    } = run;
    /// SIGINT and SIGTERM, watched while `agentctl repair` runs.
    struct Interrupts {
        int: tokio::signal::unix::Signal,
        term: tokio::signal::unix::Signal,
    }

    impl Interrupts {
        fn new() -> std::io::Result<Self> {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self { int: signal(SignalKind::interrupt())?, term: signal(SignalKind::terminate())? })
        }

        /// Runs `task`; `Err` names the signal that cancelled it (the run's
        /// future is dropped then, which spawns its restore).
        async fn run(
            &mut self,
            repair_loop: &RepairLoop,
            task: Task,
        ) -> Result<Result<agentkit::agent::RepairReport, agentkit::agent::LoopError>, &'static str> {
            tokio::select! {
                done = repair_loop.run(task) => Ok(done),
                _ = self.int.recv() => Err("SIGINT"),
                _ = self.term.recv() => Err("SIGTERM"),
            }
        }
    }

    /// The report of a run cancelled by `signal`, once its restore finished.
    async fn interrupted(signal: &str, repair_loop: &RepairLoop, task: &TaskId, root: &Path, journal: &Path) -> Output {
        let restores = repair_loop.wait_for_restores().await;
        let reason = if restores > 0 {
            format!("interrupted by {signal}; the workspace was restored to its snapshot")
        } else {
            format!("interrupted by {signal} before anything was changed")
        };
        let json = json!({
            "task": task.as_str(),
            "outcome": "interrupted",
            "verdict": { "verdict": "needs_human", "reason": reason },
            "signal": signal,
            "restored": restores > 0,
            "root": root,
            "journal": journal,
        });
        let human = format!("outcome: interrupted\nverdict: needs a human: {reason}\njournal: {}", journal.display());
        Output { json, human, ok: false }
    }

    let (replay, record) = (replay.as_deref(), record.as_deref());
    let root = require_dir(dir)?;
    if max_attempts == 0 {
        return Err(CliError::bad_input("--max-attempts must be at least 1"));
    }
    if max_turns == 0 {
        return Err(CliError::bad_input("--max-turns must be at least 1"));
    }
    let matching: ReplayMatch = replay_match.parse().map_err(|e| CliError::bad_input(format!("{e}")))?;
    let mismatches = ReplayMismatchLog::new();
    let stack = provider_stack_matching(specs, replay, record, matching, Some(mismatches.clone()))?;
    // Transient failures the cascade cannot route around (every provider cooling down) are retried.
    let provider: Arc<dyn LlmProvider> = Arc::new(Retry::new(stack, RetryPolicy::default()));
    let mode = if mode == "plan" { LoopMode::Plan } else { LoopMode::Tools };
    let tool_mode = if tool_calling == "json" { ToolMode::Json } else { ToolMode::Native };
    let task_id = TaskId::new(format!("task-{}", unix_ms_now()));
    let journal_path = journal
        .unwrap_or_else(|| std::env::temp_dir().join("agentkit-journals").join(format!("{}.jsonl", task_id.as_str())));
    let journal: Arc<dyn agentkit::core::Journal> =
        Arc::new(JsonlJournal::open(&journal_path).await.map_err(|e| CliError::bad_input(e.to_string()))?);
    // Each run is classified by the tool that ran: cargo, pytest, go, jest, node --test, …
    let classifier: Arc<dyn FailureClassifier> = Arc::new(AutoClassifier::new());
    let memory: Option<Arc<dyn agentkit::core::Memory>> =
        memory.map(|path| Arc::new(agentkit::agent::FileMemory::new(path)) as Arc<dyn agentkit::core::Memory>);
    let build_loop = |root: &Path| {
        let parts = RepairParts {
            provider: provider.clone(),
            oracle: Arc::new(default_oracle()),
            classifier: classifier.clone(),
            // The loop gives up after 3 test runs in a row end in a timeout, or after an hour of commands.
            executor: Arc::new(
                LimitedExecutor::new(ProcessExecutor::new().with_default_cwd(root.to_path_buf()))
                    .with_max_consecutive_timeouts(3)
                    .with_max_total_time(std::time::Duration::from_secs(3600)),
            ),
            snapshotter: snapshotter_for(root).1,
            editor: Arc::new(FileEditor::new()),
            journal: journal.clone(),
        };
        let config = RepairConfig::default()
            .with_max_attempts(max_attempts)
            .with_mode(mode)
            .with_session(SessionConfig::default().with_max_turns(max_turns).with_mode(tool_mode))
            .with_sandbox(sandbox.clone());
        let printer = progress::Printer::new(max_attempts, mode == LoopMode::Tools);
        let repair_loop =
            RepairLoop::new(parts).with_config(config).with_observer(Arc::new(move |event| printer.print(event)));
        // Failures reach the model grouped by root cause, with their enclosing functions, within a token budget.
        let repair_loop = repair_loop
            .with_context_renderer(Arc::new(RepairContextBuilder::new()))
            // The first prompt of a session maps the repository, the failing files first.
            .with_repo_map(Arc::new(RepoMap::new()));
        match &memory {
            Some(m) => repair_loop.with_memory(m.clone()),
            None => repair_loop,
        }
    };
    let loop_error = |e: agentkit::agent::LoopError| match e {
        agentkit::agent::LoopError::NoTestCommand { .. } => CliError::bad_input(e.to_string()),
        other => CliError::failed(other.to_string()),
    };
    // Repeated runs (determinism) start from copies of the workspace as it is now.
    let copies_dir = tempfile::tempdir().map_err(|e| CliError::failed(e.to_string()))?;
    let mut copies = Vec::new();
    for i in 2..=repeat.max(1) {
        let copy = copies_dir.path().join(format!("run-{i}"));
        copy_tree(&root, &copy).map_err(|e| CliError::failed(format!("copying the workspace: {e}")))?;
        copies.push(copy);
    }
    // SIGINT and SIGTERM cancel the run: its future is dropped, the loop's
    // restore guard restores the snapshot, and a report says so (exit 1).
    let mut signals = Interrupts::new().map_err(|e| CliError::failed(format!("cannot watch for signals: {e}")))?;
    let task = Task::new(task_id.clone(), root.clone(), goal).with_named_tests(tests.clone());
    let first = build_loop(&root);
    let report = match signals.run(&first, task).await {
        Ok(done) => done.map_err(loop_error)?,
        Err(signal) => return Ok(interrupted(signal, &first, &task_id, &root, &journal_path).await),
    };
    let mut digests = vec![agentkit::sandbox::tree_digest(&root).map_err(|e| CliError::failed(e.to_string()))?];
    for (i, copy) in copies.iter().enumerate() {
        let id = TaskId::new(format!("{}-run{}", task_id.as_str(), i + 2));
        let again = build_loop(copy);
        match signals.run(&again, Task::new(id.clone(), copy.clone(), goal).with_named_tests(tests.clone())).await {
            Ok(done) => done.map_err(loop_error)?,
            Err(signal) => return Ok(interrupted(signal, &again, &id, copy, &journal_path).await),
        };
        digests.push(agentkit::sandbox::tree_digest(copy).map_err(|e| CliError::failed(e.to_string()))?);
    }
    let ok = report.outcome == agentkit::agent::Outcome::Accepted;
    let mut doc = to_json(&report);
    if let Value::Object(map) = &mut doc {
        map.insert("journal".into(), json!(journal_path));
        map.insert("repairs".into(), json!(report.metrics.repairs));
        map.insert(
            "tokens".into(),
            json!({
                "input": report.metrics.usage.input_tokens,
                "output": report.metrics.usage.output_tokens,
                "cached": report.metrics.usage.cached_input_tokens,
                "total": report.metrics.usage.total(),
            }),
        );
        map.insert("cost_usd".into(), json!(report.metrics.cost_usd));
        map.insert("rolled_back".into(), json!(report.metrics.rolled_back));
        map.insert("mode".into(), json!(if mode == LoopMode::Plan { "plan" } else { "tools" }));
        map.insert("tool_calls".into(), json!(report.metrics.tool_calls));
        if replay.is_some() {
            let list: Vec<Value> = mismatches.mismatches().iter().map(to_json).collect();
            map.insert("replay_mismatches".into(), json!(list));
        }
        if repeat > 1 {
            map.insert(
                "determinism".into(),
                json!({ "runs": digests.len(), "share": agentkit::agent::determinism(&digests), "tree_digests": digests }),
            );
        }
    }
    let human = progress::summary(&report, &journal_path);
    Ok(Output { json: doc, human, ok })
}

/// Reads a stream to its end, printing text deltas as they arrive when asked.
async fn collect_stream(mut events: CompletionStream, print: bool) -> Result<Completion, ProviderError> {
    use futures::StreamExt;
    use std::io::Write as _;
    let mut bytes = 0usize;
    while let Some(event) = events.next().await {
        match event? {
            StreamEvent::Delta { text } => {
                bytes += text.len();
                if print {
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(text.as_bytes());
                    let _ = out.flush();
                }
            }
            StreamEvent::Done { completion } => return Ok(completion),
            _ => {}
        }
    }
    Err(ProviderError::new(
        ProviderErrorKind::Unparseable,
        agentkit::core::provider::ProviderId::new("stream"),
        format!("stream ended before its terminal event after {bytes} bytes"),
    ))
}
