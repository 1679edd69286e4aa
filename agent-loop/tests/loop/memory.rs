//! FileMemory on disk.

use agent_core::Memory;
use agent_core::failure::FailureKind;
use agent_core::memory::{AttemptNote, Lesson, MemoryEntry, MemoryError};
use agent_loop::FileMemory;

fn attempt(goal: &str, n: u32, tried: &str) -> MemoryEntry {
    MemoryEntry::Attempt(AttemptNote::new(
        "ws",
        goal,
        n,
        tried,
        vec!["src/lib.rs".into()],
        vec!["type src/lib.rs:4".into()],
    ))
}

#[tokio::test]
async fn attempts_are_recalled_for_the_same_goal_and_lessons_for_the_whole_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let memory = FileMemory::new(dir.path().join("memory.jsonl"));
    memory.remember(attempt("fix mean", 1, "cast to f64")).await.unwrap();
    memory.remember(attempt("other task", 1, "unrelated")).await.unwrap();
    memory.remember(attempt("fix mean", 2, "divide by len")).await.unwrap();
    let lesson = Lesson::new("ws", FailureKind::Type, Some("E0308".into()), "convert with `as f64`", vec![]);
    memory.remember(MemoryEntry::Lesson(lesson)).await.unwrap();
    let elsewhere = Lesson::new("other-ws", FailureKind::Borrow, None, "clone the key", vec![]);
    memory.remember(MemoryEntry::Lesson(elsewhere)).await.unwrap();

    let r = memory.recall("ws", "fix mean").await.unwrap();
    let tried: Vec<&str> = r.attempts.iter().map(|a| a.tried.as_str()).collect();
    assert_eq!(tried, ["cast to f64", "divide by len"]);
    assert_eq!(r.lessons.len(), 1);
    let text = r.render();
    assert!(text.contains("- attempt 2: divide by len (files: src/lib.rs) — failed with: type src/lib.rs:4"), "{text}");
    assert!(text.contains("- type E0308 was fixed by: convert with `as f64`"), "{text}");
    assert!(!text.contains("clone the key"));

    let fresh = memory.recall("ws", "a new goal").await.unwrap();
    assert!(fresh.attempts.is_empty());
    assert_eq!(fresh.lessons.len(), 1, "lessons of the workspace apply to every task");
}

#[tokio::test]
async fn memory_is_bounded_and_keeps_the_newest_entries() {
    let dir = tempfile::tempdir().unwrap();
    let memory = FileMemory::new(dir.path().join("m.jsonl")).with_max_entries(3).with_max_field_chars(20);
    for n in 1..=5 {
        memory.remember(attempt("g", n, &"x".repeat(1000))).await.unwrap();
    }
    let r = memory.recall("ws", "g").await.unwrap();
    let numbers: Vec<u32> = r.attempts.iter().map(|a| a.attempt).collect();
    assert_eq!(numbers, [3, 4, 5]);
    assert_eq!(r.attempts[0].tried, format!("{}…", "x".repeat(20)));
    let lines = std::fs::read_to_string(memory.path()).unwrap().lines().count();
    assert_eq!(lines, 3);
}

#[tokio::test]
async fn secrets_never_reach_the_memory_file() {
    let dir = tempfile::tempdir().unwrap();
    let memory = FileMemory::new(dir.path().join("m.jsonl"));
    let tried = "set OPENAI_API_KEY=sk-proj-abcdefghijklmnop and sent Authorization: Bearer eyJhbGciOi.secret";
    let failed = vec!["token ghp_0123456789abcdefghij leaked in a log".to_owned()];
    let note = AttemptNote::new("ws", "g", 1, tried, vec![], failed);
    memory.remember(MemoryEntry::Attempt(note)).await.unwrap();
    let raw = std::fs::read_to_string(memory.path()).unwrap();
    for secret in ["sk-proj-abcdefghijklmnop", "eyJhbGciOi.secret", "ghp_0123456789abcdefghij"] {
        assert!(!raw.contains(secret), "{secret} was stored: {raw}");
    }
    assert!(raw.contains("OPENAI_API_KEY=[REDACTED]"), "{raw}");
    assert!(raw.contains("set OPENAI_API_KEY"), "the rest of the text is kept: {raw}");
}

