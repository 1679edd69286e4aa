//! `agentctl recover DIR`: restores a workspace a killed run left mid-attempt.

use crate::{CliError, Output, require_dir};
use agentkit::core::snapshot::SnapshotError;
use agentkit::sandbox::{GitSnapshotter, RecoverReport};
use serde_json::json;
use std::path::Path;

/// Runs [`GitSnapshotter::recover`] on `dir`: exit 0 when the workspace was
/// restored or there was nothing to do, 1 when the run's owner is still
/// running or the recovery failed, 2 when DIR is not a git working tree.
pub(crate) async fn recover(dir: &Path) -> Result<Output, CliError> {
    let root = require_dir(dir)?;
    if !root.join(".git").exists() {
        return Err(CliError::bad_input(format!("{} is not the top of a git working tree", root.display())));
    }
    let (ok, recovered, snapshot, reason) = match GitSnapshotter::new().recover(&root).await {
        Ok(report) => {
            let ok = !matches!(report, RecoverReport::OwnerRunning { .. });
            (ok, report.recovered(), report.snapshot().map(ToString::to_string), report.reason())
        }
        Err(e @ SnapshotError::Unsupported { .. }) => return Err(CliError::bad_input(e.to_string())),
        Err(e) => (false, false, None, format!("recovery failed: {e}")),
    };
    let human = match &snapshot {
        Some(id) if recovered => format!("{}: {reason}\nrestored {id}", root.display()),
        _ => format!("{}: {reason}", root.display()),
    };
    Ok(Output {
        json: json!({ "root": root, "recovered": recovered, "snapshot": snapshot, "reason": reason }),
        human,
        ok,
    })
}
