//! `agent-oracles`: Workspace oracles and failure classifiers for coding agents: know the workspace, structure the failure.