#[tokio::test]
async fn a_half_written_last_line_is_ignored_but_a_corrupt_line_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.jsonl");
    let memory = FileMemory::new(&path);
    memory.remember(attempt("g", 1, "first")).await.unwrap();
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"type\":\"attempt\",\"works");
    std::fs::write(&path, &text).unwrap();
    assert_eq!(memory.recall("ws", "g").await.unwrap().attempts.len(), 1);

    std::fs::write(&path, format!("not json\n{text}\n")).unwrap();
    assert!(matches!(memory.recall("ws", "g").await, Err(MemoryError::Corrupt { line: 1, .. })));
}

// ---- the same normalisation of the goal on both sides ----

fn attempt_at(workspace: &str, goal: &str, tried: &str) -> MemoryEntry {
    MemoryEntry::Attempt(AttemptNote::new(workspace, goal, 1, tried, vec![], vec!["test t failed".into()]))
}

#[tokio::test]
async fn a_goal_retyped_with_other_case_spacing_and_punctuation_recalls_its_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let memory = FileMemory::new(dir.path().join("m.jsonl"));
    memory.remember(attempt_at("ws", "Fix the `mean()` of an empty slice.", "divide by len")).await.unwrap();
    for retyped in [
        "fix the mean() of an empty slice",
        "  Fix the MEAN of an   empty slice!  ",
        "fix the mean of an empty-slice",
        "Fix the mean() of an empty slice.\n",
    ] {
        let r = memory.recall("ws", retyped).await.unwrap();
        assert_eq!(r.attempts.len(), 1, "{retyped:?} should find the attempt");
    }
    for other in ["fix the median of an empty slice", "fix the mean of a full slice", "fix the mean"] {
        assert!(memory.recall("ws", other).await.unwrap().attempts.is_empty(), "{other:?} is another task");
    }
    assert!(memory.recall("other-ws", "fix the mean() of an empty slice").await.unwrap().attempts.is_empty());
}

#[tokio::test]
async fn a_long_goal_cut_by_the_store_is_still_recalled_and_one_differing_at_its_end_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let memory = FileMemory::new(dir.path().join("m.jsonl")).with_max_field_chars(40);
    let goal = format!("make the parser accept {} and then report line 7", "nested groups ".repeat(30));
    memory.remember(attempt_at("ws", &goal, "recursive descent")).await.unwrap();
    let stored = std::fs::read_to_string(memory.path()).unwrap();
    assert!(!stored.contains("report line 7\""), "the store keeps the goal's text cut: {stored}");
    assert_eq!(memory.recall("ws", &goal.to_uppercase()).await.unwrap().attempts.len(), 1);
    let other_end = goal.replace("line 7", "line 8");
    assert!(memory.recall("ws", &other_end).await.unwrap().attempts.is_empty());
}

#[tokio::test]
async fn a_goal_holding_a_secret_is_recalled_though_the_secret_is_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let memory = FileMemory::new(dir.path().join("m.jsonl"));
    let goal = "call the API with OPENAI_API_KEY=sk-proj-abcdefghijklmnop and fix the retry";
    memory.remember(attempt_at("ws", goal, "retry on 429")).await.unwrap();
    assert!(!std::fs::read_to_string(memory.path()).unwrap().contains("abcdefghijklmnop"));
    assert_eq!(memory.recall("ws", goal).await.unwrap().attempts.len(), 1);
}

#[tokio::test]
async fn a_note_written_before_goal_keys_is_recalled_by_its_goal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.jsonl");
    let old = r#"{"type":"attempt","workspace":"ws","goal":"Fix Mean","attempt":1,"tried":"cast","files":[],"failed_with":[]}"#;
    std::fs::write(&path, format!("{old}\n")).unwrap();
    let memory = FileMemory::new(&path);
    assert_eq!(memory.recall("ws", "fix mean.").await.unwrap().attempts.len(), 1);
}

// ---- the workspace key is the repository's identity ----

fn repo_with_commit(parent: &std::path::Path, name: &str, content: &str) -> std::path::PathBuf {
    let repo = parent.join(name);
    std::fs::create_dir_all(&repo).unwrap();
    agent_testkit::git(&repo, &["init", "-q"]);
    agent_testkit::write(&repo, "README", content.as_bytes());
    agent_testkit::git(&repo, &["add", "-A"]);
    agent_testkit::git(&repo, &["commit", "-qm", "first"]);
    repo
}

