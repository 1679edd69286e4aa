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

/// The identity of a workspace for memory: lessons are shared by every
/// checkout with the same key and by no other.
///
/// A repository is identified by its root commit (so two clones in
/// differently named directories share a key, and two different
/// repositories both checked out as `app/` do not), plus the workspace's
/// path inside the repository when it is a subdirectory (two projects of a
/// monorepo stay apart). A directory outside any repository (or one with no
/// commit yet) is identified by its canonical path. A host with an identity
/// of its own (a repository URL) uses [`WorkspaceKey::named`].
///
/// ```
/// use agent_core::memory::WorkspaceKey;
/// use std::path::Path;
///
/// let root = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
/// assert_eq!(WorkspaceKey::repository(root, "").as_str(), format!("git:{root}"));
/// assert_eq!(WorkspaceKey::repository(root, "crates/core").as_str(), format!("git:{root}/crates/core"));
/// assert_eq!(WorkspaceKey::path(Path::new("/srv/app")).as_str(), "path:/srv/app");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct WorkspaceKey(String);

impl WorkspaceKey {
    /// The key of a repository whose root commit is `root_commit` (hex), for
    /// the workspace at `subdir` inside it (`/`-separated, empty for the
    /// repository's top level).
    pub fn repository(root_commit: &str, subdir: &str) -> Self {
        let subdir = subdir.trim_matches('/');
        if subdir.is_empty() { Self(format!("git:{root_commit}")) } else { Self(format!("git:{root_commit}/{subdir}")) }
    }

    /// The key of a directory outside any repository: its canonical path.
    pub fn path(canonical: &std::path::Path) -> Self {
        Self(format!("path:{}", canonical.display()))
    }

    /// A key the host chose (a repository URL, a project id), used as given.
    pub fn named(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    /// The key as text, as [`Memory::recall`] and the notes carry it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for WorkspaceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for WorkspaceKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Normalised goals longer than this are cut and suffixed with a hash of the whole.
const MAX_GOAL_KEY_CHARS: usize = 200;

/// The key that identifies "the same task": the goal scrubbed of secrets,
/// lower-cased, with apostrophes dropped and every run of other
/// non-alphanumeric characters (spaces, punctuation, backquotes) turned into
/// one space. A goal whose key is longer than 200 characters is keyed by its
/// first 200 and a stable hash of the whole, so a long goal keeps its key
/// whatever a store does to bound the text it keeps.
///
/// Both sides of a [`Memory`] use it: an [`AttemptNote`] records the key of
/// its full goal when it is made, and a recall compares that key with the
/// key of the goal asked about.
///
/// ```
/// use agent_core::memory::goal_key;
///
/// assert_eq!(goal_key("Fix the `mean()` function."), "fix the mean function");
/// assert_eq!(goal_key("  fix the mean-function  "), goal_key("Fix the mean function!"));
/// assert_eq!(goal_key("don't panic on empty input"), goal_key("Dont panic on empty input"));
/// assert_ne!(goal_key("fix issue 12"), goal_key("fix issue 13"));
/// ```
pub fn goal_key(goal: &str) -> String {
    let scrubbed = scrub_secrets(goal);
    let mut key = String::with_capacity(scrubbed.len());
    let mut gap = false;
    for c in scrubbed.chars() {
        if c == '\'' || c == '\u{2019}' {
            continue;
        }
        if c.is_alphanumeric() {
            if gap && !key.is_empty() {
                key.push(' ');
            }
            gap = false;
            key.extend(c.to_lowercase());
        } else {
            gap = true;
        }
    }
    match key.char_indices().nth(MAX_GOAL_KEY_CHARS) {
        Some((cut, _)) => format!("{}#{:016x}", &key[..cut], fnv1a(key.as_bytes())),
        None => key,
    }
}

/// FNV-1a, 64 bits: a hash that stays the same across builds and platforms.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// One attempt at a task, as remembered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct AttemptNote {
    /// The workspace's key ([`WorkspaceKey::as_str`]).
    pub workspace: String,
    /// The task's goal, as the user wrote it (a store may cut it).
    pub goal: String,
    /// [`goal_key`] of the full goal, which identifies "the same task"
    /// (empty in notes written before it existed: then it is computed from `goal`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub goal_key: String,
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
    /// The workspace's key ([`WorkspaceKey::as_str`]).
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
        let goal = goal.into();
        Self {
            workspace: workspace.into(),
            goal_key: goal_key(&goal),
            goal,
            attempt,
            tried: tried.into(),
            files,
            failed_with,
        }
    }

    /// Whether this note is an attempt at `goal`: the same [`goal_key`].
    pub fn is_for_goal(&self, goal: &str) -> bool {
        let asked = goal_key(goal);
        if self.goal_key.is_empty() { goal_key(&self.goal) == asked } else { self.goal_key == asked }
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
    /// Attempts at `goal` (the notes whose [`goal_key`] equals that of
    /// `goal`: see [`AttemptNote::is_for_goal`]) and lessons of `workspace`
    /// (a [`WorkspaceKey::as_str`], compared exactly).
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

/// Prefixes of well-known credential formats (OpenAI, Anthropic, Stripe,
/// GitHub, Slack, AWS, Google, GitLab, PyPI), shared with the command-line redaction
/// ([`redact_args`](crate::exec::redact_args)).
pub(crate) const SECRET_PREFIXES: &[&str] = &[
    "sk-",
    "sk_live_",
    "rk_live_",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "xoxa-",
    "xoxb-",
    "xoxp-",
    "xoxr-",
    "AKIA",
    "ASIA",
    "AIza",
    "glpat-",
    "pypi-AgE",
];

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
