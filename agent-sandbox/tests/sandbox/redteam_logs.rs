//! Red team of the full-output logs (issue 19): a hostile or runaway command
//! cannot fill the disk through the log, the log directory is rotated, and a
//! log directory a command could have tampered with (a symbolic link, another
//! user's directory) is never written.

use agent_core::Executor;
use agent_core::exec::{CommandSpec, OutputCaps, RunOutput, TimeoutKind};
use agent_sandbox::ProcessExecutor;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

const MIB: u64 = 1024 * 1024;

fn executor(logs: &Path, cwd: &Path) -> ProcessExecutor {
    ProcessExecutor::new()
        .with_log_dir(logs.to_path_buf())
        .with_default_cwd(cwd.to_path_buf())
        .with_kill_grace(Duration::from_millis(500))
}

fn sh(script: &str) -> CommandSpec {
    CommandSpec::new("sh").args(["-c", script])
}

fn small_caps() -> OutputCaps {
    OutputCaps { head_bytes: 4096, tail_bytes: 4096 }
}

/// Every entry of `dir`, by name.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// The run logs of `dir`: regular files named `run-*.log`, with their sizes.
fn run_logs(dir: &Path) -> Vec<(PathBuf, u64)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("run-") && name.ends_with(".log")
        })
        .filter_map(|p| {
            let meta = std::fs::symlink_metadata(&p).unwrap();
            meta.is_file().then_some((p, meta.len()))
        })
        .collect()
}

/// The markers of a capped log: (offset, bytes omitted, stream).
fn markers(log: &[u8]) -> Vec<(usize, u64, String)> {
    const PREFIX: &[u8] = b"\n[agentkit log cap: ";
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(i) = log[at..].windows(PREFIX.len()).position(|w| w == PREFIX) {
        let start = at + i;
        let end = start + log[start + 1..].iter().position(|&b| b == b'\n').unwrap() + 2;
        let line = std::str::from_utf8(&log[start..end]).unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        // "[agentkit", "log", "cap:", N, "bytes", "of", STREAM, "omitted]"
        found.push((start, words[3].parse().unwrap(), words[6].to_owned()));
        at = end;
    }
    found
}

fn marker_len(omitted: u64, stream: &str) -> usize {
    format!("\n[agentkit log cap: {omitted} bytes of {stream} omitted]\n").len()
}

#[tokio::test]
async fn a_command_printing_without_end_leaves_a_log_within_the_cap_marked_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let cap = MIB;
    let exec = executor(dir.path(), dir.path()).with_log_cap(cap);
    let spec =
        CommandSpec::new("yes").args(["agentkit"]).output_caps(small_caps()).wall_timeout(Duration::from_secs(1));
    let out = exec.run(spec).await.unwrap();

    assert_eq!(out.timed_out, Some(TimeoutKind::Wall));
    assert!(out.stdout.total_bytes > cap, "the command printed {} bytes only", out.stdout.total_bytes);
    assert!(out.log_truncated, "RunOutput says the log is truncated");
    let log = std::fs::read(out.log_path.as_ref().expect("a log")).unwrap();
    assert!(log.len() as u64 <= cap, "log of {} bytes over the cap of {cap}", log.len());
    // Head, one marker naming what was left out, tail: nothing else.
    assert!(log.starts_with(out.stdout.head.as_bytes()), "the log starts with the stream's head");
    assert!(log.ends_with(out.stdout.tail.as_bytes()), "the log ends with the stream's last bytes");
    let found = markers(&log);
    assert_eq!(found.len(), 1, "one marker: {found:?}");
    let (_, omitted, stream) = &found[0];
    assert_eq!(stream, "stdout");
    assert_eq!(
        log.len() as u64 - marker_len(*omitted, stream) as u64 + omitted,
        out.stdout.total_bytes,
        "kept plus omitted bytes make the whole stream"
    );
}

#[tokio::test]
async fn a_flood_on_stdout_keeps_a_short_stderr_whole_after_the_capped_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let cap = MIB;
    let exec = executor(dir.path(), dir.path()).with_log_cap(cap);
    let spec = sh(&format!("head -c {} /dev/zero; printf 'the end' >&2", 64 * MIB)).output_caps(small_caps());
    let out = exec.run(spec).await.unwrap();

    assert_eq!(out.exit_code, Some(0));
    assert_eq!(out.stdout.total_bytes, 64 * MIB, "the pipe was drained to its end");
    assert!(out.log_truncated);
    let log = std::fs::read(out.log_path.as_ref().expect("a log")).unwrap();
    assert!(log.len() as u64 <= cap, "log of {} bytes over the cap of {cap}", log.len());
    assert!(log.ends_with(b"the end"), "stderr, whole, closes the log");
    let found = markers(&log);
    assert_eq!(found.iter().map(|m| m.2.as_str()).collect::<Vec<_>>(), ["stdout"]);
    let (at, omitted, _) = found[0];
    let marker = at..at + marker_len(omitted, "stdout");
    let stdout_section = &log[..log.len() - "the end".len()];
    assert!(
        stdout_section.iter().enumerate().all(|(i, &b)| b == 0 || marker.contains(&i)),
        "stdout's bytes and the marker only"
    );
    assert_eq!((stdout_section.len() - marker.len()) as u64 + omitted, 64 * MIB, "kept plus omitted make stdout");
}

