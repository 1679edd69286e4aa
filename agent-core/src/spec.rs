//! [`TaskSpec`]: a task given as a specification rather than a one-line goal.
//!
//! A spec names the problem, what is out of scope (non-goals, with the
//! paths a change must not touch), constraints, an integration checklist,
//! acceptance criteria (each mapped to the gate that proves it and, where a
//! test proves it, the test) and a verification plan. It serialises to JSON
//! and has a JSON schema, so a host can accept specs from users or tools and
//! check them before a run.
//!
//! ```
//! use agent_core::spec::{AcceptanceCriterion, NonGoal, TaskSpec};
//!
//! let spec = TaskSpec::new("`mean` of an empty slice panics")
//!     .with_criterion(AcceptanceCriterion::new("empty", "mean(&[]) returns None").proved_by_test("empty_mean_is_none"))
//!     .with_non_goal(NonGoal::new("the public API stays as it is").touching(["src/api/**"]));
//! assert_eq!(spec.named_tests(), ["empty_mean_is_none"]);
//! assert!(spec.goal().contains("Acceptance criteria:\n- [empty] mean(&[]) returns None"));
//! let json = serde_json::to_string(&spec).unwrap();
//! assert_eq!(TaskSpec::parse(&json).unwrap(), spec);
//! ```

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Something the change must not do, with the paths (globs relative to the
/// root, `**` for any depth) it must leave alone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct NonGoal {
    /// What is out of scope.
    pub description: String,
    /// Paths the change must not touch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
}

impl NonGoal {
    /// A non-goal with no path attached.
    pub fn new(description: impl Into<String>) -> Self {
        Self { description: description.into(), paths: Vec::new() }
    }

    /// Adds the paths (globs) this non-goal protects.
    pub fn touching<I, S>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.paths.extend(paths.into_iter().map(Into::into));
        self
    }
}

/// One acceptance criterion and the evidence that proves it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AcceptanceCriterion {
    /// A short stable identifier, used by reviews and reports.
    pub id: String,
    /// What must hold.
    pub description: String,
    /// The gate that proves it (`build`, `static`, `tests`, `dependencies`,
    /// `contract`, `smoke`, `clean_room`, `mutation`); `None` leaves it to the review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<String>,
    /// Tests that must go from failing to passing for it to hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<String>,
}

impl AcceptanceCriterion {
    /// A criterion left to the review.
    pub fn new(id: impl Into<String>, description: impl Into<String>) -> Self {
        Self { id: id.into(), description: description.into(), gate: None, tests: Vec::new() }
    }

    /// Proved by this test going from failing to passing (sets the gate to `tests`).
    pub fn proved_by_test(mut self, test: impl Into<String>) -> Self {
        self.tests.push(test.into());
        self.gate = Some("tests".to_owned());
        self
    }

    /// Proved by this gate.
    pub fn proved_by_gate(mut self, gate: impl Into<String>) -> Self {
        self.gate = Some(gate.into());
        self
    }
}

/// A task as a specification.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TaskSpec {
    /// The problem to solve.
    pub problem: String,
    /// What is out of scope.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub non_goals: Vec<NonGoal>,
    /// Constraints the change must respect (no new dependency, keep MSRV…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<String>,
    /// What the change must be integrated with (call sites, docs, config).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub integration_checklist: Vec<String>,
    /// What must hold for the change to be accepted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acceptance_criteria: Vec<AcceptanceCriterion>,
    /// How the change is verified, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verification_plan: Vec<String>,
    /// Contract changes the task is allowed to break, which the contract
    /// gate then records as declared instead of failing on: a schema
    /// location (`schemas/user.schema.json#/properties/email`), an endpoint
    /// or operation (`/pets`, `GET /pets`), a Rust item path
    /// (`mycrate::Foo::bar`). An entry allows a breaking change whose
    /// subject equals it, lies beneath it (the subject continues with `/`,
    /// `::`, `#`, `.` or a space: `GET /pets` allows its parameters and
    /// responses, `mycrate::Foo` its methods), or matches it as a glob
    /// (`*` within a path segment, `**` across them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breaking_changes: Vec<String>,
}

