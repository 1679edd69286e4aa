//! The [`Memory`] trait: what earlier tasks learned, carried into the next
//! planning prompt.
//!
//! Two kinds of note: an [`AttemptNote`] (what was tried on a task and how
//! it failed) is recalled when the same task comes back; a [`Lesson`] (a
//! failure kind in a workspace and the fix that worked) is recalled for
//! every task in that workspace. Implementations keep memory bounded and
//! never store secrets ([`scrub_secrets`] is applied to every text field).

use crate::failure::FailureKind;
use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// One attempt at a task, as remembered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct AttemptNote {
    /// The workspace (a stable name, e.g. the root directory's name or a repository URL).
    pub workspace: String,
    /// The task's goal, which identifies "the same task".
    pub goal: String,
    /// Attempt number, from 1.
    pub attempt: u32,
    /// What was tried (the plan's summary).
    pub tried: String,
    /// Files the attempt changed.
    pub files: Vec<String>,
    /// How it failed: one line per root cause (`kind file:line message`); empty when it passed.
    pub failed_with: Vec<String>,
}

/// A failure kind in a workspace and the fix that made it pass.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Lesson {
    /// The workspace.
    pub workspace: String,
    /// The kind of failure that was fixed.
    pub failure_kind: FailureKind,
    /// The compiler or linter code, when there was one (`E0308`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// What fixed it (the passing plan's summary).
    pub fix: String,
    /// Files the fix changed.
    pub files: Vec<String>,
}

impl AttemptNote {
    /// A note of one attempt.
    pub fn new(
        workspace: impl Into<String>,
        goal: impl Into<String>,
        attempt: u32,
        tried: impl Into<String>,
        files: Vec<String>,
        failed_with: Vec<String>,
    ) -> Self {
        Self { workspace: workspace.into(), goal: goal.into(), attempt, tried: tried.into(), files, failed_with }
    }
}

impl Lesson {
    /// A lesson: `failure_kind` (with `code`) was fixed by `fix`.
    pub fn new(
        workspace: impl Into<String>,
        failure_kind: FailureKind,
        code: Option<String>,
        fix: impl Into<String>,
        files: Vec<String>,
    ) -> Self {
        Self { workspace: workspace.into(), failure_kind, code, fix: fix.into(), files }
    }
}

/// A note to remember.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum MemoryEntry {
    /// An attempt at a task.
    Attempt(AttemptNote),
    /// A lesson for a workspace.
    Lesson(Lesson),
}

/// What memory returns for a new task.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Recollection {
    /// Earlier attempts at the same goal in the same workspace, oldest first.
    pub attempts: Vec<AttemptNote>,
    /// Lessons of the workspace, newest first.
    pub lessons: Vec<Lesson>,
}

impl Recollection {
    /// Whether there is nothing to tell.
    pub fn is_empty(&self) -> bool {
        self.attempts.is_empty() && self.lessons.is_empty()
    }

    /// The section a planning prompt carries; empty when there is nothing to tell.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if !self.attempts.is_empty() {
            out.push_str("Earlier attempts at this same task (do not repeat what failed):\n");
            for a in &self.attempts {
                let _ = write!(out, "- attempt {}: {}", a.attempt, a.tried);
                if !a.files.is_empty() {
                    let _ = write!(out, " (files: {})", a.files.join(", "));
                }
                if a.failed_with.is_empty() {
                    out.push_str(" — passed\n");
                } else {
                    let _ = writeln!(out, " — failed with: {}", a.failed_with.join("; "));
                }
            }
        }
        if !self.lessons.is_empty() {
            out.push_str("Lessons from earlier tasks in this workspace:\n");
            for l in &self.lessons {
                let _ = write!(out, "- {}", l.failure_kind.name());
                if let Some(code) = &l.code {
                    let _ = write!(out, " {code}");
                }
                let _ = writeln!(out, " was fixed by: {}", l.fix);
            }
        }
        out
    }
}

/// Why memory could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MemoryError {
    /// Reading or writing the store failed.
    #[error("memory store {path}: {source}")]
    Io {
        /// The store's path.
        path: std::path::PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A complete line of the store is not a memory entry.
    #[error("memory store {path} line {line} is corrupt: {message}")]
    Corrupt {
        /// The store's path.
        path: std::path::PathBuf,
        /// 1-based line number.
        line: usize,
        /// What the parser said.
        message: String,
    },
}

