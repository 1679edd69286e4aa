//! The agent session: a tool-using conversation with the model.
//!
//! [`AgentSession`] gives the model a [`ToolSet`] (read files, search, edit,
//! run the tests, …) and lets it work turn by turn until it calls `finish`
//! or a limit stops it:
//!
//! ```text
//! for turn in 1..=max_turns:
//!     compact the conversation when it reaches compact_at × the context window
//!     budget check (BudgetStop event, end: BudgetStop)
//!     model turn (LlmCall event; a provider error ends the session: SessionError::Provider)
//!     no tool call in the answer: nudge, count it invalid
//!     for each tool call, in order:
//!         budget check (so wall time is enforced between tools)
//!         run it through ToolSet::call; its observation is bounded and appended
//!         (ToolCall event: name, SHA-256 of the arguments, duration, bytes, error)
//!         an invalid call (unknown tool, arguments that do not match) counts;
//!         a valid one resets the count; max_invalid_calls in a row: end InvalidCalls
//!         a tool output that finishes (`finish`): end Finished { summary }
//! end MaxTurns
//! ```
//!
//! **Errors are observations.** A tool that fails gives the model
//! `error: {message}` as its observation, so the model can try again; only
//! the count of invalid calls in a row ends a session. A provider error
//! ends it ([`SessionError::Provider`]) after it is journaled: the
//! provider's own layers (retry, cascade) already did what they could.
//!
//! **Two ways to call tools** ([`ToolMode`]). `Native` uses the provider's
//! tool calling: the request carries the tool specs, the answer's tool calls
//! are answered with `tool` messages. `Json` is for models without tool
//! calling: the tools are described in the system prompt and the model
//! answers one JSON object `{"tool": NAME, "arguments": {...}}` per turn
//! (in a code fence or not); observations come back as user messages
//! `Observation from NAME:\n...`. An answer that is not such an object is an
//! invalid call whose observation spells out the format.
//!
//! **Compaction.** Before each model turn the conversation's size is
//! estimated (four bytes a token,
//! [`estimate_tokens`](crate::tools::estimate_tokens)); at or above
//! `compact_at ×` the context window (the configured one, else the model's
//! from [`LlmProvider::capabilities`],
//! else 128,000 tokens), the oldest tool observations
//! outside the last `keep_recent_turns` turns are replaced, oldest first,
//! by a one-line stub (`[observation of read_file(src/lib.rs) dropped to
//! save context: 812 tokens]`) until the estimate is under the threshold.
//! The system prompt, the first user message (the goal and the failures)
//! and the most recent test run's observation (the latest failure) are
//! never touched. The model can read a dropped file again; the report
//! counts the compactions, the journal does not.
//!
//! **Determinism.** A request is a function of the system prompt, the first
//! user message, the model's answers and the tools' observations: the
//! session adds no time, no absolute path and no random id (a tool call
//! without an id gets `call_{turn}_{index}`), so a record/replay cassette
//! answers the same session again.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use agent_core::{Journal, LlmProvider};
//! # use agent_core::budget::{Budget, BudgetTracker};
//! # use agent_core::tool::ToolContext;
//! use agent_loop::session::{AgentSession, SessionConfig, SessionEnd, SessionError};
//! use agent_loop::tools::ToolSet;
//! # async fn host(provider: Arc<dyn LlmProvider>, tools: ToolSet, journal: Arc<dyn Journal>, cx: ToolContext)
//! #     -> Result<(), SessionError> {
//! let session = AgentSession::new(provider, tools, journal, "fix-average".into())
//!     .with_config(SessionConfig::default().with_max_turns(20))
//!     .with_purpose("repair");
//! let mut tracker = BudgetTracker::start(Budget::unlimited().with_max_tokens(200_000));
//! let report = session
//!     .run(&cx, "You fix failing tests.".into(), "Make `cargo test` pass.".into(), &mut tracker)
//!     .await?;
//! match &report.end {
//!     SessionEnd::Finished { summary } => println!("done: {summary}"),
//!     other => println!("stopped: {other:?}"),
//! }
//! println!("{} turns, {} files changed", report.turns.len(), report.changes.len());
//! # Ok(()) }
//! ```

