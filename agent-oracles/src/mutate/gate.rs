//! The mutation [`Gate`]: a minimum mutation score on the changed code.

use super::MutationRunner;
use agent_core::{Gate, GateContext, GateError, GateReport};
use async_trait::async_trait;

/// Accepts a change only when the mutation score on the code it changed reaches a threshold.
pub struct MutationGate {
    #[allow(dead_code)]
    runner: MutationRunner,
    threshold: f64,
}

impl MutationGate {
    /// A gate requiring `threshold` (0.0–1.0).
    pub fn new(runner: MutationRunner, threshold: f64) -> Self {
        Self { runner, threshold }
    }
}

#[async_trait]
impl Gate for MutationGate {
    async fn check(&self, _cx: &GateContext) -> Result<GateReport, GateError> {
        Ok(GateReport::new("mutation", self.threshold <= 0.0, "not yet implemented"))
    }
}
