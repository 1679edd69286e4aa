//! [`Failure`] and [`Classification`]: a failed run turned into structured facts.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// What kind of failure it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FailureKind {
    /// The source does not parse.
    Syntax,
    /// A type error.
    Type,
    /// A name (function, variable, type) that does not resolve.
    UnresolvedName,
    /// An import or module path that does not resolve.
    UnresolvedImport,
    /// A dependency that is not declared or not installed.
    MissingDependency,
    /// A borrow-checker error.
    Borrow,
    /// A test assertion failed.
    TestAssertion,
    /// A test panicked or raised outside an assertion.
    TestPanic,
    /// A test ran out of time.
    TestTimeout,
    /// A lint finding.
    Lint,
    /// Configuration of the tool or project is wrong.
    Config,
    /// A build script failed.
    BuildScript,
    /// The environment is at fault: missing toolchain, port in use, out of memory.
    Environment,
    /// A documentation test failed.
    DocTest,
    /// None of the above.
    Unknown,
}

impl FailureKind {
    /// The snake_case name used in JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Syntax => "syntax",
            Self::Type => "type",
            Self::UnresolvedName => "unresolved_name",
            Self::UnresolvedImport => "unresolved_import",
            Self::MissingDependency => "missing_dependency",
            Self::Borrow => "borrow",
            Self::TestAssertion => "test_assertion",
            Self::TestPanic => "test_panic",
            Self::TestTimeout => "test_timeout",
            Self::Lint => "lint",
            Self::Config => "config",
            Self::BuildScript => "build_script",
            Self::Environment => "environment",
            Self::DocTest => "doc_test",
            Self::Unknown => "unknown",
        }
    }
}

/// The broad phase a failure belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FailureCategory {
    /// Compiling or building.
    Build,
    /// Running tests.
    Test,
    /// Linting or static checks.
    Lint,
    /// The environment, not the code.
    Infrastructure,
}

/// Whether a run failed because of the code or because of the machine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Tier {
    /// Nothing failed.
    #[default]
    None,
    /// The code is at fault: a repair prompt can help.
    Code,
    /// The environment is at fault: the model cannot fix it.
    Infrastructure,
}

/// One structured failure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Failure {
    /// Broad phase.
    pub category: FailureCategory,
    /// What kind of failure.
    pub kind: FailureKind,
    /// The file, relative to the workspace root when possible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// 1-based line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// The failing test's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_name: Option<String>,
    /// The tool's diagnostic code (`E0308`, `F401`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The message, without the surrounding log.
    pub message: String,
    /// The source lines around the location, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
    /// The test failed, then passed when run again alone: flaky rather than broken.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub flaky: bool,
}

impl Failure {
    /// A failure with a kind, category and message and no location.
    pub fn new(category: FailureCategory, kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            category,
            kind,
            file: None,
            line: None,
            column: None,
            test_name: None,
            code: None,
            message: message.into(),
            snippet: None,
            flaky: false,
        }
    }

    /// Sets file, line and column.
    pub fn at(mut self, file: impl Into<PathBuf>, line: Option<u32>, column: Option<u32>) -> Self {
        self.file = Some(file.into());
        self.line = line;
        self.column = column;
        self
    }

    /// Sets the test name.
    pub fn in_test(mut self, name: impl Into<String>) -> Self {
        self.test_name = Some(name.into());
        self
    }

    /// Whether this is the environment's failure ([`FailureKind::Environment`])
    /// of one of `tests`, by test name. A failure without a test name is
    /// never one.
    pub fn is_environment_failure_of(&self, tests: &BTreeSet<String>) -> bool {
        self.kind == FailureKind::Environment && self.test_name.as_ref().is_some_and(|t| tests.contains(t))
    }
}

/// Counts of a test run, as parsed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TestCounts {
    /// Tests that passed.
    pub passed: u32,
    /// Tests that failed.
    pub failed: u32,
    /// Tests skipped or ignored.
    pub ignored: u32,
}

/// A classified run: its failures and whether the run can be trusted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Classification {
    /// The tool whose output this was (`cargo`, `pytest`, …).
    pub tool: String,
    /// The failures found, most important first.
    pub failures: Vec<Failure>,
    /// Did the suite really run and does the exit code agree with what was parsed?
    pub valid_run: bool,
    /// Code or infrastructure.
    pub tier: Tier,
    /// Test counts, when a test summary was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<TestCounts>,
    /// Why the run is not valid, or other remarks, for people.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Per-test outcomes, when the caller asked the classifier for them
    /// ([`FailureClassifier::test_outcomes`](crate::FailureClassifier::test_outcomes)).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outcomes: Vec<crate::failure::TestOutcome>,
}

impl Classification {
    /// True when the run is valid and nothing failed.
    pub fn passed(&self) -> bool {
        self.valid_run && self.failures.is_empty()
    }

