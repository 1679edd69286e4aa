//! Timelines and cross-task metrics read back from journals of real loop
//! runs over the fakes (a scripted model and canned runs: test doubles).

use crate::fakes::{Fakes, plan_json};
use agent_core::event::{Event, EventKind, TaskId, TaskState};
use agent_core::gate::{GateReport, Verdict};
use agent_loop::{RepairLoop, RunMetrics, Task, Timeline};

#[tokio::test]
async fn a_repaired_task_reads_back_as_states_model_calls_runs_and_verdict() {
    let f = Fakes::new(vec![Ok(plan_json("a.rs")), Ok(plan_json("b.rs"))], vec![(1, "x"), (1, "y"), (0, "ok")]);
    RepairLoop::new(f.parts())
        .with_config(crate::fakes::plan_config())
        .run(Task::new("t", "/workspace", "make it pass"))
        .await
        .unwrap();
    let events = f.journal.all();
    let timeline = Timeline::of(&events, &TaskId::new("t"));
    assert_eq!(timeline.goal.as_deref(), Some("make it pass"));
    assert_eq!(timeline.model_calls, 2);
    assert_eq!(timeline.tokens, (20, 10), "the scripted model reports 10 in / 5 out per call");
    assert_eq!(timeline.final_state, Some(TaskState::Accepted));
    assert_eq!(timeline.verdict, Some(Verdict::Approve));
    assert_eq!(timeline.states.first(), Some(&TaskState::Queued));
    assert!(timeline.states.contains(&TaskState::Repairing));
    let text = timeline.render();
    assert!(text.starts_with("task t: make it pass\n"), "{text}");
    assert!(text.contains("state planning -> executing"), "{text}");
    assert!(text.contains("model fake:model (plan): 10 in / 5 out tokens, unpriced"), "{text}");
    assert!(text.contains("attempt 1 classified:"), "{text}");
    assert!(text.contains("finished: accepted"), "{text}");
    assert!(text.ends_with("model calls: 2, tokens: 20 in / 10 out, cost: $0.0000\n"), "{text}");
    // Another task's events do not leak in.
    assert!(Timeline::of(&events, &TaskId::new("other")).entries.is_empty());
}

fn finished(task: &str, attempts: u32, state: TaskState, mutation: Option<f64>) -> Vec<Event> {
    let id = TaskId::new(task);
    let mut out = Vec::new();
    for attempt in 0..=attempts {
        let classification = agent_core::failure::Classification::default();
        out.push(Event::at(id.clone(), 0, EventKind::FailureClassified { attempt, classification }));
    }
    if let Some(score) = mutation {
        let mut report = GateReport::new("mutation", true, "score");
        report.score = Some(score);
        out.push(Event::at(id.clone(), 0, EventKind::GateReport { report }));
    }
    out.push(Event::at(id, 0, EventKind::TaskFinished { state }));
    out
}

#[test]
fn metrics_count_pass_rate_repairs_rollbacks_and_mutation_score_of_accepted_tasks() {
    let mut events = Vec::new();
    events.extend(finished("a", 1, TaskState::Accepted, Some(0.8)));
    events.extend(finished("b", 3, TaskState::Accepted, Some(0.6)));
    events.extend(finished("c", 3, TaskState::RolledBack, Some(0.1)));
    events.extend(finished("d", 1, TaskState::NeedsHuman, None));
    // A task still running is not counted.
    events.push(Event::at(TaskId::new("e"), 0, EventKind::TaskStarted { goal: "g".into(), root: "/".into() }));
    let m = RunMetrics::from_events(&events);
    assert_eq!((m.tasks, m.accepted, m.rolled_back, m.stopped), (4, 2, 1, 1));
    assert_eq!(m.pass_rate, Some(0.5));
    assert_eq!(m.rollback_rate, Some(0.25));
    assert_eq!(m.repairs_per_success, Some(1.0), "a: 0 repairs, b: 2 repairs");
    assert!((m.mutation_score.unwrap() - 0.7).abs() < 1e-9, "rolled-back task's score is not counted");
    assert_eq!(RunMetrics::from_events(&[]).pass_rate, None);
}
