//! [`Inspector`]: deterministic gates first, then (optionally) a model's
//! review of the diff against the acceptance criteria, checked against the
//! evidence on disk, ending in a [`Verdict`].

use agent_core::edit::FileChange;
use agent_core::gate::{GateContext, GateReport, Verdict};
use agent_core::provider::{Completion, CompletionRequest, Message, ProviderError};
use agent_core::spec::TaskSpec;
use agent_core::{Gate, LlmProvider};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::sync::Arc;

/// The reviewer's overall call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewCall {
    /// The change meets every criterion.
    Approve,
    /// The change must be reworked.
    ChangesRequested,
    /// Some criteria are met, others are not.
    Partial,
}

/// The reviewer's finding on one acceptance criterion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CriterionFinding {
    /// The criterion's id.
    pub id: String,
    /// Whether the diff meets it.
    pub met: bool,
    /// Why, in a sentence.
    #[serde(default)]
    pub note: String,
}

/// A model's review of a change, in the shape its answer must have.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Review {
    /// The overall call.
    pub verdict: ReviewCall,
    /// Action items (what to change), empty on approval.
    #[serde(default)]
    pub items: Vec<String>,
    /// One finding per acceptance criterion.
    #[serde(default)]
    pub criteria: Vec<CriterionFinding>,
    /// Files the reviewer says the change modified: checked against the evidence manifest.
    #[serde(default)]
    pub changed_files: Vec<String>,
}

impl Review {
    /// The JSON schema a review answer must match.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Review)).unwrap_or(serde_json::Value::Null)
    }

    /// Parses a model's answer (the object alone or in one fenced block), strictly.
    pub fn parse(answer: &str) -> Result<Review, String> {
        let body = answer.trim();
        let body = body
            .strip_prefix("```json")
            .or_else(|| body.strip_prefix("```"))
            .and_then(|b| b.strip_suffix("```"))
            .unwrap_or(body)
            .trim();
        let value: serde_json::Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
        serde_path_to_error::deserialize(value).map_err(|e| format!("at `{}`: {}", e.path(), e.inner()))
    }
}

/// What an inspection found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Inspection {
    /// Reports of the gates, in order; a gate that did not apply is there
    /// as a [`GateReport::skipped`] report (as in the repair loop's).
    pub gates: Vec<GateReport>,
    /// Gates that did not apply to this workspace, named, with the reason.
    pub skipped: Vec<String>,
    /// The model's review, when one was asked for and parsed.
    pub review: Option<Review>,
    /// Claims of the review that the evidence on disk contradicts.
    pub contradicted_claims: Vec<String>,
    /// The verdict.
    pub verdict: Verdict,
    /// Every model call the review made, in order, with its latency: the
    /// host counts them against its budget and journals them (the repair
    /// loop does both).
    #[serde(default)]
    pub model_calls: Vec<ReviewTurn>,
}

/// One model call of a review: the completion or the provider's error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ReviewTurn {
    /// What the reviewer answered, or why the call failed.
    pub outcome: Result<Completion, ProviderError>,
    /// How long the call took, in milliseconds.
    pub latency_ms: u64,
}

impl ReviewTurn {
    /// The journal event of this call (purpose `review`).
    pub fn event(&self) -> agent_core::event::EventKind {
        match &self.outcome {
            Ok(c) => agent_core::event::EventKind::llm_call("review", c, self.latency_ms),
            Err(e) => agent_core::event::EventKind::failed_llm_call("review", e, self.latency_ms),
        }
    }
}

/// Runs the deterministic gates, then an optional model review, and decides.
///
/// - A gate that fails gives `ChangesRequested` (its summary and findings
///   are the items) and no review is asked for: evidence outranks opinion.
/// - A gate that cannot run gives `NeedsHuman`; one that does not apply
///   (`GateError::NotApplicable`) is listed as skipped.
/// - The review must parse against [`Review`]'s schema; after one corrective
///   re-ask, a second unparseable answer is `NeedsHuman`, never a loop.
/// - A review claiming a file changed that the editor's manifest does not
///   hold, or whose SHA-256 on disk differs from the manifest, is
///   `NeedsHuman`: the reviewer did not look at this change.
/// - Otherwise the review decides; `Approve` with an unmet criterion is `Partial`.
///
/// ```
/// use agent_core::gate::{GateContext, Verdict};
/// use agent_loop::Inspector;
/// use agent_core::workspace::WorkspaceProfile;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let cx = GateContext::new("/repo", WorkspaceProfile::default(), "goal", vec![]);
/// let inspection = Inspector::new().inspect(&cx, "").await;
/// assert_eq!(inspection.verdict, Verdict::Approve); // no gate, no reviewer: nothing objects
/// # });
/// ```
#[derive(Clone, Default)]
pub struct Inspector {
    gates: Vec<Arc<dyn Gate>>,
    reviewer: Option<Arc<dyn LlmProvider>>,
    spec: Option<TaskSpec>,
}

impl std::fmt::Debug for Inspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inspector")
            .field("gates", &self.gates.len())
            .field("reviewer", &self.reviewer.as_ref().map(|r| r.id().to_string()))
            .finish_non_exhaustive()
    }
}

const REVIEW_SYSTEM: &str = "You review a code change against its acceptance criteria. Answer with exactly one JSON \
object: {\"verdict\": \"approve\"|\"changes_requested\"|\"partial\", \"items\": [action items], \"criteria\": \
[{\"id\", \"met\": bool, \"note\"}], \"changed_files\": [paths the diff modifies]} and nothing else.";

impl Inspector {
    /// An inspector with no gate and no reviewer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a deterministic gate (run in the order added).
    pub fn with_gate(mut self, gate: Arc<dyn Gate>) -> Self {
        self.gates.push(gate);
        self
    }

