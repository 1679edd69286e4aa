//! Spawn-and-wait overhead of `ProcessExecutor` against a bare
//! `tokio::process::Command::output()`, the tool a user would otherwise use,
//! measured in the same run on the same runtime: both run `true` and collect
//! its (empty) output.
//!
//! The executor does more per run: a process group, a parent-death signal
//! (which makes the standard library `fork` instead of `posix_spawn`), a clean
//! environment, a full-output log file, head-and-tail capture and the checks
//! that no process of the group is left. Its log files are deleted outside the
//! timed part.
//!
//! ```sh
//! cargo bench --bench executor
//! ```
//!
//! After criterion's figures, the bench prints the ratio of the medians of
//! 400 interleaved runs of each (`ratio executor/tokio`), for the default
//! executor, for one with the parent-death signal off, and for the full
//! sandbox a tool session gives the model's commands: `WorkspaceWrite` +
//! `NoNetwork`, required, in a git workspace (new session, cgroup, user or
//! mount and network namespaces with `.git` bound read-only, capabilities
//! dropped, seccomp, Landlock with the credential paths hidden, a private
//! HOME and TMPDIR).
#![allow(missing_docs)] // criterion's macros generate undocumented items

use agentkit::core::Executor;
use agentkit::core::exec::{CommandSpec, Enforcement, SandboxPolicy};
use agentkit::sandbox::ProcessExecutor;
use criterion::{Criterion, criterion_group, criterion_main};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

fn executor(logs: &std::path::Path) -> ProcessExecutor {
    ProcessExecutor::new().with_log_dir(logs.to_path_buf()).with_default_cwd(std::env::temp_dir())
}

/// The sandbox of a tool session's commands, required.
fn full_policy() -> SandboxPolicy {
    SandboxPolicy::WorkspaceWriteNoNetwork { enforcement: Enforcement::Required }
}

/// One executor run of `true` (under `policy`): its duration and its log (to
/// delete untimed).
fn run_executor_with(
    rt: &tokio::runtime::Runtime,
    exec: &ProcessExecutor,
    policy: SandboxPolicy,
) -> (Duration, Option<PathBuf>) {
    let start = Instant::now();
    let out = rt.block_on(exec.run(CommandSpec::new("true").sandbox(policy))).expect("runs");
    let took = start.elapsed();
    assert_eq!(out.exit_code, Some(0));
    assert!(out.sandbox.enforced, "{:?}", out.sandbox);
    (took, out.log_path)
}

/// One executor run of `true`: its duration and its log (to delete untimed).
fn run_executor(rt: &tokio::runtime::Runtime, exec: &ProcessExecutor) -> (Duration, Option<PathBuf>) {
    let start = Instant::now();
    let out = rt.block_on(exec.run(CommandSpec::new("true"))).expect("runs");
    let took = start.elapsed();
    assert_eq!(out.exit_code, Some(0));
    (took, out.log_path)
}

fn run_tokio(rt: &tokio::runtime::Runtime) -> Duration {
    let start = Instant::now();
    let out = rt
        .block_on(async { tokio::process::Command::new("true").current_dir(std::env::temp_dir()).output().await })
        .expect("runs");
    let took = start.elapsed();
    assert!(out.status.success());
    took
}

fn spawn_wait(c: &mut Criterion) {
    let rt = runtime();
    let logs = tempfile::tempdir().expect("tempdir");
    let exec = executor(logs.path());
    let exec_no_pdeath = executor(logs.path()).with_parent_death_signal(false);
    let workspace = tempfile::tempdir().expect("tempdir");
    let init = std::process::Command::new("git").args(["init", "-q"]).current_dir(workspace.path()).status();
    assert!(init.expect("git").success());
    let exec_full = executor(logs.path()).with_default_cwd(workspace.path().to_path_buf());
    let mut group = c.benchmark_group("spawn_wait_true");
    group.sample_size(50).measurement_time(Duration::from_secs(8));
    group.bench_function("process_executor", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (took, log) = run_executor(&rt, &exec);
                total += took;
                if let Some(log) = log {
                    let _ = std::fs::remove_file(log);
                }
            }
            total
        });
    });
    group.bench_function("process_executor_no_pdeathsig", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (took, log) = run_executor(&rt, &exec_no_pdeath);
                total += took;
                if let Some(log) = log {
                    let _ = std::fs::remove_file(log);
                }
            }
            total
        });
    });
    group.bench_function("process_executor_full_policy", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (took, log) = run_executor_with(&rt, &exec_full, full_policy());
                total += took;
                if let Some(log) = log {
                    let _ = std::fs::remove_file(log);
                }
            }
            total
        });
    });
    group.bench_function("tokio_command_output", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run_tokio(&rt)).sum());
    });
    group.finish();

    // The headline ratio: medians of interleaved runs, so drift in machine
    // load hits all sides alike.
    let (mut ours, mut ours_no_pdeath, mut ours_full, mut theirs) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..400 {
        let (took, log) = run_executor_with(&rt, &exec_full, full_policy());
        ours_full.push(took);
        if let Some(log) = log {
            let _ = std::fs::remove_file(log);
        }
        for (exec, samples) in [(&exec, &mut ours), (&exec_no_pdeath, &mut ours_no_pdeath)] {
            let (took, log) = run_executor(&rt, exec);
            samples.push(took);
            if let Some(log) = log {
                let _ = std::fs::remove_file(log);
            }
        }
        theirs.push(run_tokio(&rt));
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (a, a2, a3, b) = (median(&mut ours), median(&mut ours_no_pdeath), median(&mut ours_full), median(&mut theirs));
    println!("spawn+wait of `true`, medians of 400 interleaved runs:");
    println!("  tokio::process::Command::output      {b:?}");
    println!(
        "  ProcessExecutor (default)            {a:?}  ratio executor/tokio {:.3}",
        a.as_secs_f64() / b.as_secs_f64()
    );
    println!(
        "  ProcessExecutor (no parent-death sig) {a2:?}  ratio executor/tokio {:.3}",
        a2.as_secs_f64() / b.as_secs_f64()
    );
    println!(
        "  ProcessExecutor (full sandbox policy) {a3:?}  ratio executor/tokio {:.3}",
        a3.as_secs_f64() / b.as_secs_f64()
    );
}

criterion_group!(benches, spawn_wait);
criterion_main!(benches);
