//! `.github/workflows/*.yml` `run:` steps as evidence for test commands.

use agent_core::workspace::{DetectedCommand, Evidence};
use std::path::{Path, PathBuf};

/// One command line a workflow runs.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    /// The workflow, relative to the root.
    pub(crate) file: PathBuf,
    /// The command line.
    pub(crate) line: String,
}

/// Every `run:` command line (single-line values and the lines of `|`/`>` blocks).
pub(crate) fn runs(root: &Path) -> Vec<Run> {
    let dir = root.join(".github").join("workflows");
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        let rel = file.strip_prefix(root).unwrap_or(&file).to_path_buf();
        let mut block_indent: Option<usize> = None;
        for line in text.lines() {
            let indent = line.len() - line.trim_start().len();
            let t = line.trim_start().trim_start_matches("- ").trim_start();
            if let Some(limit) = block_indent {
                if !line.trim().is_empty() && indent <= limit {
                    block_indent = None;
                }
            }
            let run_value = t.strip_prefix("run:").map(str::trim);
            if let Some(value) = run_value {
                if value.starts_with('|') || value.starts_with('>') {
                    block_indent = Some(indent);
                    continue;
                }
            }
            let command = match (run_value, block_indent.is_some()) {
                (Some(v), _) => v,
                (None, true) => line.trim(),
                (None, false) => continue,
            };
            if !command.is_empty() && !command.starts_with('#') {
                out.push(Run { file: rel.clone(), line: command.to_owned() });
            }
        }
    }
    out
}

/// The words a CI line must contain to run `test`: its whole command line, or
/// the test tool it wraps (`uv run pytest` → `pytest`).
fn keys(test: &DetectedCommand) -> Vec<String> {
    let mut keys = vec![test.display()];
    for tool in ["pytest", "tox", "nox", "jest", "vitest", "mocha", "ctest", "rspec", "phpunit"] {
        if test.program == tool || test.args.iter().any(|a| a == tool) {
            keys.push(tool.to_owned());
        }
    }
    if let Some(first) = test.args.first() {
        let program = test.program.trim_start_matches("./");
        keys.push(format!("{program} {first}"));
    }
    keys
}

/// Adds the CI lines that run `test` as evidence and raises its confidence.
pub(crate) fn confirm(test: &mut DetectedCommand, runs: &[Run]) {
    let keys = keys(test);
    let mut confirmed = false;
    for run in runs {
        if keys.iter().any(|k| run.line.contains(k.as_str())) {
            if test.evidence.iter().any(|e| e.file == run.file) {
                continue;
            }
            let mut ev = Evidence::field(run.file.clone(), "run");
            ev.note = Some(run.line.clone());
            test.evidence.push(ev);
            confirmed = true;
        }
    }
    if confirmed {
        test.confidence = (test.confidence + 0.1).min(1.0);
    }
}