    /// Asks `provider` for a review of the diff once every gate passed.
    pub fn with_reviewer(mut self, provider: Arc<dyn LlmProvider>) -> Self {
        self.reviewer = Some(provider);
        self
    }

    /// Reviews against this spec's acceptance criteria (else against the goal).
    pub fn with_spec(mut self, spec: TaskSpec) -> Self {
        self.spec = Some(spec);
        self
    }

    /// Inspects the change described by `cx` (its files and their evidence) and `diff`.
    pub async fn inspect(&self, cx: &GateContext, diff: &str) -> Inspection {
        let mut out = Inspection {
            gates: Vec::new(),
            skipped: Vec::new(),
            review: None,
            contradicted_claims: Vec::new(),
            verdict: Verdict::Approve,
            model_calls: Vec::new(),
        };
        let mut items = Vec::new();
        for gate in &self.gates {
            match agent_core::gate::check_gate(gate.as_ref(), cx).await {
                Ok(report) => {
                    if report.skipped {
                        out.skipped.push(format!("{}: {}", report.gate, report.summary));
                    } else if !report.passed {
                        items.push(format!("gate `{}`: {}", report.gate, report.summary));
                        items.extend(report.findings.iter().take(10).cloned());
                    }
                    out.gates.push(report);
                }
                Err(e) => {
                    out.verdict = Verdict::NeedsHuman { reason: format!("a gate could not run: {e}") };
                    return out;
                }
            }
        }
        if !items.is_empty() {
            out.verdict = Verdict::ChangesRequested { items };
            return out;
        }
        let Some(reviewer) = &self.reviewer else { return out };
        let review = match self.ask(reviewer.as_ref(), cx, diff, &mut out.model_calls).await {
            Ok(r) => r,
            Err(reason) => {
                out.verdict = Verdict::NeedsHuman { reason };
                return out;
            }
        };
        out.contradicted_claims = contradicted(&cx.root, &cx.changes, &review.changed_files);
        out.verdict = if !out.contradicted_claims.is_empty() {
            Verdict::NeedsHuman {
                reason: format!("the review's claims contradict the evidence: {}", out.contradicted_claims.join("; ")),
            }
        } else {
            let unmet: Vec<String> = review
                .criteria
                .iter()
                .filter(|c| !c.met)
                .map(|c| format!("criterion `{}` not met: {}", c.id, c.note))
                .collect();
            match review.verdict {
                ReviewCall::Approve if unmet.is_empty() => Verdict::Approve,
                ReviewCall::Approve | ReviewCall::Partial => {
                    Verdict::Partial { items: if unmet.is_empty() { review.items.clone() } else { unmet } }
                }
                ReviewCall::ChangesRequested => Verdict::ChangesRequested { items: review.items.clone() },
            }
        };
        out.review = Some(review);
        out
    }

    fn prompt(&self, cx: &GateContext, diff: &str) -> String {
        let mut p = String::new();
        match &self.spec {
            Some(spec) => {
                let _ = writeln!(p, "Task:\n{}\n", spec.goal());
            }
            None => {
                let _ = writeln!(p, "Goal: {}\n\nAcceptance criteria:\n- [goal] the goal is achieved\n", cx.goal);
            }
        }
        let files: Vec<&str> = cx.changes.iter().map(|c| c.path.as_str()).collect();
        let _ = writeln!(p, "Files changed: {}\n\nDiff:\n```diff\n{}\n```", files.join(", "), diff.trim_end());
        p
    }

    /// Whether a model reviews the change after the gates.
    pub fn has_reviewer(&self) -> bool {
        self.reviewer.is_some()
    }

    /// One review, with one corrective re-ask; `Err` is the NeedsHuman
    /// reason. Every call goes to `calls`.
    async fn ask(
        &self,
        reviewer: &dyn LlmProvider,
        cx: &GateContext,
        diff: &str,
        calls: &mut Vec<ReviewTurn>,
    ) -> Result<Review, String> {
        let mut messages = vec![Message::system(REVIEW_SYSTEM), Message::user(self.prompt(cx, diff))];
        let mut last_error = String::new();
        for round in 0..2 {
            let req = CompletionRequest::new(messages.clone())
                .with_temperature(0.0)
                .with_response_format("review", Review::json_schema());
            let started = std::time::Instant::now();
            let answer = reviewer.complete(req).await;
            let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            calls.push(ReviewTurn { outcome: answer.clone(), latency_ms });
            let completion = answer.map_err(|e| format!("the review call failed: {e}"))?;
            match Review::parse(&completion.content) {
                Ok(review) => return Ok(review),
                Err(e) => {
                    last_error = e;
                    if round == 0 {
                        messages.push(Message::assistant(completion.content).with_reasoning(completion.reasoning));
                        messages.push(Message::user(format!(
                            "Your review could not be read ({last_error}). Answer again with only the JSON object."
                        )));
                    }
                }
            }
        }
        Err(format!("the review did not match its schema twice: {last_error}"))
    }
}

/// Claims (`changed_files`) that the evidence manifest does not support.
fn contradicted(root: &std::path::Path, manifest: &[FileChange], claims: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for claim in claims {
        let claim = claim.trim_start_matches("./");
        let Some(entry) = manifest.iter().find(|c| c.path == claim) else {
            out.push(format!("`{claim}` is not among the files the change touched"));
            continue;
        };
        let on_disk = std::fs::read(root.join(claim)).ok().map(|b| hex::encode(Sha256::digest(&b)));
        if on_disk != entry.sha256 {
            out.push(format!("`{claim}` on disk does not match the editor's evidence"));
        }
    }
    out
}
