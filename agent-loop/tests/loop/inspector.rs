//! The Inspector's verdicts, with a scripted model (test double) as reviewer
//! and real files on disk as the evidence manifest.

use crate::fakes::{FailingGate, Model};
use agent_core::edit::FileChange;
use agent_core::gate::{GateContext, Verdict};
use agent_core::spec::{AcceptanceCriterion, TaskSpec};
use agent_core::workspace::WorkspaceProfile;
use agent_loop::Inspector;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// A workspace with `src/lib.rs` written and its evidence entry.
fn workspace() -> (tempfile::TempDir, GateContext) {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("src")).unwrap();
    let text = b"pub fn mean(xs: &[f64]) -> Option<f64> { None }\n";
    std::fs::write(tmp.path().join("src/lib.rs"), text).unwrap();
    std::fs::write(tmp.path().join("README.md"), "readme\n").unwrap();
    let change: FileChange = serde_json::from_value(serde_json::json!({
        "path": "src/lib.rs", "change": "modified", "sha256": hex::encode(Sha256::digest(text))
    }))
    .unwrap();
    let cx = GateContext::new(tmp.path(), WorkspaceProfile::default(), "mean of empty is None", vec![change]);
    (tmp, cx)
}

fn spec() -> TaskSpec {
    TaskSpec::new("mean of an empty slice must be None")
        .with_criterion(AcceptanceCriterion::new("empty", "mean(&[]) is None").proved_by_test("empty_is_none"))
        .with_criterion(AcceptanceCriterion::new("docs", "the doc comment says so"))
}

const DIFF: &str =
    "--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1 +1 @@\n-old\n+pub fn mean(xs: &[f64]) -> Option<f64> { None }\n";

#[tokio::test]
async fn an_approving_review_whose_claims_match_the_evidence_is_approve() {
    let (_tmp, cx) = workspace();
    let model = Arc::new(Model::scripted(vec![
        r#"{"verdict":"approve","items":[],"criteria":[{"id":"empty","met":true,"note":"returns None"},{"id":"docs","met":true}],"changed_files":["src/lib.rs"]}"#,
    ]));
    let inspection = Inspector::new().with_reviewer(model.clone()).with_spec(spec()).inspect(&cx, DIFF).await;
    assert_eq!(inspection.verdict, Verdict::Approve);
    let prompt = model.requests()[0].messages[1].content.clone();
    assert!(prompt.contains("- [empty] mean(&[]) is None (test: empty_is_none)"), "{prompt}");
    assert!(prompt.contains("+pub fn mean"), "the diff reaches the reviewer: {prompt}");
    assert_eq!(model.requests()[0].response_format.as_ref().unwrap().name, "review");
}

#[tokio::test]
async fn approve_with_an_unmet_criterion_is_partial_and_changes_requested_keeps_its_items() {
    let (_tmp, cx) = workspace();
    let model = Arc::new(Model::scripted(vec![
        r#"{"verdict":"approve","criteria":[{"id":"empty","met":true},{"id":"docs","met":false,"note":"no doc comment"}],"changed_files":["src/lib.rs"]}"#,
    ]));
    let inspection = Inspector::new().with_reviewer(model).with_spec(spec()).inspect(&cx, DIFF).await;
    assert_eq!(inspection.verdict, Verdict::Partial { items: vec!["criterion `docs` not met: no doc comment".into()] });

    let model = Arc::new(Model::scripted(vec![
        r#"{"verdict":"changes_requested","items":["handle NaN"],"changed_files":["src/lib.rs"]}"#,
    ]));
    let inspection = Inspector::new().with_reviewer(model).inspect(&cx, DIFF).await;
    assert_eq!(inspection.verdict, Verdict::ChangesRequested { items: vec!["handle NaN".into()] });
}

#[tokio::test]
async fn a_review_unparseable_twice_is_needs_human_after_exactly_two_calls() {
    let (_tmp, cx) = workspace();
    let model =
        Arc::new(Model::scripted(vec!["Looks good to me!", r#"{"verdict":"lgtm"}"#, r#"{"verdict":"approve"}"#]));
    let inspection = Inspector::new().with_reviewer(model.clone()).inspect(&cx, DIFF).await;
    match &inspection.verdict {
        Verdict::NeedsHuman { reason } => {
            assert!(reason.starts_with("the review did not match its schema twice"), "{reason}");
            assert!(reason.contains("verdict"), "the schema error is named: {reason}");
        }
        other => panic!("expected NeedsHuman, got {other:?}"),
    }
    assert_eq!(model.requests().len(), 2, "no third ask: never a retry loop into the same failure");
    let reask = model.requests()[1].messages.last().unwrap().content.clone();
    assert!(reask.starts_with("Your review could not be read (not JSON"), "{reask}");
}

#[tokio::test]
async fn a_review_claiming_a_file_the_change_did_not_touch_or_that_differs_on_disk_is_needs_human() {
    let (tmp, cx) = workspace();
    let model = Arc::new(Model::scripted(vec![r#"{"verdict":"approve","changed_files":["src/lib.rs","README.md"]}"#]));
    let inspection = Inspector::new().with_reviewer(model).inspect(&cx, DIFF).await;
    assert_eq!(inspection.contradicted_claims, ["`README.md` is not among the files the change touched"]);
    assert!(matches!(inspection.verdict, Verdict::NeedsHuman { .. }));

    // The file changed on disk after the editor recorded its evidence.
    std::fs::write(tmp.path().join("src/lib.rs"), "tampered\n").unwrap();
    let model = Arc::new(Model::scripted(vec![r#"{"verdict":"approve","changed_files":["src/lib.rs"]}"#]));
    let inspection = Inspector::new().with_reviewer(model).inspect(&cx, DIFF).await;
    assert_eq!(inspection.contradicted_claims, ["`src/lib.rs` on disk does not match the editor's evidence"]);
}

#[tokio::test]
async fn a_failing_gate_requests_changes_without_asking_the_reviewer() {
    let (_tmp, cx) = workspace();
    let model = Arc::new(Model::scripted(vec![r#"{"verdict":"approve"}"#]));
    let inspection =
        Inspector::new().with_gate(Arc::new(FailingGate::new(1))).with_reviewer(model.clone()).inspect(&cx, DIFF).await;
    assert_eq!(
        inspection.verdict,
        Verdict::ChangesRequested { items: vec!["gate `style`: 1 finding".into(), "src/a.rs:3: line too long".into()] }
    );
    assert!(model.requests().is_empty());
}
