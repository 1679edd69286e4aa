//! The two adapters the runner puts around the loop's parts: an executor
//! that gives every command the instance's environment (the venv on
//! `PATH`), and an oracle whose test command is the instance's.

use agent_core::exec::{CommandSpec, ExecError, RunOutput, Service};
use agent_core::workspace::{DetectedCommand, OracleError, Project, WorkspaceProfile};
use agent_core::{Executor, WorkspaceOracle};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// Sets the instance's variables on every command that does not set them itself.
pub(crate) struct EnvExecutor {
    inner: Arc<dyn Executor>,
    vars: BTreeMap<String, String>,
}

impl EnvExecutor {
    pub(crate) fn new(inner: Arc<dyn Executor>, vars: BTreeMap<String, String>) -> Self {
        Self { inner, vars }
    }

    fn with_vars(&self, mut spec: CommandSpec) -> CommandSpec {
        for (k, v) in &self.vars {
            spec.env.set.entry(k.clone()).or_insert_with(|| v.clone());
        }
        spec
    }
}

#[async_trait]
impl Executor for EnvExecutor {
    async fn run(&self, cmd: CommandSpec) -> Result<RunOutput, ExecError> {
        self.inner.run(self.with_vars(cmd)).await
    }

    async fn start(&self, cmd: CommandSpec) -> Result<Box<dyn Service>, ExecError> {
        self.inner.start(self.with_vars(cmd)).await
    }
}

/// The inner oracle's profile with the primary project's test command
/// replaced by the instance's (a project is added when none was found).
pub(crate) struct InstanceOracle {
    inner: Arc<dyn WorkspaceOracle>,
    test: DetectedCommand,
}

impl InstanceOracle {
    pub(crate) fn new(inner: Arc<dyn WorkspaceOracle>, test: DetectedCommand) -> Self {
        Self { inner, test }
    }
}

#[async_trait]
impl WorkspaceOracle for InstanceOracle {
    async fn inspect(&self, root: &Path) -> Result<WorkspaceProfile, OracleError> {
        let mut profile = self.inner.inspect(root).await?;
        let primary = profile.projects.iter().position(|p| p.primary).or(if profile.projects.is_empty() {
            None
        } else {
            Some(0)
        });
        match primary {
            Some(i) => profile.projects[i].test = Some(self.test.clone()),
            None => {
                let mut project = Project::new("", &[], "unknown");
                project.primary = true;
                project.test = Some(self.test.clone());
                profile.projects.push(project);
            }
        }
        Ok(profile)
    }
}
