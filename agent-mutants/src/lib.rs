//! `agent-mutants`: mutation testing, to tell weak tests from strong ones.
//!
//! The engine parses source files with tree-sitter ([`agent_syntax`]), so
//! no mutant lands in a string or a comment and test code is told apart from
//! code under test. [`generate`] lists the [`Mutant`]s of one file;
//! [`changed_lines`] turns a unified diff into the line ranges that
//! `--in-diff` keeps; [`MutationRunner`] runs every mutant through the
//! [`Executor`](agent_core::Executor) and
//! [`Snapshotter`](agent_core::Snapshotter) traits in parallel job
//! directories and gives a [`MutationReport`]; [`MutationGate`] is the
//! [`Gate`](agent_core::Gate) a repair loop uses to accept a change only when
//! the mutation score of the code it changed reaches a threshold.
//!
//! ```
//! use agent_mutants::{generate, Operator};
//! use agent_syntax::Lang;
//!
//! let src = "pub fn is_adult(age: u32) -> bool {\n    age >= 18 // \"a == b\" in a comment\n}\n";
//! let mutants = generate("src/lib.rs", Lang::Rust, src);
//! assert!(mutants.iter().any(|m| m.operator == Operator::RelationalFlip && m.original == ">="));
//! assert!(mutants.iter().all(|m| m.line != 2 || m.column < 16), "nothing in the comment");
//! ```

mod cache;
mod diff;
mod gate;
mod generate;
mod progress;
mod run;
mod run_cargo;
mod run_checks;
mod run_env;
mod run_project;
mod run_tree;

pub use diff::{ChangedLines, changed_lines};
pub use gate::MutationGate;
pub use generate::{TypeFacts, generate, generate_with};
pub use progress::{Progress, ProgressObserver};
pub use run::{DEFAULT_MIN_TIMEOUT, MutateError, MutationConfig, MutationRunner, default_cache_dir, test_timeout};

use agent_syntax::Lang;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a mutant changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    /// `==` ↔ `!=`.
    EqualityFlip,
    /// `<` → `<=` / `>` and the like.
    RelationalFlip,
    /// `&&` ↔ `||` (`and` ↔ `or`).
    BooleanFlip,
    /// A condition negated (`if c` → `if !(c)`).
    NegateCondition,
    /// An `if` condition replaced by a constant (`if c` → `if True` / `if False`
    /// in Python, `(c) || true` / `(c) && false` in Go).
    ConstantCondition,
    /// `+` ↔ `-`, `*` ↔ `/`.
    ArithmeticFlip,
    /// A function body replaced with a plain value of its return type.
    ReplaceBody,
    /// A match arm, `case` or `else`/`elif` branch deleted.
    DeleteArm,
    /// An integer constant moved by one (`n` → `n + 1`, `n - 1`).
    Boundary,
    /// One statement removed from a test body: if the test still passes,
    /// that statement checked nothing.
    RemoveTestStatement,
}

impl Operator {
    /// The stable snake_case name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Operator::EqualityFlip => "equality_flip",
            Operator::RelationalFlip => "relational_flip",
            Operator::BooleanFlip => "boolean_flip",
            Operator::NegateCondition => "negate_condition",
            Operator::ConstantCondition => "constant_condition",
            Operator::ArithmeticFlip => "arithmetic_flip",
            Operator::ReplaceBody => "replace_body",
            Operator::DeleteArm => "delete_arm",
            Operator::Boundary => "boundary",
            Operator::RemoveTestStatement => "remove_test_statement",
        }
    }
}

