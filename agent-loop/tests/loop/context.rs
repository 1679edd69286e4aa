//! The loop's failure sections come from its `ContextRenderer`.

use crate::fakes::{Fakes, plan_json};
use agent_core::ContextRenderer;
use agent_core::failure::Classification;
use agent_loop::{PlainContext, RepairLoop, Task};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A renderer that writes a marker with the number of failures and records the roots it saw.
#[derive(Default)]
struct Marker {
    roots: Mutex<Vec<String>>,
}

impl ContextRenderer for Marker {
    fn render(&self, root: &Path, c: &Classification) -> String {
        self.roots.lock().unwrap().push(root.display().to_string());
        format!("CUSTOM CONTEXT: {} failure(s) took 0.25s\n", c.failures.len())
    }
}

#[tokio::test]
async fn a_custom_renderer_writes_the_failure_sections_of_the_plan_and_repair_prompts() {
    let f =
        Fakes::new(vec![Ok(plan_json("a.rs")), Ok(plan_json("b.rs"))], vec![(1, "first"), (1, "second"), (0, "ok")]);
    let marker = Arc::new(Marker::default());
    let report = RepairLoop::new(f.parts())
        .with_config(crate::fakes::plan_config())
        .with_context_renderer(marker.clone())
        .run(Task::new("t", "/workspace", "make it pass"))
        .await
        .unwrap();
    assert_eq!(report.attempts.len(), 2);
    let requests = f.model.requests();
    let plan_prompt = &requests[0].messages.last().unwrap().content;
    let repair_prompt = &requests[1].messages.last().unwrap().content;
    for prompt in [plan_prompt, repair_prompt] {
        // The renderer's text, durations masked like the rest of the prompt.
        assert!(prompt.contains("CUSTOM CONTEXT: 1 failure(s) took <time>\n"), "{prompt}");
        // The default rendering is not there.
        assert!(!prompt.contains("Test status:"), "{prompt}");
        assert!(!prompt.contains("Failures (1 in all)"), "{prompt}");
    }
    assert!(repair_prompt.contains("Attempt 1 of 3 did not pass."), "{repair_prompt}");
    assert_eq!(*marker.roots.lock().unwrap(), vec!["/workspace".to_owned(), "/workspace".to_owned()]);
}

#[tokio::test]
async fn without_a_renderer_the_prompts_use_the_plain_rendering() {
    let f = Fakes::new(vec![Ok(plan_json("a.rs"))], vec![(1, "assertion failed"), (0, "ok")]);
    RepairLoop::new(f.parts())
        .with_config(crate::fakes::plan_config())
        .run(Task::new("t", "/workspace", "make it pass"))
        .await
        .unwrap();
    let plan_prompt = f.model.requests()[0].messages.last().unwrap().content.clone();
    let mut c = Classification::default();
    c.valid_run = true;
    c.tests = Some(agent_core::failure::TestCounts { passed: 0, failed: 1, ignored: 0 });
    c.failures.push(agent_core::failure::Failure::new(
        agent_core::failure::FailureCategory::Test,
        agent_core::failure::FailureKind::TestAssertion,
        "assertion failed",
    ));
    let plain = PlainContext::default().render(Path::new("/workspace"), &c);
    assert_eq!(
        plain,
        "Test status: 0 passed, 1 failed, 0 ignored\nFailures (1 in all):\n1. [test_assertion]\n   assertion failed\n"
    );
    assert!(plan_prompt.contains(&plain), "{plan_prompt}");
}
