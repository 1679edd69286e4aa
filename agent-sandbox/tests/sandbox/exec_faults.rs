//! `ProcessExecutor` under faults: a fork of 50 children, a 1 GiB flood, the
//! host dying under a running child.

use crate::common::{alive, gone_within, read_pid};
use agent_core::Executor;
use agent_core::exec::{CommandSpec, OutputCaps, TimeoutKind};
use agent_sandbox::ProcessExecutor;
use std::path::Path;
use std::time::{Duration, Instant};

fn executor(logs: &Path) -> ProcessExecutor {
    ProcessExecutor::new()
        .with_log_dir(logs.to_path_buf())
        .with_default_cwd(logs.to_path_buf())
        .with_kill_grace(Duration::from_millis(500))
}

fn sh(script: &str) -> CommandSpec {
    CommandSpec::new("sh").args(["-c", script])
}

/// Pids written one a line by the children of a shell, waiting until `n` are there.
fn read_pids(file: &Path, n: usize) -> Vec<i32> {
    let start = Instant::now();
    loop {
        let pids: Vec<i32> =
            std::fs::read_to_string(file).unwrap_or_default().lines().filter_map(|l| l.trim().parse().ok()).collect();
        if pids.len() >= n || start.elapsed() > Duration::from_secs(10) {
            return pids;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Live (non-zombie) processes whose process group is `pgid`, from `/proc`.
fn live_group_members(pgid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        let Some((_, rest)) = stat.rsplit_once(')') else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(2).and_then(|f| f.parse::<i32>().ok()) == Some(pgid) && !matches!(fields[0], "Z" | "X") {
            out.push(pid);
        }
    }
    out
}

#[tokio::test]
async fn a_wall_timeout_ends_all_fifty_forked_children() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let shell = dir.path().join("shell");
    let script = format!(
        "echo $$ > '{shell}'; for i in $(seq 50); do sleep 300 & echo $! >> '{pids}'; done; wait",
        shell = shell.display(),
        pids = pids.display()
    );
    let out = executor(dir.path()).run(sh(&script).wall_timeout(Duration::from_secs(2))).await.unwrap();

    assert_eq!(out.timed_out, Some(TimeoutKind::Wall));
    let children = read_pids(&pids, 50);
    assert_eq!(children.len(), 50, "the shell started 50 children");
    let survivors: Vec<i32> = children.iter().copied().filter(|&p| !gone_within(p, Duration::from_secs(5))).collect();
    assert!(survivors.is_empty(), "children outlived the timeout: {survivors:?}");
    let pgid = read_pid(&shell);
    assert!(live_group_members(pgid).is_empty(), "the process group {pgid} still has live members");
    assert!(out.duration_ms < 30_000, "{} ms", out.duration_ms);
}

#[tokio::test]
async fn a_one_gib_flood_is_counted_exactly_and_kept_within_the_caps() {
    const GIB: u64 = 1 << 30;
    let dir = tempfile::tempdir().unwrap();
    let caps = OutputCaps { head_bytes: 4096, tail_bytes: 8192 };
    let spec = sh(&format!("head -c {GIB} /dev/zero; printf end >&2")).output_caps(caps);
    let out = executor(dir.path()).run(spec).await.unwrap();
    let log = out.log_path.clone().expect("a log");
    let log_len = std::fs::metadata(&log).map(|m| m.len());
    let log_end = std::fs::read(&log).map(|b| b.ends_with(b"end"));
    std::fs::remove_file(&log).unwrap();

    assert_eq!(out.exit_code, Some(0));
    assert_eq!(out.stdout.total_bytes, GIB);
    assert!(out.stdout.truncated);
    assert_eq!(out.stdout.head.len(), 4096);
    assert_eq!(out.stdout.tail.len(), 8192);
    assert!(out.stdout.head.bytes().chain(out.stdout.tail.bytes()).all(|b| b == 0));
    assert_eq!(out.stderr.head, "end");
    // The log is capped (64 MiB by default): stdout's head and tail, then stderr whole.
    assert!(out.log_truncated);
    assert!(log_len.unwrap() <= agent_sandbox::DEFAULT_LOG_CAP, "the log stays within its cap");
    assert!(log_end.unwrap(), "stderr closes the log");
}

#[tokio::test]
async fn invalid_utf8_split_across_reads_is_decoded_lossily_and_counted_exactly() {
    let dir = tempfile::tempdir().unwrap();
    // Valid text, a lone continuation byte, a truncated 3-byte sequence, and
    // valid multi-byte text, flushed in separate writes.
    let script = r"printf 'caf\303\251 '; sleep 0.1; printf '\200x\342\202'; sleep 0.1; printf ' \342\202\254'";
    let out = executor(dir.path()).run(sh(script)).await.unwrap();
    assert_eq!(out.exit_code, Some(0));
    assert_eq!(out.stdout.total_bytes, 14);
    assert_eq!(out.stdout.head, "café \u{FFFD}x\u{FFFD} €");
    let log = std::fs::read(out.log_path.unwrap()).unwrap();
    assert_eq!(log, b"caf\xc3\xa9 \x80x\xe2\x82 \xe2\x82\xac");
}

const PDEATH_CHILD: &str = "AGENTKIT_TEST_PDEATH_CHILD";
const PDEATH_OFF: &str = "AGENTKIT_TEST_PDEATH_OFF";

/// Runs in the helper process: starts a long child through the executor and
/// writes its pid where the test reads it. The test then kills this process.
async fn pdeath_helper(pidfile: &Path, parent_death_signal: bool) {
    let logs = pidfile.parent().unwrap();
    let exec = executor(logs).with_parent_death_signal(parent_death_signal);
    let script = format!("echo $$ > '{}'; exec sleep 300", pidfile.display());
    let _ = exec.run(sh(&script)).await;
}

/// Starts this test binary again as a helper that runs `sleep` through the
/// executor, SIGKILLs the helper, and returns the pid of its child.
fn kill_helper_and_get_its_child(test_name: &str, parent_death_signal: bool) -> i32 {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("child.pid");
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test_name, "--nocapture"]).env(PDEATH_CHILD, &pidfile);
    if !parent_death_signal {
        cmd.env(PDEATH_OFF, "1");
    }
    let mut helper = cmd.stdout(std::process::Stdio::null()).spawn().unwrap();
    let child = read_pid(&pidfile);
    assert!(alive(child), "the helper's child runs");
    helper.kill().unwrap(); // SIGKILL: no destructor, no kill_on_drop runs.
    helper.wait().unwrap();
    child
}

fn helper_mode() -> Option<(std::path::PathBuf, bool)> {
    let file = std::env::var_os(PDEATH_CHILD)?;
    Some((file.into(), std::env::var_os(PDEATH_OFF).is_none()))
}

#[test]
fn a_child_dies_with_its_host_process() {
    if let Some((pidfile, on)) = helper_mode() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(pdeath_helper(&pidfile, on));
        return;
    }
    let child = kill_helper_and_get_its_child("exec_faults::a_child_dies_with_its_host_process", true);
    assert!(gone_within(child, Duration::from_secs(5)), "child {child} outlived its SIGKILLed host");
}

#[test]
fn without_the_parent_death_signal_a_child_outlives_its_killed_host() {
    // The control for the test above: what PDEATHSIG prevents does happen without it.
    if let Some((pidfile, on)) = helper_mode() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(pdeath_helper(&pidfile, on));
        return;
    }
    let child = kill_helper_and_get_its_child(
        "exec_faults::without_the_parent_death_signal_a_child_outlives_its_killed_host",
        false,
    );
    std::thread::sleep(Duration::from_millis(500));
    let survived = alive(child);
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child), nix::sys::signal::Signal::SIGKILL);
    assert!(survived, "child {child} died without the parent-death signal");
}
