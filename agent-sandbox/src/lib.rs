//! `agent-sandbox`: Process execution, snapshots and file edits for coding agents: the only crate that spawns processes or writes to a workspace.
