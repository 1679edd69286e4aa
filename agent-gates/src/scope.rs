//! [`ScopeGate`]: a change must leave the paths of the spec's non-goals alone.

use agent_core::gate::{GateContext, GateError, GateReport};
use agent_core::spec::TaskSpec;
use agent_core::{Gate, async_trait};
use globset::{Glob, GlobSet, GlobSetBuilder};

/// Fails a change that touches a path a [`TaskSpec`] non-goal protects
/// (globs relative to the root: `src/api/**`, `Cargo.toml`, `*.lock`).
///
/// ```
/// use agent_core::spec::{NonGoal, TaskSpec};
/// use agent_gates::ScopeGate;
///
/// let spec = TaskSpec::new("fix mean").with_non_goal(NonGoal::new("no API change").touching(["src/api/**"]));
/// let gate = ScopeGate::from_spec(&spec).unwrap();
/// assert!(gate.protects("src/api/v1/routes.rs"));
/// assert!(!gate.protects("src/stats.rs"));
/// ```
#[derive(Clone, Debug)]
pub struct ScopeGate {
    globs: Vec<String>,
    set: GlobSet,
}

impl ScopeGate {
    /// The gate of `spec`'s non-goals; an invalid glob is an error naming it.
    pub fn from_spec(spec: &TaskSpec) -> Result<Self, globset::Error> {
        Self::new(spec.protected_paths())
    }

    /// A gate protecting these globs.
    pub fn new(globs: Vec<String>) -> Result<Self, globset::Error> {
        let mut builder = GlobSetBuilder::new();
        for g in &globs {
            builder.add(Glob::new(g.trim_start_matches("./"))?);
        }
        Ok(Self { set: builder.build()?, globs })
    }

    /// Whether `path` (relative to the root) is protected.
    pub fn protects(&self, path: &str) -> bool {
        self.set.is_match(path.trim_start_matches("./"))
    }
}

#[async_trait]
impl Gate for ScopeGate {
    async fn check(&self, cx: &GateContext) -> Result<GateReport, GateError> {
        let findings: Vec<String> = cx
            .changes
            .iter()
            .filter(|c| self.protects(&c.path))
            .map(|c| format!("{} `{}`, which a non-goal protects ({})", c.change, c.path, self.globs.join(", ")))
            .collect();
        let passed = findings.is_empty();
        let summary = if passed {
            format!("{} changed file(s), none protected", cx.changes.len())
        } else {
            format!("{} protected file(s) touched", findings.len())
        };
        let mut report = GateReport::new("scope", passed, summary);
        report.findings = findings;
        Ok(report)
    }
}