mod conversation;
mod json_mode;
mod run;

pub use crate::repair::Observer;
use crate::tools::ToolSet;
use agent_core::budget::{BudgetStop, BudgetTracker, Usd};
use agent_core::edit::FileChange;
use agent_core::event::TaskId;
use agent_core::failure::Classification;
use agent_core::journal::JournalError;
use agent_core::provider::{ProviderError, ReasoningRequest, Usage};
use agent_core::tool::ToolContext;
use agent_core::{Journal, LlmProvider};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The user message that answers a native-mode turn without a tool call.
pub const NUDGE: &str = "Call a tool; call `finish` when done.";

/// How the model calls tools.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ToolMode {
    /// The provider's tool calling: the request carries the tool specs.
    #[default]
    Native,
    /// For models without tool calling: the tools are described in the
    /// system prompt and the model answers one JSON object
    /// `{"tool": NAME, "arguments": {...}}` per turn.
    Json,
}

/// The context window assumed when neither the configuration nor the model says.
const DEFAULT_CONTEXT_WINDOW: usize = 128_000;

/// The limits and settings of a session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Most model turns (default 30); reaching it ends the session as
    /// [`SessionEnd::MaxTurns`].
    pub max_turns: u32,
    /// Most invalid calls in a row (unknown tool, arguments that do not
    /// match, an answer without a call; default 3); reaching it ends the
    /// session as [`SessionEnd::InvalidCalls`].
    pub max_invalid_calls: u32,
    /// The model's context window, in tokens. `None` (the default): the
    /// window the provider reports in its
    /// [`capabilities`](agent_core::LlmProvider::capabilities), else 128,000.
    pub context_window_tokens: Option<usize>,
    /// The fraction of the window at which old observations are dropped
    /// (default 0.75; in `(0, 1]`).
    pub compact_at: f64,
    /// Observations of the last this many turns are never dropped (default 2).
    pub keep_recent_turns: u32,
    /// How the model calls tools (default [`ToolMode::Native`]).
    pub mode: ToolMode,
    /// Upper bound on the tokens of one answer (default 8,192).
    pub max_tokens: Option<u32>,
    /// Sampling temperature (default 0; `None` sends none, for models that
    /// refuse one).
    pub temperature: Option<f32>,
    /// How much a reasoning model should think (default: the provider's default).
    pub reasoning: Option<ReasoningRequest>,
}

impl Default for SessionConfig {
    /// 30 turns, 3 invalid calls in a row, the model's context window
    /// (else 128,000 tokens) compacted at 75 %, the last 2 turns kept, native
    /// tool calls, 8,192 tokens an answer, temperature 0, no reasoning controls.
    fn default() -> Self {
        Self {
            max_turns: 30,
            max_invalid_calls: 3,
            context_window_tokens: None,
            compact_at: 0.75,
            keep_recent_turns: 2,
            mode: ToolMode::Native,
            max_tokens: Some(8192),
            temperature: Some(0.0),
            reasoning: None,
        }
    }
}

impl SessionConfig {
    /// At most `n` model turns.
    pub fn with_max_turns(mut self, n: u32) -> Self {
        self.max_turns = n;
        self
    }

    /// At most `n` invalid calls in a row.
    pub fn with_max_invalid_calls(mut self, n: u32) -> Self {
        self.max_invalid_calls = n;
        self
    }

    /// A context window of `tokens`, whatever the model reports.
    pub fn with_context_window_tokens(mut self, tokens: usize) -> Self {
        self.context_window_tokens = Some(tokens);
        self
    }

    /// Sets the reasoning controls sent with every model call.
    pub fn with_reasoning(mut self, reasoning: Option<ReasoningRequest>) -> Self {
        self.reasoning = reasoning;
        self
    }