/// Where attempts and lessons are kept between tasks.
///
/// ```
/// use agent_core::{async_trait, Memory};
/// use agent_core::memory::{MemoryEntry, MemoryError, Recollection};
/// use std::sync::Mutex;
///
/// /// Keeps nothing: the behaviour of a loop without memory.
/// struct Forgetful;
///
/// #[async_trait]
/// impl Memory for Forgetful {
///     async fn recall(&self, _workspace: &str, _goal: &str) -> Result<Recollection, MemoryError> {
///         Ok(Recollection::default())
///     }
///     async fn remember(&self, _entry: MemoryEntry) -> Result<(), MemoryError> {
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait Memory: Send + Sync {
    /// Attempts at `goal` and lessons of `workspace`.
    async fn recall(&self, workspace: &str, goal: &str) -> Result<Recollection, MemoryError>;
    /// Stores one note (scrubbed of secrets and bounded by the implementation).
    async fn remember(&self, entry: MemoryEntry) -> Result<(), MemoryError>;
}

#[async_trait]
impl<M: Memory + ?Sized> Memory for std::sync::Arc<M> {
    async fn recall(&self, workspace: &str, goal: &str) -> Result<Recollection, MemoryError> {
        (**self).recall(workspace, goal).await
    }
    async fn remember(&self, entry: MemoryEntry) -> Result<(), MemoryError> {
        (**self).remember(entry).await
    }
}

/// What a secret is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Prefixes of well-known credential formats (OpenAI, Anthropic, GitHub,
/// Slack, AWS, Google, GitLab).
const SECRET_PREFIXES: &[&str] =
    &["sk-", "ghp_", "gho_", "ghu_", "ghs_", "github_pat_", "xoxb-", "xoxp-", "AKIA", "AIza", "glpat-"];

/// Replaces what looks like a credential with [`REDACTED`]: tokens with a
/// well-known key prefix, the value after `Bearer `, and the value of a
/// `NAME=value` or `NAME: value` whose name looks secret
/// ([`EnvPolicy::looks_secret`](crate::exec::EnvPolicy::looks_secret)).
///
/// ```
/// use agent_core::memory::scrub_secrets;
///
/// assert_eq!(scrub_secrets("export OPENAI_API_KEY=sk-abc123def456"), "export OPENAI_API_KEY=[REDACTED]");
/// assert_eq!(scrub_secrets("Authorization: Bearer abc.def"), "Authorization: Bearer [REDACTED]");
/// assert_eq!(scrub_secrets("fixed the off-by-one in skip()"), "fixed the off-by-one in skip()");
/// ```
pub fn scrub_secrets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut redact_next = false;
    for piece in text.split_inclusive(|c: char| c.is_whitespace()) {
        let word = piece.trim_end();
        let space = &piece[word.len()..];
        if redact_next && !word.is_empty() {
            out.push_str(REDACTED);
            out.push_str(space);
            redact_next = false;
            continue;
        }
        if word == "Bearer" || word == "bearer" {
            redact_next = true;
            out.push_str(piece);
            continue;
        }
        if let Some((name, value)) = word.split_once('=').or_else(|| word.split_once(':')) {
            let name_only = name.trim_start_matches(|c: char| !c.is_alphanumeric() && c != '_');
            if crate::exec::EnvPolicy::looks_secret(&name_only.to_ascii_uppercase()) {
                if value.is_empty() {
                    redact_next = word.ends_with(':') || word.ends_with('=');
                    out.push_str(piece);
                } else {
                    out.push_str(&word[..word.len() - value.len()]);
                    out.push_str(REDACTED);
                    out.push_str(space);
                }
                continue;
            }
        }
        let bare = word.trim_matches(|c: char| c == '"' || c == '\'' || c == ',' || c == ';');
        if bare.len() >= 12 && SECRET_PREFIXES.iter().any(|p| bare.starts_with(p)) {
            out.push_str(&word.replace(bare, REDACTED));
            out.push_str(space);
            continue;
        }
        out.push_str(piece);
    }
    out
}