fn clone_to(from: &std::path::Path, to: &std::path::Path) {
    let parent = to.parent().unwrap();
    std::fs::create_dir_all(parent).unwrap();
    agent_testkit::git(parent, &["clone", "-q", from.to_str().unwrap(), to.to_str().unwrap()]);
}

#[tokio::test]
async fn clones_of_one_repository_in_differently_named_directories_share_a_key_and_two_apps_do_not() {
    let tmp = tempfile::tempdir().unwrap();
    let origin = repo_with_commit(tmp.path(), "app", "the stats crate\n");
    let root_commit = agent_testkit::git(&origin, &["rev-list", "--max-parents=0", "HEAD"]).trim().to_owned();
    // The clone has later commits of its own; the root stays the same.
    let clone = tmp.path().join("elsewhere/stats-checkout");
    clone_to(&origin, &clone);
    agent_testkit::write(&clone, "src/lib.rs", b"pub fn mean() {}\n");
    agent_testkit::git(&clone, &["add", "-A"]);
    agent_testkit::git(&clone, &["commit", "-qm", "second"]);
    // Another repository, also checked out as `app/`.
    let unrelated = repo_with_commit(&tmp.path().join("other"), "app", "an unrelated project\n");

    let origin_key = agent_loop::workspace_key(&origin).await;
    assert_eq!(origin_key.as_str(), format!("git:{root_commit}"));
    assert_eq!(agent_loop::workspace_key(&clone).await, origin_key);
    assert_ne!(agent_loop::workspace_key(&unrelated).await, origin_key);

    // Lessons follow the key: learned in the clone, recalled in the origin, not in the other app.
    let memory = FileMemory::new(tmp.path().join("memory.jsonl"));
    let lesson = Lesson::new(origin_key.as_str(), FailureKind::Type, Some("E0308".into()), "cast to f64", vec![]);
    memory.remember(MemoryEntry::Lesson(lesson)).await.unwrap();
    let from_clone = agent_loop::workspace_key(&clone).await;
    assert_eq!(memory.recall(from_clone.as_str(), "any").await.unwrap().lessons.len(), 1);
    let from_other = agent_loop::workspace_key(&unrelated).await;
    assert!(memory.recall(from_other.as_str(), "any").await.unwrap().lessons.is_empty());
}

#[tokio::test]
async fn a_subdirectory_a_linked_worktree_and_a_plain_directory_have_the_keys_of_what_they_are() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = repo_with_commit(tmp.path(), "mono", "monorepo\n");
    agent_testkit::write(&repo, "crates/core/Cargo.toml", b"[package]\n");
    agent_testkit::git(&repo, &["add", "-A"]);
    agent_testkit::git(&repo, &["commit", "-qm", "core"]);
    let top = agent_loop::workspace_key(&repo).await;
    let sub = agent_loop::workspace_key(&repo.join("crates/core")).await;
    assert_eq!(sub.as_str(), format!("{top}/crates/core"));

    let worktree = tmp.path().join("pool/wt-3");
    agent_testkit::git(&repo, &["worktree", "add", "-q", "--detach", worktree.to_str().unwrap()]);
    assert_eq!(agent_loop::workspace_key(&worktree).await, top, "a linked worktree is the same repository");

    let plain = tmp.path().join("plain/app");
    std::fs::create_dir_all(&plain).unwrap();
    let key = agent_loop::workspace_key(&plain).await;
    assert_eq!(key.as_str(), format!("path:{}", std::fs::canonicalize(&plain).unwrap().display()));
    // A repository with no commit yet is a plain directory too.
    let fresh = tmp.path().join("fresh");
    std::fs::create_dir_all(&fresh).unwrap();
    agent_testkit::git(&fresh, &["init", "-q"]);
    assert!(agent_loop::workspace_key(&fresh).await.as_str().starts_with("path:"));
}

// ---- writes are atomic and serialised across writers ----