#[tokio::test]
async fn both_streams_flooding_keep_each_streams_head_and_tail_within_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let cap = MIB;
    let exec = executor(dir.path(), dir.path()).with_log_cap(cap);
    let spec = sh("yes out & yes err >&2 & wait").output_caps(small_caps()).wall_timeout(Duration::from_secs(1));
    let out = exec.run(spec).await.unwrap();

    assert!(out.stdout.total_bytes + out.stderr.total_bytes > 2 * cap);
    assert!(out.log_truncated);
    let log = std::fs::read(out.log_path.as_ref().expect("a log")).unwrap();
    assert!(log.len() as u64 <= cap, "log of {} bytes over the cap of {cap}", log.len());
    let found = markers(&log);
    let streams: Vec<&str> = found.iter().map(|m| m.2.as_str()).collect();
    assert_eq!(streams, ["stdout", "stderr"], "stdout's section, then stderr's");
    assert!(log.ends_with(out.stderr.tail.as_bytes()), "the log ends with stderr's last bytes");
    // Stderr's section starts with its head ("err\n"…) or, when the head
    // budget was spent before stderr's first byte, with its marker.
    let after_marker = found[0].0 + marker_len(found[0].1, "stdout");
    let stderr_start = log[after_marker..].iter().position(|&b| b == b'e').map_or(found[1].0, |i| after_marker + i);
    let stdout_section = &log[..stderr_start.min(found[1].0)];
    assert!(stdout_section.starts_with(out.stdout.head.as_bytes()), "stdout's section starts with its head");
    assert!(stdout_section.ends_with(out.stdout.tail.as_bytes()), "stdout's section ends with its last bytes");
}

#[tokio::test]
async fn a_log_dir_replaced_by_a_symlink_is_not_followed_and_the_run_keeps_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("agentkit-logs");
    let exec = executor(&logs, dir.path());
    let first = exec.run(sh("echo before")).await.unwrap();
    assert!(first.log_path.expect("a log in the real directory").exists());
    // What a command able to write the temporary directory could do between runs.
    std::fs::rename(&logs, dir.path().join("moved-away")).unwrap();
    let target = dir.path().join("elsewhere");
    std::fs::create_dir(&target).unwrap();
    std::os::unix::fs::symlink(&target, &logs).unwrap();

    let out = exec.run(sh("echo hello; echo oops >&2")).await.unwrap();

    assert_eq!(out.exit_code, Some(0));
    assert_eq!(out.stdout.head, "hello\n");
    assert_eq!(out.stderr.head, "oops\n");
    assert_eq!(out.log_path, None, "no log when the directory is refused");
    assert!(entries(&target).is_empty(), "written through the link: {:?}", entries(&target));
    assert!(std::fs::symlink_metadata(&logs).unwrap().file_type().is_symlink(), "the link is left as it was");
}

#[tokio::test]
async fn a_log_dir_owned_by_another_user_is_refused_and_the_run_keeps_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("foreign-logs");
    std::fs::create_dir(&logs).unwrap();
    std::os::unix::fs::chown(&logs, Some(65534), Some(65534)).unwrap();
    let out = executor(&logs, dir.path()).run(sh("echo hello; echo oops >&2")).await.unwrap();

    assert_eq!(out.exit_code, Some(0));
    assert_eq!((out.stdout.head.as_str(), out.stderr.head.as_str()), ("hello\n", "oops\n"));
    assert_eq!(out.log_path, None, "no log in another user's directory");
    assert!(entries(&logs).is_empty(), "written in another user's directory: {:?}", entries(&logs));
}

#[tokio::test]
async fn a_created_log_dir_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("new-logs");
    let out = executor(&logs, dir.path()).run(sh("echo hello")).await.unwrap();

    let mode = std::fs::metadata(&logs).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "log directory mode {mode:o}");
    let log_mode = std::fs::metadata(out.log_path.unwrap()).unwrap().permissions().mode() & 0o777;
    assert_eq!(log_mode, 0o600, "log file mode {log_mode:o}");
}

