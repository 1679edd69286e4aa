//! [`gates_for_spec`]: the gates a [`TaskSpec`]'s acceptance criteria and
//! non-goals name, built over one executor.

use super::{CommandGate, CommandKind, ContractGate, DependencyGate, ScopeGate, TestsGate};
use agent_core::spec::TaskSpec;
use agent_core::{Executor, Gate};
use std::sync::Arc;

/// The gates a spec asks for, and the gate names this crate cannot build.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct SpecGates {
    /// Gates to give the loop or the inspector, in the order the criteria name them
    /// (the scope gate first when a non-goal protects paths).
    pub gates: Vec<Arc<dyn Gate>>,
    /// Names this crate has no gate for: `smoke` and `clean_room` (built in
    /// agent-sandbox, which owns processes), `mutation` (it needs a
    /// runner with a snapshotter), and unknown names. The host adds those
    /// or refuses the spec.
    pub left_to_host: Vec<String>,
}

impl std::fmt::Debug for SpecGates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpecGates").field("gates", &self.gates.len()).field("left_to_host", &self.left_to_host).finish()
    }
}

/// Builds `build`, `static`, `dependencies`, `tests` and `contract` gates
/// for the criteria that name them (the contract gate allowing the spec's
/// declared `breaking_changes`), and a [`ScopeGate`] for the non-goals' paths.
///
/// ```
/// use agent_core::spec::{AcceptanceCriterion, NonGoal, TaskSpec};
/// use agent_gates::gates_for_spec;
/// use std::sync::Arc;
///
/// # fn demo(executor: Arc<dyn agent_core::Executor>) {
/// let spec = TaskSpec::new("fix mean")
///     .with_criterion(AcceptanceCriterion::new("empty", "mean(&[]) is None").proved_by_test("mean_empty"))
///     .with_criterion(AcceptanceCriterion::new("up", "the service starts").proved_by_gate("smoke"))
///     .with_criterion(AcceptanceCriterion::new("api", "clients keep working").proved_by_gate("contract"))
///     .with_non_goal(NonGoal::new("no API change").touching(["src/api/**"]));
/// let built = gates_for_spec(&spec, executor).unwrap();
/// assert_eq!(built.gates.len(), 3); // scope, tests, contract
/// assert_eq!(built.left_to_host, ["smoke"]);
/// # }
/// ```
pub fn gates_for_spec(spec: &TaskSpec, executor: Arc<dyn Executor>) -> Result<SpecGates, globset::Error> {
    let mut out = SpecGates::default();
    if !spec.protected_paths().is_empty() {
        out.gates.push(Arc::new(ScopeGate::from_spec(spec)?));
    }
    for name in spec.gates() {
        let gate: Arc<dyn Gate> = match name.as_str() {
            "build" => Arc::new(CommandGate::new(CommandKind::Build, executor.clone())),
            "static" | "lint" => Arc::new(CommandGate::new(CommandKind::Static, executor.clone())),
            "dependencies" => Arc::new(DependencyGate::new(executor.clone())),
            "tests" => Arc::new(TestsGate::new(executor.clone())),
            "contract" => Arc::new(ContractGate::from_spec(executor.clone(), spec)),
            _ => {
                out.left_to_host.push(name);
                continue;
            }
        };
        out.gates.push(gate);
    }
    Ok(out)
}