/// Every line of the store parsed, as (tried) texts.
fn stored_tries(path: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.ends_with('\n'));
    text.lines()
        .map(|line| match serde_json::from_str::<MemoryEntry>(line) {
            Ok(MemoryEntry::Attempt(a)) => a.tried,
            other => panic!("line {line:?} is not an attempt: {other:?}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_writers_remembering_at_once_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.jsonl");
    let mut tasks = Vec::new();
    for writer in 0..8 {
        // A store of its own per writer: only the file lock serialises them.
        let memory = FileMemory::new(&path);
        tasks.push(tokio::spawn(async move {
            for n in 0..15 {
                memory.remember(attempt_at("ws", "g", &format!("w{writer}-{n}"))).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut tries = stored_tries(&path);
    tries.sort();
    let mut expected: Vec<String> = (0..8).flat_map(|w| (0..15).map(move |n| format!("w{w}-{n}"))).collect();
    expected.sort();
    assert_eq!(tries, expected);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

const CHILD_STORE: &str = "AGENTKIT_TEST_MEMORY_CHILD_STORE";
const CHILD_ID: &str = "AGENTKIT_TEST_MEMORY_CHILD_ID";
const PER_PROCESS: usize = 30;

/// Run as a parent, it starts three copies of this test binary running this
/// same test as children (each writing `PER_PROCESS` entries into one store)
/// and writes its own at the same time; then every entry of every process is
/// in the store, once, and the store is valid JSON lines.
#[tokio::test]
async fn processes_remembering_at_once_lose_nothing() {
    if let (Ok(store), Ok(id)) = (std::env::var(CHILD_STORE), std::env::var(CHILD_ID)) {
        let memory = FileMemory::new(store);
        for n in 0..PER_PROCESS {
            memory.remember(attempt_at("ws", "g", &format!("p{id}-{n}"))).await.unwrap();
        }
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.jsonl");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<std::process::Child> = (1..=3)
        .map(|id| {
            std::process::Command::new(&exe)
                .args(["memory::processes_remembering_at_once_lose_nothing", "--exact", "--test-threads=1"])
                .env(CHILD_STORE, &path)
                .env(CHILD_ID, id.to_string())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let memory = FileMemory::new(&path);
    for n in 0..PER_PROCESS {
        memory.remember(attempt_at("ws", "g", &format!("p0-{n}"))).await.unwrap();
    }
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let mut tries = stored_tries(&path);
    tries.sort();
    let mut expected: Vec<String> = (0..=3).flat_map(|p| (0..PER_PROCESS).map(move |n| format!("p{p}-{n}"))).collect();
    expected.sort();
    assert_eq!(tries, expected);
    assert_eq!(memory.recall("ws", "G").await.unwrap().attempts.len(), 4 * PER_PROCESS);
}

#[tokio::test]
async fn the_loop_recalls_a_lesson_learned_in_another_clone_of_the_repository_and_not_in_another_app() {
    use crate::fakes::{Fakes, plan_json};
    use agent_loop::{Outcome, RepairLoop, Task};
    use std::sync::Arc;

    let tmp = tempfile::tempdir().unwrap();
    let origin = repo_with_commit(tmp.path(), "app", "the stats crate\n");
    let clone = tmp.path().join("ci/build-42");
    clone_to(&origin, &clone);
    let unrelated = repo_with_commit(&tmp.path().join("other"), "app", "an unrelated project\n");
    let memory = Arc::new(FileMemory::new(tmp.path().join("memory.jsonl")));

    // In the clone: attempt 1 fails, attempt 2 passes, leaving a lesson.
    let f = Fakes::new(vec![Ok(plan_json("a.rs")), Ok(plan_json("b.rs"))], vec![(1, "x"), (1, "y"), (0, "ok")]);
    let report = RepairLoop::new(f.parts())
        .with_config(crate::fakes::plan_config())
        .with_memory(memory.clone())
        .run(Task::new("t", &clone, "make it pass"))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Accepted);

    let lesson = "Lessons from earlier tasks in this workspace:";
    let prompt_in = |root: std::path::PathBuf, memory: Arc<FileMemory>| async move {
        let next = Fakes::new(vec![Ok(plan_json("c.rs"))], vec![(1, "x"), (0, "ok")]);
        RepairLoop::new(next.parts())
            .with_config(crate::fakes::plan_config())
            .with_memory(memory)
            .run(Task::new("u", root, "new goal"))
            .await
            .unwrap();
        next.model.requests()[0].messages[1].content.clone()
    };
    let in_origin = prompt_in(origin, memory.clone()).await;
    assert!(in_origin.contains(lesson), "the origin is the same repository: {in_origin}");
    let in_other_app = prompt_in(unrelated, memory).await;
    assert!(!in_other_app.contains(lesson), "another repository called app/: {in_other_app}");
}
