//! Test doubles for every trait the loop uses.

use agent_core::edit::{EditError, FileChange};
use agent_core::exec::{CommandSpec, ExecError, RunOutput};
use agent_core::failure::{Classification, Failure, FailureCategory, FailureKind, TestCounts, Tier};
use agent_core::gate::{GateContext, GateError, GateReport};
use agent_core::plan::Action;
use agent_core::provider::{
    Completion, CompletionRequest, CompletionStream, ProviderError, ProviderErrorKind, ProviderId, Usage,
    stream_from_completion,
};
use agent_core::snapshot::{SnapshotError, SnapshotId};
use agent_core::workspace::{DetectedCommand, OracleError, Project, WorkspaceProfile};
use agent_core::{Editor, Executor, FailureClassifier, Gate, LlmProvider, Snapshotter, WorkspaceOracle, async_trait};
use agent_loop::{MemoryJournal, RepairParts};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A plan writing one file.
pub(crate) fn plan_json(path: &str) -> String {
    serde_json::json!({
        "summary": format!("write {path}"),
        "actions": [{ "action": "write_file", "path": path, "content": "x" }]
    })
    .to_string()
}

/// A scripted model (test double): answers in order, records requests.
pub(crate) struct Model {
    id: ProviderId,
    replies: Mutex<Vec<Result<String, &'static str>>>,
    requests: Mutex<Vec<CompletionRequest>>,
}

impl Model {
    /// A scripted model answering `replies` in order.
    pub(crate) fn scripted(replies: Vec<&str>) -> Self {
        Self {
            id: ProviderId::new("fake:model"),
            replies: Mutex::new(replies.into_iter().map(|r| Ok(r.to_owned())).collect()),
            requests: Mutex::new(Vec::new()),
        }
    }

    /// A scripted model answering `replies` in order, `Err` as a failed call
    /// (a message starting `ledger` is a spend refusal).
    pub(crate) fn with_results(replies: Vec<Result<String, &'static str>>) -> Self {
        Self { id: ProviderId::new("fake:model"), replies: Mutex::new(replies), requests: Mutex::new(Vec::new()) }
    }

    pub(crate) fn requests(&self) -> Vec<CompletionRequest> {
        self.requests.lock().unwrap().clone()
    }
}

#[async_trait]
impl LlmProvider for Model {
    fn id(&self) -> &ProviderId {
        &self.id
    }
    async fn complete(&self, req: CompletionRequest) -> Result<Completion, ProviderError> {
        self.requests.lock().unwrap().push(req);
        let mut replies = self.replies.lock().unwrap();
        if replies.is_empty() {
            return Err(ProviderError::new(ProviderErrorKind::Other, self.id.clone(), "script exhausted"));
        }
        match replies.remove(0) {
            Ok(text) => Ok(Completion::new(self.id.clone(), text).with_usage(Usage::new(10, 5))),
            // `ledger: …` is a spend refusal (as agent-store's LedgerGuard reports one); else the server failed.
            Err(msg) if msg.starts_with("ledger") => Err(ProviderError::new(
                ProviderErrorKind::QuotaExhausted { resets_at_unix_ms: None },
                self.id.clone(),
                msg,
            )),
            Err(msg) => Err(ProviderError::new(ProviderErrorKind::Other, self.id.clone(), msg)),
        }
    }
    async fn stream(&self, req: CompletionRequest) -> Result<CompletionStream, ProviderError> {
        Ok(stream_from_completion(self.complete(req).await?))
    }
}

