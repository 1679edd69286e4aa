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
