//! What a tool call runs in ([`ToolContext`]) and what it gives back
//! ([`ToolOutput`], [`ToolError`]).

use crate::context::ContextRenderer;
use crate::edit::{EditError, FileChange};
use crate::exec::{ExecError, SandboxPolicy};
use crate::failure::Classification;
use crate::workspace::{ContainmentError, WorkspaceProfile};
use crate::{Editor, Executor, FailureClassifier};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How large an observation may be, and how long a command may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObservationLimits {
    /// Most tokens of one observation (counted at about four bytes a token);
    /// a longer one keeps its head and tail with a note of what was cut.
    pub max_tokens: usize,
    /// Most lines `read_file` shows at once.
    pub max_read_lines: usize,
    /// Most matches `search` shows, and entries `list_files` lists.
    pub max_matches: usize,
    /// Wall-clock limit of a command the model runs.
    pub command_timeout: Duration,
    /// Wall-clock limit of a test run.
    pub test_timeout: Duration,
}

impl Default for ObservationLimits {
    /// 2,000 tokens, 200 lines, 100 matches, commands 2 minutes, tests 10 minutes.
    fn default() -> Self {
        Self {
            max_tokens: 2_000,
            max_read_lines: 200,
            max_matches: 100,
            command_timeout: Duration::from_secs(120),
            test_timeout: Duration::from_secs(600),
        }
    }
}

impl ObservationLimits {
    /// With at most `n` tokens per observation.
    pub fn with_max_tokens(mut self, n: usize) -> Self {
        self.max_tokens = n.max(64);
        self
    }

    /// With commands limited to `limit` of wall-clock time.
    pub fn with_command_timeout(mut self, limit: Duration) -> Self {
        self.command_timeout = limit;
        self
    }

    /// With test runs limited to `limit` of wall-clock time.
    pub fn with_test_timeout(mut self, limit: Duration) -> Self {
        self.test_timeout = limit;
        self
    }
}

/// Everything a tool call may use: the workspace root and profile, the parts
/// that act on it, and the limits.
#[derive(Clone)]
#[non_exhaustive]
pub struct ToolContext {
    /// The workspace root; every path a tool takes is relative to it.
    pub root: PathBuf,
    /// Applies file actions (the only way a tool writes).
    pub editor: Arc<dyn Editor>,
    /// Runs commands (the only way a tool starts a process).
    pub executor: Arc<dyn Executor>,
    /// What the workspace is and how to test it.
    pub profile: WorkspaceProfile,
    /// Classifies test runs.
    pub classifier: Arc<dyn FailureClassifier>,
    /// Renders a classified run for the model.
    pub renderer: Arc<dyn ContextRenderer>,
    /// The sandbox every command the model asks for runs under.
    pub sandbox: SandboxPolicy,
    /// Observation sizes and command limits.
    pub limits: ObservationLimits,
    /// Tests the environment broke before any change (a baseline run
    /// classified their failures as [`FailureKind::Environment`](crate::failure::FailureKind::Environment)):
    /// a test-running tool leaves those failures out of what the model is
    /// shown ([`Classification::without_environment_failures_of`](crate::failure::Classification::without_environment_failures_of)),
    /// since no edit can mend them. Empty by default.
    pub environment_broken_tests: BTreeSet<String>,
}

impl std::fmt::Debug for ToolContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolContext")
            .field("root", &self.root)
            .field("sandbox", &self.sandbox)
            .field("limits", &self.limits)
            .field("environment_broken_tests", &self.environment_broken_tests)
            .finish_non_exhaustive()
    }
}

impl ToolContext {
    /// A context over `root` with default limits and no sandbox (set one with
    /// [`with_sandbox`](Self::with_sandbox)).
    pub fn new(
        root: impl Into<PathBuf>,
        editor: Arc<dyn Editor>,
        executor: Arc<dyn Executor>,
        profile: WorkspaceProfile,
        classifier: Arc<dyn FailureClassifier>,
        renderer: Arc<dyn ContextRenderer>,
    ) -> Self {
        Self {
            root: root.into(),
            editor,
            executor,
            profile,
            classifier,
            renderer,
            sandbox: SandboxPolicy::None,
            limits: ObservationLimits::default(),
            environment_broken_tests: BTreeSet::new(),
        }
    }

    /// Commands the model asks for run under `policy`.
    pub fn with_sandbox(mut self, policy: SandboxPolicy) -> Self {
        self.sandbox = policy;
        self
    }

    /// With these limits.
    pub fn with_limits(mut self, limits: ObservationLimits) -> Self {
        self.limits = limits;
        self
    }

    /// With these tests known to be broken by the environment before any
    /// change ([`environment_broken_tests`](Self::environment_broken_tests)).
    pub fn with_environment_broken_tests(mut self, tests: impl IntoIterator<Item = String>) -> Self {
        self.environment_broken_tests = tests.into_iter().collect();
        self
    }
}

/// What a tool call gives back.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ToolOutput {
    /// The observation shown to the model.
    pub content: String,
    /// Files the call changed, with their evidence.
    pub changes: Vec<FileChange>,
    /// The classified run, when the call ran the tests.
    pub classification: Option<Classification>,
    /// The summary, when the call ends the session (`finish`).
    pub finished: Option<String>,
}

impl ToolOutput {
    /// An observation of `content`.
    pub fn text(content: impl Into<String>) -> Self {
        Self { content: content.into(), ..Self::default() }
    }

    /// With the files the call changed.
    pub fn with_changes(mut self, changes: Vec<FileChange>) -> Self {
        self.changes = changes;
        self
    }

    /// With the classified test run.
    pub fn with_classification(mut self, classification: Classification) -> Self {
        self.classification = Some(classification);
        self
    }

    /// An output that ends the session with `summary`.
    pub fn finish(summary: impl Into<String>) -> Self {
        let summary = summary.into();
        Self { content: format!("finished: {summary}"), finished: Some(summary), ..Self::default() }
    }
}

/// Why a tool call failed. The session shows the message to the model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ToolError {
    /// The arguments do not match the tool's schema.
    #[error("invalid arguments for `{tool}`: {reason}")]
    InvalidArguments {
        /// The tool.
        tool: String,
        /// What is wrong, naming the field.
        reason: String,
    },
    /// The model called a tool the session does not offer.
    #[error("unknown tool `{tool}`; the tools are: {known}")]
    UnknownTool {
        /// The name called.
        tool: String,
        /// The names offered, comma-separated.
        known: String,
    },
    /// A path outside the workspace (or inside `.git`) was refused.
    #[error("refused: {0}")]
    Refused(#[from] ContainmentError),
    /// The call ran and could not do what was asked (an edit whose text is
    /// not in the file, a file that does not exist, …), with what to do.
    #[error("{tool} failed: {reason}")]
    Failed {
        /// The tool.
        tool: String,
        /// Why, and the nearest thing that would work.
        reason: String,
    },
    /// The editor refused or failed.
    #[error("edit failed: {0}")]
    Edit(#[from] EditError),
    /// A command could not be run at all.
    #[error("command failed to run: {0}")]
    Exec(#[from] ExecError),
}

impl ToolError {
    /// Whether the call itself was malformed (an unknown tool or arguments
    /// that do not match the schema): the kind a session counts towards
    /// giving up.
    pub fn is_invalid_call(&self) -> bool {
        matches!(self, ToolError::InvalidArguments { .. } | ToolError::UnknownTool { .. })
    }
}
