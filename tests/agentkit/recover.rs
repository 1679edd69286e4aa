//! `agentctl recover`: a real `agentctl repair` SIGKILLed at points of its
//! run, then recovered, leaves the user's workspace byte for byte as it was:
//! tree, index, HEAD, refs, stash list and status.

use crate::support::{agentctl, fixture, git_as_user as git, manifest, repo};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

const ROMAN_GOAL: &str = "Make to_roman use subtractive notation so that all tests pass.";

/// The hopeless-roman fixture with, beside setup.sh's uncommitted work, a
/// second branch, tags, a remote-tracking branch with its symbolic HEAD and
/// a stash entry.
fn workspace() -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, work) = fixture("hopeless-roman");
    git(&work, &["branch", "feature"]);
    git(&work, &["tag", "v0"]);
    git(&work, &["tag", "-a", "v0-annotated", "-m", "release"]);
    git(&work, &["update-ref", "refs/remotes/origin/main", "HEAD"]);
    git(&work, &["symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main"]);
    git(&work, &["stash", "push", "-q", "-m", "parked", "--", "NOTES.md"]);
    let notes = work.join("NOTES.md");
    let mut text = std::fs::read_to_string(&notes).unwrap();
    text.push_str("- another line the user was writing\n");
    std::fs::write(&notes, text).unwrap();
    (dir, work)
}

/// [`manifest`] plus what it leaves out: HEAD's file (symbolic or not) and
/// the stash list with its reflog bytes.
fn full_manifest(work: &Path) -> String {
    let head = std::fs::read_to_string(work.join(".git/HEAD")).unwrap();
    let stash = git(work, &["stash", "list", "--format=%H %gs"]);
    let log = std::fs::read(work.join(".git/logs/refs/stash")).unwrap_or_default();
    format!("{}\nHEAD file {head}\nstash {stash}\nstash log {log:?}", manifest(work))
}

fn repair(work: &Path) -> Child {
    agentctl()
        .args(["repair", work.to_str().unwrap(), "--mode", "plan", "--goal", ROMAN_GOAL])
        .args(["--provider", "openai:gpt-4.1-mini", "--replay"])
        .arg(repo().join("examples/cassettes/hopeless-roman.json"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Reads the run's progress lines until one contains `needle`; returns the
/// lines read and whether it was found (the run may end first).
fn wait_for_line(child: &mut Child, needle: &str) -> (Vec<String>, bool) {
    let stderr = child.stderr.take().unwrap();
    let mut lines = Vec::new();
    let mut reader = BufReader::new(stderr);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            return (lines, false);
        }
        let found = line.contains(needle);
        lines.push(line);
        if found {
            // Keep the pipe open: a run writing to a closed pipe would die of SIGPIPE, not of our kill.
            std::mem::forget(reader);
            return (lines, true);
        }
    }
}

fn recover(work: &Path) -> (Option<i32>, Value) {
    let out = agentctl().args(["recover", work.to_str().unwrap(), "--json"]).output().unwrap();
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("recover printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stderr));
    });
    (out.status.code(), doc)
}

/// Where a hopeless-roman run is killed: when a progress line appears,
/// then after a pause (in milliseconds). In order: the snapshot, the
/// baseline test run, the first plan being applied, its edits on disk, its
/// test run (started, then under way), the second attempt and its test run,
/// and the rollback (after which the run discards its snapshot).
const CRASH_POINTS: &[(&str, u64)] = &[
    ("snapshot ", 0),
    ("snapshot ", 150),
    ("applying the plan", 0),
    ("applied: ", 0),
    ("applied: ", 300),
    ("tested (attempt 1)", 0),
    ("repair 1 of", 0),
    ("tested (attempt 2)", 0),
    ("rolled back to snapshot", 0),
];