/// One small change to one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Mutant {
    /// Path relative to the workspace root, `/`-separated.
    pub file: String,
    /// The file's language.
    pub lang: Lang,
    /// 1-based line of the first changed byte.
    pub line: u32,
    /// 1-based column (in bytes) of the first changed byte.
    pub column: u32,
    /// Byte offset where the replaced text starts.
    pub byte_start: usize,
    /// Byte offset where the replaced text ends (exclusive).
    pub byte_end: usize,
    /// What kind of change this is.
    pub operator: Operator,
    /// The text replaced (`source[byte_start..byte_end]`); empty for an
    /// insertion (Go body replacements insert `return …;` after the `{`).
    pub original: String,
    /// The text put in its place.
    pub replacement: String,
    /// Name of the enclosing function, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// Whether the mutant is in test code (only [`Operator::RemoveTestStatement`] mutants are).
    pub in_test: bool,
}

impl Mutant {
    /// The mutated source. `source` must be the text the mutant was generated from.
    pub fn apply(&self, source: &str) -> String {
        let mut out = String::with_capacity(source.len() + self.replacement.len());
        out.push_str(&source[..self.byte_start]);
        out.push_str(&self.replacement);
        out.push_str(&source[self.byte_end..]);
        out
    }

    /// A stable identity within the file: the same file content and the same
    /// mutant give the same key (used by the result cache).
    pub fn key(&self) -> String {
        format!("{}:{}:{}:{}", self.operator.name(), self.byte_start, self.byte_end, self.replacement)
    }

    /// A unified diff of the mutant against `source`, for the human summary.
    pub fn diff(&self, source: &str) -> String {
        let first = source[..self.byte_start].rfind('\n').map_or(0, |i| i + 1);
        let last = source[self.byte_end..].find('\n').map_or(source.len(), |i| self.byte_end + i);
        let before = &source[first..last];
        let after = format!("{}{}{}", &source[first..self.byte_start], self.replacement, &source[self.byte_end..last]);
        let mut out =
            format!("--- {}\n+++ {} ({})\n@@ line {} @@\n", self.file, self.file, self.operator.name(), self.line);
        for l in before.lines() {
            out.push('-');
            out.push_str(l);
            out.push('\n');
        }
        for l in after.lines() {
            out.push('+');
            out.push_str(l);
            out.push('\n');
        }
        out
    }
}

/// What running the tests against a mutant showed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MutantOutcome {
    /// A test failed: the tests noticed the change.
    Caught,
    /// Every test passed: the tests did not notice.
    Missed,
    /// The mutant does not build (or type-check).
    Unviable,
    /// The tests ran past the time limit.
    Timeout,
}

/// One mutant and what happened to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MutantResult {
    /// The mutant.
    #[serde(flatten)]
    pub mutant: Mutant,
    /// What the tests showed.
    pub outcome: MutantOutcome,
    /// Wall time spent on this mutant (check + tests), in milliseconds.
    pub duration_ms: u64,
    /// Whether the outcome came from the result cache instead of a run.
    #[serde(default)]
    pub cached: bool,
}

/// The outcome of a mutation run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MutationReport {
    /// Every mutant, in file and line order.
    pub mutants: Vec<MutantResult>,
    /// Mutants caught.
    pub caught: usize,
    /// Mutants missed.
    pub missed: usize,
    /// Mutants that did not build.
    pub unviable: usize,
    /// Mutants that timed out.
    pub timeout: usize,
    /// caught / (caught + missed); `None` when there was nothing to score.
    pub score: Option<f64>,
    /// Wall time of the baseline test run, in milliseconds.
    pub baseline_ms: u64,
    /// Per-mutant test timeout used, in milliseconds.
    pub timeout_ms: u64,
    /// Parallel jobs used.
    pub jobs: usize,
    /// Wall time of the whole run, in milliseconds.
    pub wall_ms: u64,
}

impl MutationReport {
    /// Recomputes the counts and the score from `mutants`.
    pub fn tally(&mut self) {
        let count = |o| self.mutants.iter().filter(|r| r.outcome == o).count();
        self.caught = count(MutantOutcome::Caught);
        self.missed = count(MutantOutcome::Missed);
        self.unviable = count(MutantOutcome::Unviable);
        self.timeout = count(MutantOutcome::Timeout);
        let scored = self.caught + self.missed;
        self.score = (scored > 0).then(|| self.caught as f64 / scored as f64);
    }
}
