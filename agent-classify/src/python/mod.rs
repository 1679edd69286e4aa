//! Classifiers for Python tools: [`PytestClassifier`], [`PytestJunitClassifier`], [`MypyClassifier`], [`RuffClassifier`].

mod junit;
mod mypy;
mod pytest;
mod ruff;

pub use junit::PytestJunitClassifier;
pub use mypy::MypyClassifier;
pub use pytest::PytestClassifier;
pub use ruff::RuffClassifier;

use agent_core::exec::RunOutput;
use agent_core::failure::{Failure, FailureCategory, FailureKind};
use std::path::Path;

/// Whether the top-level package of the dotted `module` lives in the project at `root`
/// (`root/pkg.py`, `root/pkg/`, `root/src/pkg.py` or `root/src/pkg/`).
///
/// An import of the project's own module that fails is an
/// [`FailureKind::UnresolvedImport`]; any other is a [`FailureKind::MissingDependency`].
pub(crate) fn is_project_module(module: &str, root: &Path) -> bool {
    let top = module.trim_start_matches('.').split('.').next().unwrap_or_default();
    if module.starts_with('.') {
        return true;
    }
    if top.is_empty() || root.as_os_str().is_empty() || !top.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return false;
    }
    [root.to_path_buf(), root.join("src")]
        .iter()
        .any(|base| base.join(format!("{top}.py")).is_file() || base.join(top).is_dir())
}

/// The module named in `No module named 'x.y'` (also without quotes).
pub(crate) fn no_module_named(text: &str) -> Option<&str> {
    let rest = &text[text.find("No module named ")? + "No module named ".len()..];
    let rest = rest.trim_start_matches(['\'', '"']);
    let end = rest.find(|c: char| c == '\'' || c == '"' || c == ';' || c.is_whitespace()).unwrap_or(rest.len());
    let name = &rest[..end];
    (!name.is_empty()).then_some(name)
}

/// `python: No module named <tool>` on stderr: the tool itself is not installed,
/// which the model cannot fix: an [`FailureKind::Environment`] failure.
pub(crate) fn tool_not_installed(run: &RunOutput, tool: &str) -> Option<Failure> {
    let stderr = crate::common::text(&run.stderr);
    let line = stderr.lines().find(|l| {
        no_module_named(l).is_some_and(|m| m == tool || m.starts_with(&format!("{tool}.")))
            && !l.trim_start().starts_with('E')
    })?;
    Some(Failure::new(
        FailureCategory::Infrastructure,
        FailureKind::Environment,
        format!("{tool} is not installed: {}", line.trim()),
    ))
}

/// Which Python tool printed `text`: `pytest-junit` (a JUnit XML report by pytest), `pytest`,
/// `mypy` or `ruff`; `None` when none did.
pub(crate) fn detect(text: &str) -> Option<&'static str> {
    if junit::is_pytest_report(text) {
        return Some(PytestJunitClassifier::TOOL);
    }
    if text.contains("\"noqa_row\"") || text.contains("https://docs.astral.sh/ruff") {
        return Some(RuffClassifier::TOOL);
    }
    if text.contains("\"severity\"") && text.contains("\"hint\"") && text.contains("\"file\"") {
        return Some(MypyClassifier::TOOL);
    }
    let mut ruff_header = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("===") && (t.contains(" test session starts ") || t.contains(" short test summary info "))
            || t.starts_with("rootdir: ")
            || t.starts_with("ERROR collecting ")
            || t.starts_with('=') && pytest::summary_counts(t).is_some()
            || no_module_named(t) == Some("pytest")
        {
            return Some(PytestClassifier::TOOL);
        }
        if mypy::text_line(t).is_some_and(|(.., code)| code.is_some())
            || t.starts_with("Success: no issues found in ")
            || t.starts_with("Found ") && t.contains(" error") && t.contains(" in ") && t.ends_with(" source file)")
        {
            return Some(MypyClassifier::TOOL);
        }
        if ruff::concise_line(t).is_some_and(|(.., code, _)| code.is_some())
            || ruff_header && t.starts_with("--> ") && t.contains(".py:")
            || t == "All checks passed!"
        {
            return Some(RuffClassifier::TOOL);
        }
        ruff_header = !line.starts_with(' ') && t.split_once(' ').is_some_and(|(c, _)| ruff::is_code(c));
    }
    None
}
