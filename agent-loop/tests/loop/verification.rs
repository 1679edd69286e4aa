//! The loop with memory and an inspector, over the fakes (a scripted model
//! and canned runs: test doubles) and a real memory file.

use crate::fakes::{Fakes, Model, plan_json};
use agent_core::gate::Verdict;
use agent_loop::{FileMemory, Inspector, Outcome, RepairLoop, Task};
use std::sync::Arc;

fn task() -> Task {
    Task::new("t", "/workspace", "make it pass")
}

#[tokio::test]
async fn memory_of_a_failed_task_changes_the_next_planning_prompt_of_the_same_goal() {
    let dir = tempfile::tempdir().unwrap();
    let memory = Arc::new(FileMemory::new(dir.path().join("memory.jsonl")));
    let first = Fakes::new(vec![Ok(plan_json("a.rs"))], vec![(1, "assertion failed")]);
    let report = RepairLoop::new(first.parts())
        .with_config(crate::fakes::plan_config())
        .with_config(crate::fakes::plan_config().with_max_attempts(1))
        .with_memory(memory.clone())
        .run(task())
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::RolledBack);
    let first_prompt = first.model.requests()[0].messages[1].content.clone();
    assert!(!first_prompt.contains("Earlier attempts"), "nothing to remember yet");

    let second = Fakes::new(vec![Ok(plan_json("b.rs"))], vec![(1, "assertion failed"), (0, "ok")]);
    RepairLoop::new(second.parts())
        .with_config(crate::fakes::plan_config())
        .with_memory(memory.clone())
        .run(task())
        .await
        .unwrap();
    let prompt = second.model.requests()[0].messages[1].content.clone();
    assert!(prompt.contains("Earlier attempts at this same task (do not repeat what failed):"), "{prompt}");
    assert!(prompt.contains("- attempt 1: write a.rs (files: a.rs) — failed with:"), "{prompt}");

    // Another goal in the same workspace does not see those attempts.
    let other = Fakes::new(vec![Ok(plan_json("c.rs"))], vec![(1, "x"), (0, "ok")]);
    RepairLoop::new(other.parts())
        .with_config(crate::fakes::plan_config())
        .with_memory(memory)
        .run(Task::new("u", "/workspace", "another goal"))
        .await
        .unwrap();
    assert!(!other.model.requests()[0].messages[1].content.contains("Earlier attempts"));
}

#[tokio::test]
async fn a_repair_that_passes_leaves_a_lesson_for_every_later_task_in_the_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let memory = Arc::new(FileMemory::new(dir.path().join("memory.jsonl")));
    let f = Fakes::new(vec![Ok(plan_json("a.rs")), Ok(plan_json("b.rs"))], vec![(1, "x"), (1, "y"), (0, "ok")]);
    let report = RepairLoop::new(f.parts())
        .with_config(crate::fakes::plan_config())
        .with_memory(memory.clone())
        .run(task())
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Accepted);
    let next = Fakes::new(vec![Ok(plan_json("c.rs"))], vec![(1, "x"), (0, "ok")]);
    RepairLoop::new(next.parts())
        .with_config(crate::fakes::plan_config())
        .with_memory(memory)
        .run(Task::new("u", "/workspace", "new goal"))
        .await
        .unwrap();
    let prompt = next.model.requests()[0].messages[1].content.clone();
    assert!(
        prompt.contains("Lessons from earlier tasks in this workspace:\n- test_assertion was fixed by: write b.rs"),
        "{prompt}"
    );
}

#[tokio::test]
async fn an_unparseable_review_twice_ends_the_task_needing_a_human_and_restored() {
    let f = Fakes::new(vec![Ok(plan_json("a.rs"))], vec![(1, "x"), (0, "ok")]);
    let reviewer = Arc::new(Model::scripted(vec!["LGTM", "{\"verdict\": \"ship it\"}", "{\"verdict\":\"approve\"}"]));
    let report = RepairLoop::new(f.parts())
        .with_config(crate::fakes::plan_config())
        .with_inspector(Inspector::new().with_reviewer(reviewer.clone()))
        .run(task())
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::NeedsHuman);
    assert!(
        matches!(&report.verdict, Verdict::NeedsHuman { reason } if reason.contains("did not match its schema twice"))
    );
    assert_eq!(reviewer.requests().len(), 2);
    assert_eq!(f.snapshots.lock().unwrap().restored, 1);
    assert_eq!(f.model.requests().len(), 1, "no repair is asked for after NeedsHuman");
}

#[tokio::test]
async fn a_review_requesting_changes_turns_a_passing_run_into_a_repair_and_an_approval_accepts() {
    let f = Fakes::new(vec![Ok(plan_json("a.rs")), Ok(plan_json("b.rs"))], vec![(1, "x"), (0, "ok"), (0, "ok")]);
    let reviewer = Arc::new(Model::scripted(vec![
        r#"{"verdict":"changes_requested","items":["handle the empty input"]}"#,
        r#"{"verdict":"approve"}"#,
    ]));
    let report = RepairLoop::new(f.parts())
        .with_config(crate::fakes::plan_config())
        .with_inspector(Inspector::new().with_reviewer(reviewer))
        .run(task())
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Accepted);
    assert_eq!(report.attempts.len(), 2);
    let repair_prompt = f.model.requests()[1].messages.last().unwrap().content.clone();
    assert!(repair_prompt.contains("gate `review` failed: changes requested"), "{repair_prompt}");
    assert!(repair_prompt.contains("handle the empty input"), "{repair_prompt}");
    assert!(report.gates.iter().any(|g| g.gate == "review" && g.passed));
}