/// Replays canned (exit code, stderr) runs in order; the last one repeats.
/// With `refuse_after`, runs past that many are refused as a limit.
pub(crate) struct Runs(Mutex<Vec<(i32, &'static str)>>, Option<usize>, Mutex<usize>, bool);

#[async_trait]
impl Executor for Runs {
    async fn run(&self, cmd: CommandSpec) -> Result<RunOutput, ExecError> {
        let mut done = self.2.lock().unwrap();
        if self.1.is_some_and(|limit| *done >= limit) {
            return Err(ExecError::LimitReached { reason: "3 consecutive timeouts".into() });
        }
        *done += 1;
        if self.3 && *done > 1 {
            return Err(ExecError::InvalidCommand { reason: "the executor broke".into() });
        }
        let mut runs = self.0.lock().unwrap();
        let (code, stderr) = if runs.len() > 1 { runs.remove(0) } else { runs[0] };
        Ok(RunOutput::from_text(cmd.display(), code, "", stderr))
    }
}

/// Exit 0 passes, 127 is infrastructure, anything else is a test assertion.
pub(crate) struct ByExitCode;

impl FailureClassifier for ByExitCode {
    fn classify(&self, run: &RunOutput, _ws: &WorkspaceProfile) -> Classification {
        let mut c = Classification::default();
        c.tool = "fake".into();
        c.valid_run = true;
        match run.exit_code {
            Some(0) => c.tests = Some(TestCounts { passed: 1, failed: 0, ignored: 0 }),
            Some(127) => {
                c.failures.push(Failure::new(
                    FailureCategory::Infrastructure,
                    FailureKind::Environment,
                    run.stderr.text(),
                ));
                c.tier = Tier::Infrastructure;
            }
            _ => {
                c.failures.push(Failure::new(FailureCategory::Test, FailureKind::TestAssertion, run.stderr.text()));
                c.tier = Tier::Code;
                c.tests = Some(TestCounts { passed: 0, failed: 1, ignored: 0 });
            }
        }
        c
    }

    /// One test, `t`, passing on exit 0 and failing otherwise (none on 127).
    fn test_outcomes(&self, run: &RunOutput) -> Vec<agent_core::failure::TestOutcome> {
        use agent_core::failure::{TestOutcome, TestStatus};
        match run.exit_code {
            Some(0) => vec![TestOutcome::new("t", TestStatus::Passed)],
            Some(127) | None => vec![],
            Some(_) => vec![TestOutcome::new("t", TestStatus::Failed)],
        }
    }
}

/// Knows one project with (or without) a test command.
pub(crate) struct Oracle(bool);

#[async_trait]
impl WorkspaceOracle for Oracle {
    async fn inspect(&self, root: &Path) -> Result<WorkspaceProfile, OracleError> {
        let mut profile = WorkspaceProfile::new(root);
        let mut project = Project::new("", &["rust"], "cargo");
        if self.0 {
            project.test = Some(DetectedCommand::new("cargo", &["test"], vec![], 1.0));
        }
        profile.projects.push(project);
        Ok(profile)
    }
}

/// Counts snapshot operations.
#[derive(Default)]
pub(crate) struct SnapshotCounts {
    pub(crate) taken: u32,
    pub(crate) restored: u32,
    pub(crate) discarded: u32,
    /// Operations that fail: `snapshot`, `restore`, `discard`.
    pub(crate) failing: Vec<&'static str>,
}

fn refused(op: &str) -> SnapshotError {
    SnapshotError::Backend { operation: op.to_owned(), message: "disk full".to_owned() }
}

pub(crate) struct Snapshots(Arc<Mutex<SnapshotCounts>>);

#[async_trait]
impl Snapshotter for Snapshots {
    async fn snapshot(&self, _root: &Path) -> Result<SnapshotId, SnapshotError> {
        let mut s = self.0.lock().unwrap();
        if s.failing.contains(&"snapshot") {
            return Err(refused("snapshot"));
        }
        s.taken += 1;
        Ok(SnapshotId::new("s1"))
    }
    async fn restore(&self, _root: &Path, _id: &SnapshotId) -> Result<(), SnapshotError> {
        let mut s = self.0.lock().unwrap();
        if s.failing.contains(&"restore") {
            return Err(refused("restore"));
        }
        s.restored += 1;
        Ok(())
    }
    async fn discard(&self, _root: &Path, _id: &SnapshotId) -> Result<(), SnapshotError> {
        let mut s = self.0.lock().unwrap();
        if s.failing.contains(&"discard") {
            return Err(refused("discard"));
        }
        s.discarded += 1;
        Ok(())
    }
}

/// Accepts every edit without touching anything.
pub(crate) struct NoopEditor;

#[async_trait]
impl Editor for NoopEditor {
    async fn apply(&self, _root: &Path, action: &Action) -> Result<FileChange, EditError> {
        let path = action.path().ok_or(EditError::NotAnEdit)?.to_owned();
        Ok(FileChange::new(path, "modified"))
    }
}

/// Fails its first `failures` checks with a finding, then passes.
pub(crate) struct FailingGate(Mutex<u32>);

impl FailingGate {
    pub(crate) fn new(failures: u32) -> Self {
        Self(Mutex::new(failures))
    }
}

#[async_trait]
impl Gate for FailingGate {
    async fn check(&self, _cx: &GateContext) -> Result<GateReport, GateError> {
        let mut left = self.0.lock().unwrap();
        if *left > 0 {
            *left -= 1;
            let mut r = GateReport::new("style", false, "1 finding");
            r.findings.push("src/a.rs:3: line too long".into());
            return Ok(r);
        }
        Ok(GateReport::new("style", true, "clean"))
    }
}

/// All the fakes, with handles for assertions.
pub(crate) struct Fakes {
    pub(crate) model: Arc<Model>,
    runs: Vec<(i32, &'static str)>,
    pub(crate) refuse_after: Option<usize>,
    /// Every run after the baseline is an executor error (not a limit).
    pub(crate) refuse_with_io: bool,
    pub(crate) snapshots: Arc<Mutex<SnapshotCounts>>,
    pub(crate) journal: Arc<MemoryJournal>,
    pub(crate) oracle_has_tests: bool,
}

impl Fakes {
    pub(crate) fn new(replies: Vec<Result<String, &'static str>>, runs: Vec<(i32, &'static str)>) -> Self {
        let runs = if runs.is_empty() { vec![(0, "")] } else { runs };
        Self {
            model: Arc::new(Model {
                id: ProviderId::new("fake:model"),
                replies: Mutex::new(replies),
                requests: Mutex::new(Vec::new()),
            }),
            runs,
            refuse_after: None,
            refuse_with_io: false,
            snapshots: Arc::default(),
            journal: Arc::default(),
            oracle_has_tests: true,
        }
    }

    pub(crate) fn parts(&self) -> RepairParts {
        RepairParts {
            provider: self.model.clone(),
            oracle: Arc::new(Oracle(self.oracle_has_tests)),
            classifier: Arc::new(ByExitCode),
            executor: Arc::new(Runs(
                Mutex::new(self.runs.clone()),
                self.refuse_after,
                Mutex::new(0),
                self.refuse_with_io,
            )),
            snapshotter: Arc::new(Snapshots(self.snapshots.clone())),
            editor: Arc::new(NoopEditor),
            journal: self.journal.clone(),
        }
    }
}

/// The loop's configuration in plan mode: these fakes script JSON plans
/// (the one-shot mode), not agent sessions.
pub(crate) fn plan_config() -> agent_loop::RepairConfig {
    agent_loop::RepairConfig::default().with_mode(agent_loop::LoopMode::Plan)
}