    /// The context window in tokens: the configured one, else `model_window`
    /// (from the provider's capabilities), else 128,000.
    pub fn context_window(&self, model_window: Option<u64>) -> usize {
        self.context_window_tokens
            .or_else(|| model_window.and_then(|w| usize::try_from(w).ok()))
            .filter(|w| *w > 0)
            .unwrap_or(DEFAULT_CONTEXT_WINDOW)
    }

    /// Compacts at `fraction` of the context window.
    pub fn with_compact_at(mut self, fraction: f64) -> Self {
        self.compact_at = fraction;
        self
    }

    /// Never drops the observations of the last `turns` turns.
    pub fn with_keep_recent_turns(mut self, turns: u32) -> Self {
        self.keep_recent_turns = turns;
        self
    }

    /// Calls tools the `mode` way.
    pub fn with_mode(mut self, mode: ToolMode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets the upper bound on the tokens of one answer (`None`: the provider's default).
    pub fn with_max_tokens(mut self, max_tokens: Option<u32>) -> Self {
        self.max_tokens = max_tokens;
        self
    }

    /// Sets the sampling temperature (`None`: send none).
    pub fn with_temperature(mut self, temperature: Option<f32>) -> Self {
        self.temperature = temperature;
        self
    }

    /// The estimate, in tokens, at which the conversation is compacted, for
    /// a model whose context window is `model_window` (see [`context_window`](Self::context_window)).
    pub fn compaction_threshold(&self, model_window: Option<u64>) -> usize {
        (self.compact_at * self.context_window(model_window) as f64) as usize
    }

    fn validate(&self) -> Result<(), SessionError> {
        let reason = if self.max_turns == 0 {
            "max_turns must be at least 1"
        } else if self.max_invalid_calls == 0 {
            "max_invalid_calls must be at least 1"
        } else if self.context_window_tokens == Some(0) {
            "context_window_tokens must be at least 1"
        } else if !(self.compact_at > 0.0 && self.compact_at <= 1.0) {
            "compact_at must be a fraction in (0, 1]"
        } else {
            return Ok(());
        };
        Err(SessionError::InvalidConfig { reason: reason.to_owned() })
    }
}

/// How a session ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "end", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SessionEnd {
    /// The model called `finish` (a tool whose output finishes the session).
    Finished {
        /// The model's summary of what it did.
        summary: String,
    },
    /// `max_turns` model turns were taken without `finish`.
    MaxTurns {
        /// The limit.
        turns: u32,
    },
    /// `max_invalid_calls` invalid calls in a row: the model cannot use the
    /// tools (the caller treats it as needing a human).
    InvalidCalls {
        /// Invalid calls in a row.
        count: u32,
        /// What was wrong with the last one.
        last_error: String,
    },
    /// A budget ran out before a model turn or a tool call.
    BudgetStop(BudgetStop),
}

/// One tool call of a turn.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ToolCallReport {
    /// The tool's name as the model called it.
    pub name: String,
    /// SHA-256 (hex) of the arguments as the model sent them (never the
    /// arguments themselves: they may hold file contents).
    pub arguments_sha256: String,
    /// Whether the tool ran and succeeded.
    pub ok: bool,
    /// The error shown to the model instead of a result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Bytes of the observation shown to the model.
    pub result_bytes: u64,
    /// How long the call took, in milliseconds.
    pub duration_ms: u64,
}

/// One model turn and the tool calls it asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct TurnReport {
    /// The turn, from 1.
    pub turn: u32,
    /// The model's text in this turn (in JSON mode, the whole answer).
    pub text: String,
    /// The tool calls run, in order (fewer than asked when the session
    /// ended in the middle of the turn).
    pub tool_calls: Vec<ToolCallReport>,
    /// Why the answer held no call the session could run (no tool call, or
    /// in JSON mode an answer that is not a call object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a session did and how it ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct SessionReport {
    /// How it ended.
    pub end: SessionEnd,
    /// Every model turn, in order.
    pub turns: Vec<TurnReport>,
    /// Every file the session changed, one entry per path (the last change
    /// of a path wins; paths in the order first changed).
    pub changes: Vec<FileChange>,
    /// The classification of the last test run, if the session ran the tests.
    pub last_classification: Option<Classification>,
    /// Tokens of this session's model calls.
    pub usage: Usage,
    /// Cost of this session's model calls (priced calls only).
    pub cost_usd: Usd,
    /// How many times old observations were dropped to save context.
    pub compactions: u32,
}