/// Why a spec was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// The text is not JSON of the spec's shape.
    #[error("not a task spec: {0}")]
    NotASpec(#[from] serde_json::Error),
    /// The problem is empty.
    #[error("the spec has no problem statement")]
    EmptyProblem,
    /// Two criteria share an id.
    #[error("acceptance criterion id `{id}` is used twice")]
    DuplicateCriterion {
        /// The id.
        id: String,
    },
}

impl TaskSpec {
    /// A spec with only a problem statement.
    pub fn new(problem: impl Into<String>) -> Self {
        Self { problem: problem.into(), ..Self::default() }
    }

    /// Parses and checks a JSON spec. Unknown fields are refused: a misspelt
    /// field is an error, not a silently dropped criterion.
    pub fn parse(json: &str) -> Result<Self, SpecError> {
        let spec: TaskSpec = serde_json::from_str(json)?;
        spec.check()?;
        Ok(spec)
    }

    /// Checks what the type cannot: a problem is stated and criterion ids are unique.
    pub fn check(&self) -> Result<(), SpecError> {
        if self.problem.trim().is_empty() {
            return Err(SpecError::EmptyProblem);
        }
        let mut seen = std::collections::BTreeSet::new();
        for c in &self.acceptance_criteria {
            if !seen.insert(c.id.as_str()) {
                return Err(SpecError::DuplicateCriterion { id: c.id.clone() });
            }
        }
        Ok(())
    }

    /// Adds an acceptance criterion.
    pub fn with_criterion(mut self, criterion: AcceptanceCriterion) -> Self {
        self.acceptance_criteria.push(criterion);
        self
    }

    /// Adds a non-goal.
    pub fn with_non_goal(mut self, non_goal: NonGoal) -> Self {
        self.non_goals.push(non_goal);
        self
    }

    /// Declares a contract change the task may break (see [`breaking_changes`](Self::breaking_changes)).
    pub fn allowing_break(mut self, subject: impl Into<String>) -> Self {
        self.breaking_changes.push(subject.into());
        self
    }

    /// Adds a constraint.
    pub fn with_constraint(mut self, constraint: impl Into<String>) -> Self {
        self.constraints.push(constraint.into());
        self
    }

    /// Every test an acceptance criterion names, in order, without repeats:
    /// what the tests gate requires to go from failing to passing.
    pub fn named_tests(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for t in self.acceptance_criteria.iter().flat_map(|c| &c.tests) {
            if !out.contains(t) {
                out.push(t.clone());
            }
        }
        out
    }

    /// Every path glob a non-goal protects.
    pub fn protected_paths(&self) -> Vec<String> {
        self.non_goals.iter().flat_map(|n| n.paths.iter().cloned()).collect()
    }

    /// The gates the acceptance criteria name, in order, without repeats.
    pub fn gates(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for g in self.acceptance_criteria.iter().filter_map(|c| c.gate.as_ref()) {
            if !out.contains(g) {
                out.push(g.clone());
            }
        }
        out
    }

    /// The spec as the goal text of a planning prompt.
    pub fn goal(&self) -> String {
        let mut out = self.problem.trim().to_owned();
        let mut list = |title: &str, items: Vec<String>| {
            if !items.is_empty() {
                let _ = write!(out, "\n\n{title}:");
                for item in items {
                    let _ = write!(out, "\n- {item}");
                }
            }
        };
        list(
            "Non-goals (do not do these)",
            self.non_goals
                .iter()
                .map(|n| {
                    if n.paths.is_empty() {
                        n.description.clone()
                    } else {
                        format!("{} (leave {} untouched)", n.description, n.paths.join(", "))
                    }
                })
                .collect(),
        );
        list("Constraints", self.constraints.clone());
        list("Integration checklist", self.integration_checklist.clone());
        list(
            "Acceptance criteria",
            self.acceptance_criteria
                .iter()
                .map(|c| {
                    let mut s = format!("[{}] {}", c.id, c.description);
                    if !c.tests.is_empty() {
                        let _ = write!(s, " (test: {})", c.tests.join(", "));
                    }
                    s
                })
                .collect(),
        );
        list("Verification plan", self.verification_plan.clone());
        list("Contract changes allowed to break", self.breaking_changes.clone());
        out
    }
}
