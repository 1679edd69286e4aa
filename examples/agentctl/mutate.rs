//! `agentctl mutate DIR [--in-diff REV] [--jobs N] [--json] [--progress]`: mutation
//! testing through agent-mutants' `MutationRunner`, with agent-sandbox's
//! `ProcessExecutor` and a `DirSnapshotter` for the job trees.
//!
//! `--json` prints the `MutationReport` (per mutant: file, line, operator,
//! original, replacement, outcome, duration_ms, cached; the counts, score,
//! baseline and timeout). Human output is the summary and every missed
//! mutant as a diff. Exit codes: 0 when no mutant was missed, 1 when some
//! were missed, when the baseline tests fail (no score is given then) or a
//! tool could not run, 2 on bad input (not a directory, no known project,
//! a revision git does not know, a bad duration).

use crate::cli::parse_duration;
use crate::{CliError, Output, require_dir, to_json};
use agentkit::mutants::{
    MutantOutcome, MutateError, MutationConfig, MutationReport, MutationRunner, ProgressObserver, default_cache_dir,
};
use agentkit::sandbox::{DirSnapshotter, ProcessExecutor};
use clap::Args;
use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Arguments of `agentctl mutate`.
#[derive(Args, Debug)]
pub(crate) struct MutateArgs {
    /// The workspace (a Rust, Go, Python or Node/TypeScript project).
    pub(crate) dir: PathBuf,
    /// Only lines changed since this git revision (tests changed in it included).
    #[arg(long)]
    pub(crate) in_diff: Option<String>,
    /// Parallel jobs (default: one per core, at most 4).
    #[arg(long)]
    pub(crate) jobs: Option<usize>,
    /// Where the results cache, job trees and build caches live (default: under the temp dir, per workspace).
    #[arg(long)]
    pub(crate) cache_dir: Option<PathBuf>,
    /// Lower bound of the per-mutant test timeout (`10s` by default).
    #[arg(long)]
    pub(crate) min_timeout: Option<String>,
    /// Print one JSON document.
    #[arg(long)]
    pub(crate) json: bool,
    /// Print a progress line to stderr after every mutant (done of total, caught and
    /// missed so far, time left); on by default when stderr is a terminal.
    #[arg(long)]
    pub(crate) progress: bool,
}

/// Runs `agentctl mutate`.
pub(crate) async fn mutate(args: MutateArgs) -> Result<Output, CliError> {
    let root = require_dir(&args.dir)?;
    let mut config = MutationConfig::default().jobs(args.jobs.unwrap_or(0));
    if let Some(rev) = &args.in_diff {
        config = config.in_diff(rev.clone());
    }
    if let Some(text) = &args.min_timeout {
        config = config.min_timeout(parse_duration(text).map_err(CliError::bad_input)?);
    }
    if args.progress || std::io::stderr().is_terminal() {
        let terminal = std::io::stderr().is_terminal();
        config = config.progress(ProgressObserver::new(move |p| {
            // A terminal gets one line rewritten in place; a log gets a line per mutant.
            if terminal {
                eprint!("\r\x1b[2K{p}")
            } else {
                eprintln!("{p}")
            }
            if terminal && p.done == p.total {
                eprintln!();
            }
        }));
    }
    let cache = args.cache_dir.clone().unwrap_or_else(|| default_cache_dir(&root));
    config = config.cache_dir(cache.clone());
    let runner =
        MutationRunner::new(Arc::new(ProcessExecutor::new()), Arc::new(DirSnapshotter::new(cache.join("snapshots"))));
    let report = runner.run(&root, &config).await.map_err(|e| match e {
        MutateError::UnsupportedProject { .. } | MutateError::DiffFailed { .. } => CliError::bad_input(e.to_string()),
        other => CliError::failed(other.to_string()),
    })?;
    let human = human(&root, &report);
    Ok(Output { json: to_json(&report), human, ok: report.missed == 0 })
}

/// The summary line, then every missed mutant as a diff.
fn human(root: &Path, report: &MutationReport) -> String {
    let score = report.score.map_or_else(|| "no score".to_owned(), |s| format!("score {:.1}%", s * 100.0));
    let cached = report.mutants.iter().filter(|r| r.cached).count();
    let mut out = format!(
        "{} mutants: {} caught, {} missed, {} unviable, {} timeout; {score}\n\
         {} from cache; baseline {} ms, timeout {} ms, {} jobs, {} ms in all\n",
        report.mutants.len(),
        report.caught,
        report.missed,
        report.unviable,
        report.timeout,
        cached,
        report.baseline_ms,
        report.timeout_ms,
        report.jobs,
        report.wall_ms
    );
    let missed: Vec<_> = report.mutants.iter().filter(|r| r.outcome == MutantOutcome::Missed).collect();
    if !missed.is_empty() {
        out.push_str("\nmissed mutants:\n");
    }
    for r in missed {
        match std::fs::read_to_string(root.join(&r.mutant.file)) {
            Ok(source) if r.mutant.byte_end <= source.len() => out.push_str(&r.mutant.diff(&source)),
            _ => {
                let m = &r.mutant;
                let _ = writeln!(
                    out,
                    "{}:{} {}: `{}` -> `{}`",
                    m.file,
                    m.line,
                    m.operator.name(),
                    m.original,
                    m.replacement
                );
            }
        }
    }
    out
}