impl SessionReport {
    /// Tool calls run in all turns.
    pub fn tool_call_count(&self) -> usize {
        self.turns.iter().map(|t| t.tool_calls.len()).sum()
    }

    /// The summary, when the model finished.
    pub fn summary(&self) -> Option<&str> {
        match &self.end {
            SessionEnd::Finished { summary } => Some(summary),
            _ => None,
        }
    }
}

/// Why a session could not go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// A model call failed (after the provider's own retries); it is
    /// journaled as an `LlmCall` with its error class.
    #[error("model call failed in turn {turn}: {error}")]
    Provider {
        /// The turn whose call failed, from 1.
        turn: u32,
        /// The provider's error, with its class (boxed: it carries the
        /// provider's raw body).
        #[source]
        error: Box<ProviderError>,
    },
    /// The journal failed.
    #[error("journal failed: {0}")]
    Journal(#[from] JournalError),
    /// The configuration cannot work (e.g. zero turns).
    #[error("invalid session configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: String,
    },
}

/// A tool-using conversation with the model over a [`ToolSet`].
pub struct AgentSession {
    provider: Arc<dyn LlmProvider>,
    tools: ToolSet,
    journal: Arc<dyn Journal>,
    task: TaskId,
    config: SessionConfig,
    observer: Option<Observer>,
    purpose: String,
}

impl std::fmt::Debug for AgentSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentSession")
            .field("provider", self.provider.id())
            .field("tools", &self.tools)
            .field("task", &self.task)
            .field("config", &self.config)
            .field("purpose", &self.purpose)
            .finish_non_exhaustive()
    }
}

impl AgentSession {
    /// A session of `task` asking `provider`, offering `tools`, journaling
    /// to `journal`, with the default configuration and purpose `session`.
    pub fn new(provider: Arc<dyn LlmProvider>, tools: ToolSet, journal: Arc<dyn Journal>, task: TaskId) -> Self {
        Self {
            provider,
            tools,
            journal,
            task,
            config: SessionConfig::default(),
            observer: None,
            purpose: "session".to_owned(),
        }
    }

    /// Sets the configuration.
    pub fn with_config(mut self, config: SessionConfig) -> Self {
        self.config = config;
        self
    }

    /// Calls `observer` with every event as it is journaled.
    pub fn with_observer(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// What the model calls are for (`plan`, `repair`), as written in the
    /// `LlmCall` events.
    pub fn with_purpose(mut self, purpose: impl Into<String>) -> Self {
        self.purpose = purpose.into();
        self
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The tools offered.
    pub fn tools(&self) -> &ToolSet {
        &self.tools
    }

    /// Runs the conversation from `system` and `first_user` (the goal and
    /// what fails) until the model finishes or a limit stops it, with tool
    /// calls run in `cx` and every model turn checked against and recorded
    /// in `tracker`.
    ///
    /// `Ok` for every ending in [`SessionEnd`]; `Err` when a model call
    /// fails, the journal fails, or the configuration cannot work.
    pub async fn run(
        &self,
        cx: &ToolContext,
        system: String,
        first_user: String,
        tracker: &mut BudgetTracker,
    ) -> Result<SessionReport, SessionError> {
        use tracing::Instrument;
        self.config.validate()?;
        let span = tracing::info_span!(
            "gen_ai.invoke_agent",
            gen_ai.operation.name = "invoke_agent",
            gen_ai.request.model = %self.provider.id().model(),
            gen_ai.system = %self.provider.id().kind(),
            task = %self.task,
            purpose = %self.purpose,
        );
        run::SessionRun::new(self, cx, system, first_user).run(tracker).instrument(span).await
    }
}