/// One crash: `signal` (`KILL` or `INT`) sent `pause_ms` after the progress
/// line `needle`; then the run's own restore (SIGINT) or `agentctl recover`
/// (SIGKILL) must leave the workspace byte for byte as the user had it.
fn crash_then_recover(needle: &str, pause_ms: u64, signal: &str) {
    let (_dir, work) = workspace();
    let before = full_manifest(&work);
    let mut child = repair(&work);
    let (lines, found) = wait_for_line(&mut child, needle);
    assert!(found, "the run ended before printing {needle:?}:\n{}", lines.concat());
    std::thread::sleep(std::time::Duration::from_millis(pause_ms));
    let ended_first = child.try_wait().unwrap().is_some();
    let sent = Command::new("kill").args(["-s", signal, &child.id().to_string()]).status().unwrap();
    assert!(sent.success() || ended_first);
    let status = child.wait().unwrap();
    let at = format!("{signal} at {needle:?} + {pause_ms} ms");

    let (code, doc) = recover(&work);
    assert_eq!(code, Some(0), "{at}: {doc}");
    assert_eq!(doc["root"], work.to_str().unwrap());
    if signal == "KILL" && pause_ms == 0 && needle != "rolled back to snapshot" && !ended_first {
        // Killed mid-run: the run's snapshot was there to restore.
        assert_eq!(doc["recovered"], true, "{at}: {doc}");
        assert!(doc["snapshot"].as_str().is_some_and(|s| s.len() == 40), "{doc}");
    }
    if signal == "INT" {
        // The run restored its own workspace before it exited: nothing is left to recover.
        assert_eq!(doc["recovered"], false, "{at} (exit {status}): {doc}");
    }
    assert_eq!(full_manifest(&work), before, "{at}, then recovered:\n{}", lines.concat());
    // Recovery is done once: a second call has nothing to do.
    let (code, doc) = recover(&work);
    assert_eq!(
        (code, &doc["recovered"], &doc["reason"]),
        (Some(0), &Value::Bool(false), &"nothing to recover".into()),
        "{at}"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 12,
        max_shrink_iters: 8,
        failure_persistence: None,
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// A property over crash points: any step of the run, any pause after
    /// it (up to 400 ms, which reaches into the edit, the test run and the
    /// repair), SIGKILL or SIGINT.
    #[test]
    fn a_repair_killed_or_interrupted_at_any_step_is_recovered_to_the_users_byte_identical_workspace(
        point in 0..CRASH_POINTS.len(),
        pause_ms in 0u64..=400,
        kill in proptest::bool::ANY,
    ) {
        let (needle, at_least) = CRASH_POINTS[point];
        crash_then_recover(needle, at_least + pause_ms, if kill { "KILL" } else { "INT" });
    }
}

#[test]
fn a_repair_killed_right_at_each_step_is_recovered_to_the_users_byte_identical_workspace() {
    // Every point once, with no pause: the property test samples around them.
    for &(needle, pause_ms) in CRASH_POINTS {
        crash_then_recover(needle, pause_ms, "KILL");
    }
}

#[test]
fn recover_refuses_while_the_run_is_alive_and_restores_once_it_is_killed() {
    let (_dir, work) = workspace();
    let before = full_manifest(&work);
    let mut child = repair(&work);
    let (lines, found) = wait_for_line(&mut child, "applied: ");
    assert!(found, "{}", lines.concat());
    // SIGSTOP: the owner is alive but does not move on while we look.
    let pid = child.id();
    assert!(Command::new("kill").args(["-STOP", &pid.to_string()]).status().unwrap().success());
    let mid = full_manifest(&work);
    let (code, doc) = recover(&work);
    assert_eq!(code, Some(1), "{doc}");
    assert_eq!(doc["recovered"], false);
    assert_eq!(doc["reason"], format!("owner still running (pid {pid})"));
    assert_eq!(full_manifest(&work), mid, "recover touched a workspace whose run is alive");

    child.kill().unwrap();
    child.wait().unwrap();
    let (code, doc) = recover(&work);
    assert_eq!((code, &doc["recovered"]), (Some(0), &Value::Bool(true)), "{doc}");
    assert_eq!(full_manifest(&work), before);
}

#[test]
fn recover_on_a_directory_that_is_not_a_repository_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = agentctl().args(["recover", dir.path().to_str().unwrap(), "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = agentctl().args(["recover", "/nonexistent/agentkit/dir"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