    /// This run less the environment's failures of `tests`
    /// ([`Failure::is_environment_failure_of`]): tests the environment
    /// already broke before any change, which no edit can mend, left out of
    /// what a model is shown. Counts, outcomes and notes are kept. When no
    /// environment failure is left in an [`Tier::Infrastructure`] run, the
    /// tier becomes [`Tier::Code`] if other failures remain and
    /// [`Tier::None`] if none do; a new environment failure keeps the run
    /// the environment's.
    ///
    /// ```
    /// use agent_core::failure::{Classification, Failure, FailureCategory, FailureKind, Tier};
    /// use std::collections::BTreeSet;
    ///
    /// let mut run = Classification::default();
    /// run.tier = Tier::Infrastructure;
    /// run.failures = vec![
    ///     Failure::new(FailureCategory::Infrastructure, FailureKind::Environment, "no DNS").in_test("test_fetch"),
    ///     Failure::new(FailureCategory::Test, FailureKind::TestAssertion, "2 != 3").in_test("test_add"),
    /// ];
    /// let broken_before = BTreeSet::from(["test_fetch".to_owned()]);
    /// let shown = run.without_environment_failures_of(&broken_before);
    /// assert_eq!(shown.failures.len(), 1);
    /// assert_eq!(shown.failures[0].test_name.as_deref(), Some("test_add"));
    /// assert_eq!(shown.tier, Tier::Code);
    /// ```
    pub fn without_environment_failures_of(&self, tests: &BTreeSet<String>) -> Classification {
        let mut shown = self.clone();
        shown.failures.retain(|f| !f.is_environment_failure_of(tests));
        if shown.tier == Tier::Infrastructure && !shown.failures.iter().any(|f| f.kind == FailureKind::Environment) {
            shown.tier = if shown.failures.is_empty() { Tier::None } else { Tier::Code };
        }
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flaky_is_left_out_of_json_when_false_and_defaults_to_false_when_absent() {
        let f = Failure::new(FailureCategory::Test, FailureKind::TestAssertion, "boom");
        let json = serde_json::to_value(&f).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({"category": "test", "kind": "test_assertion", "message": "boom"}),
            "no `flaky` key for a broken test"
        );
        let back: Failure = serde_json::from_value(json).expect("deserialises");
        assert!(!back.flaky);
    }

    fn env(test: &str) -> Failure {
        Failure::new(FailureCategory::Infrastructure, FailureKind::Environment, "no DNS").in_test(test)
    }

    #[test]
    fn leaving_out_the_only_environment_failures_makes_an_infrastructure_run_pass_or_the_codes() {
        let broken = BTreeSet::from(["net".to_owned()]);
        let mut run = Classification { tier: Tier::Infrastructure, failures: vec![env("net")], ..Default::default() };
        assert_eq!(run.without_environment_failures_of(&broken).tier, Tier::None);
        run.failures.push(Failure::new(FailureCategory::Test, FailureKind::TestAssertion, "1 != 2").in_test("add"));
        let shown = run.without_environment_failures_of(&broken);
        assert_eq!(shown.tier, Tier::Code);
        assert_eq!(shown.failures.iter().map(|f| f.test_name.as_deref()).collect::<Vec<_>>(), vec![Some("add")]);
    }

    #[test]
    fn a_new_environment_failure_or_one_without_a_test_name_keeps_the_run_the_environments() {
        let broken = BTreeSet::from(["net".to_owned()]);
        let mut unnamed = env("x");
        unnamed.test_name = None;
        for other in [env("disk"), unnamed] {
            let run = Classification {
                tier: Tier::Infrastructure,
                failures: vec![env("net"), other.clone()],
                ..Default::default()
            };
            let shown = run.without_environment_failures_of(&broken);
            assert_eq!(shown.tier, Tier::Infrastructure, "{other:?}");
            assert_eq!(shown.failures, vec![other]);
        }
    }

    #[test]
    fn a_code_failure_of_a_test_the_environment_broke_before_is_still_shown() {
        let broken = BTreeSet::from(["net".to_owned()]);
        let assertion = Failure::new(FailureCategory::Test, FailureKind::TestAssertion, "1 != 2").in_test("net");
        let run = Classification { tier: Tier::Code, failures: vec![assertion.clone()], ..Default::default() };
        assert_eq!(run.without_environment_failures_of(&broken).failures, vec![assertion]);
    }

    #[test]
    fn flaky_true_round_trips_through_json() {
        let mut f = Failure::new(FailureCategory::Test, FailureKind::TestPanic, "boom");
        f.flaky = true;
        let json = serde_json::to_value(&f).expect("serialises");
        assert_eq!(json["flaky"], serde_json::json!(true));
        let back: Failure = serde_json::from_value(json).expect("deserialises");
        assert_eq!(back, f);
    }
}