/// Plants in `logs` what a sweep must leave alone: a file of another name, a
/// look-alike name, a directory and a symbolic link named like run logs (the
/// link pointing at a file outside). Returns the outside file.
fn plant_decoys(logs: &Path, outside: &Path) -> PathBuf {
    let victim = outside.join("precious.txt");
    std::fs::write(&victim, vec![b'p'; 256 * 1024]).unwrap();
    std::fs::write(logs.join("notes.txt"), vec![b'n'; 256 * 1024]).unwrap();
    std::fs::write(logs.join("run-abcdef.log.bak"), b"backup").unwrap();
    std::fs::create_dir(logs.join("run-dir0000.log")).unwrap();
    std::fs::write(logs.join("run-dir0000.log").join("inner"), b"inner").unwrap();
    std::os::unix::fs::symlink(&victim, logs.join("run-link0000.log")).unwrap();
    victim
}

fn assert_decoys_intact(logs: &Path, victim: &Path) {
    assert_eq!(std::fs::read(victim).unwrap(), vec![b'p'; 256 * 1024], "the link's target is untouched");
    assert!(std::fs::symlink_metadata(logs.join("run-link0000.log")).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read(logs.join("notes.txt")).unwrap().len(), 256 * 1024);
    assert_eq!(std::fs::read(logs.join("run-abcdef.log.bak")).unwrap(), b"backup");
    assert_eq!(std::fs::read(logs.join("run-dir0000.log").join("inner")).unwrap(), b"inner");
}

#[tokio::test]
async fn rotation_keeps_the_log_dir_within_its_budget_and_the_newest_logs_survive() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    let victim = plant_decoys(&logs, &outside);
    let budget = 64 * 1024;
    let exec = executor(&logs, dir.path()).with_log_dir_budget(budget);

    let mut paths = Vec::new();
    for _ in 0..30 {
        let out = exec.run(sh("head -c 10000 /dev/zero")).await.unwrap();
        paths.push(out.log_path.expect("a log"));
        let total: u64 = run_logs(&logs).iter().map(|(_, len)| len).sum();
        assert!(total <= budget, "{total} bytes of run logs after {} runs, budget {budget}", paths.len());
    }

    let survivors: Vec<bool> = paths.iter().map(|p| p.exists()).collect();
    assert!(survivors.iter().filter(|&&s| !s).count() > 0, "rotation deleted old logs");
    let first_kept = survivors.iter().position(|&s| s).unwrap();
    assert!(survivors[first_kept..].iter().all(|&s| s), "the survivors are the newest logs: {survivors:?}");
    assert!(paths.len() - first_kept >= 4, "three quarters of the budget hold four logs: {survivors:?}");
    assert_decoys_intact(&logs, &victim);
}

#[tokio::test]
async fn rotation_keeps_at_most_the_file_limit_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    let victim = plant_decoys(&logs, &outside);
    let exec = executor(&logs, dir.path()).with_log_max_files(8);

    let mut paths = Vec::new();
    for i in 0..20 {
        paths.push(exec.run(sh(&format!("echo {i}"))).await.unwrap().log_path.expect("a log"));
        assert!(run_logs(&logs).len() <= 8, "{} run logs after {} runs", run_logs(&logs).len(), i + 1);
    }
    let survivors: Vec<bool> = paths.iter().map(|p| p.exists()).collect();
    let first_kept = survivors.iter().position(|&s| s).unwrap();
    assert!(first_kept > 0 && survivors[first_kept..].iter().all(|&s| s), "newest survive: {survivors:?}");
    assert_decoys_intact(&logs, &victim);
}

#[tokio::test]
async fn a_run_log_older_than_the_age_limit_is_deleted_at_the_first_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let old = logs.join("run-old0000.log");
    let recent = logs.join("run-new0000.log");
    for path in [&old, &recent] {
        std::fs::write(path, b"earlier run\n").unwrap();
    }
    let month_ago = SystemTime::now() - Duration::from_secs(30 * 24 * 3600);
    std::fs::File::options().write(true).open(&old).unwrap().set_modified(month_ago).unwrap();
    let exec = executor(&logs, dir.path()).with_log_max_age(Duration::from_secs(24 * 3600));

    let out = exec.run(sh("echo now")).await.unwrap();

    assert!(!old.exists(), "a month-old log outlived a one-day age limit");
    assert!(recent.exists(), "a recent log was deleted");
    assert!(out.log_path.unwrap().exists());
}

#[test]
fn run_output_json_without_log_truncated_still_parses_and_an_untruncated_log_is_not_serialised() {
    let run = RunOutput::from_text("true", 0, "", "");
    let json = serde_json::to_value(&run).unwrap();
    assert!(json.get("log_truncated").is_none(), "{json}");
    let back: RunOutput = serde_json::from_value(json).unwrap();
    assert!(!back.log_truncated);
}
