//! Classifiers for Python tools: [`PytestClassifier`], [`PytestJunitClassifier`], [`MypyClassifier`], [`RuffClassifier`].

mod junit;
mod mypy;
mod pytest;
mod ruff;
mod unittest;

pub use junit::PytestJunitClassifier;
pub use mypy::MypyClassifier;
pub use pytest::PytestClassifier;
pub use ruff::RuffClassifier;
pub use unittest::UnittestClassifier;
pub(crate) use unittest::outcome as unittest_outcome;

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

/// Whether the top-level package of `module` is declared as a dependency of the project
/// at `root` (`pyproject.toml`, `requirements*.txt`, `setup.cfg`, `setup.py`, `Pipfile`),
/// matched as a whole word with `-` and `_` alike and case ignored.
pub(crate) fn is_declared_dependency(module: &str, root: &Path) -> bool {
    let top = module.trim_start_matches('.').split('.').next().unwrap_or_default();
    if top.is_empty() || root.as_os_str().is_empty() {
        return false;
    }
    let want = top.to_ascii_lowercase().replace('_', "-");
    let mut files: Vec<std::path::PathBuf> =
        ["pyproject.toml", "setup.cfg", "setup.py", "Pipfile"].iter().map(std::path::PathBuf::from).collect();
    if let Ok(dir) = std::fs::read_dir(root) {
        files.extend(dir.flatten().map(|e| e.file_name()).filter_map(|n| {
            let n = n.to_string_lossy().into_owned();
            (n.starts_with("requirements") && n.ends_with(".txt")).then(|| std::path::PathBuf::from(n))
        }));
    }
    let word = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
    files.iter().filter_map(|f| crate::common::read_contained_bounded(root, f, 1 << 20)).any(|text| {
        let text = text.to_ascii_lowercase().replace('_', "-");
        text.match_indices(want.as_str()).any(|(i, _)| {
            let before = text[..i].chars().next_back();
            let after = text[i + want.len()..].chars().next();
            !before.is_some_and(word) && !after.is_some_and(|c| word(c) && c != '.')
        })
    })
}

/// The kind of an import of `module` that failed in the project at `root`: the project's
/// own module → [`FailureKind::UnresolvedImport`]; a third-party one the project declares
/// (so it is only missing from this environment) → [`FailureKind::Environment`]; any
/// other → [`FailureKind::MissingDependency`].
pub(crate) fn missing_module_kind(module: &str, roots: &[&Path]) -> FailureKind {
    if roots.iter().any(|r| is_project_module(module, r)) {
        FailureKind::UnresolvedImport
    } else if roots.iter().any(|r| is_declared_dependency(module, r)) {
        FailureKind::Environment
    } else {
        FailureKind::MissingDependency
    }
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
    let stdout = crate::common::text(&run.stdout);
    // The interpreter's own complaint (`/usr/bin/python3: No module named pytest`), on
    // stderr, or anywhere in output a host captured as one stream.
    let line = stderr.lines().chain(stdout.lines()).find(|l| {
        no_module_named(l).is_some_and(|m| m == tool || m.starts_with(&format!("{tool}.")))
            && l.split_once(": No module named ").is_some_and(|(program, _)| {
                program.rsplit('/').next().is_some_and(|p| p.starts_with("python") || p == "py")
            })
    })?;
    Some(Failure::new(
        FailureCategory::Infrastructure,
        FailureKind::Environment,
        format!("{tool} is not installed: {}", line.trim()),
    ))
}

/// The files pytest reads its configuration from, as its errors name them.
const CONFIG_FILES: &[&str] = &["pyproject.toml", "pytest.ini", ".pytest.ini", "setup.cfg", "tox.ini"];

/// Which Python tool printed `text`: `pytest-junit` (a JUnit XML report by pytest), `unittest`, `pytest`,
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
    if unittest::detect(text) {
        return Some(UnittestClassifier::TOOL);
    }
    let mut ruff_header = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("===") && (t.contains(" test session starts ") || t.contains(" short test summary info "))
            || t.starts_with("rootdir: ")
            || t.starts_with("ERROR collecting ")
            || t.starts_with('=') && pytest::summary_counts(t).is_some()
            || no_module_named(t) == Some("pytest")
            || t.starts_with("ImportError while loading conftest ")
            || t.starts_with("no tests ran in ")
            || t.starts_with("ERROR: file or directory not found: ")
            || t.starts_with("ERROR: usage: ") && t.contains("pytest")
            || t.starts_with("ERROR: ") && CONFIG_FILES.iter().any(|f| t.contains(&format!("{f}: ")))
            || t.contains("+++ Timeout +++") && text.contains("_pytest")
        {
            return Some(PytestClassifier::TOOL);
        }
        if mypy::text_line(t).is_some_and(|(.., code)| code.is_some())
            || t.starts_with("usage: mypy ")
            || t.starts_with("mypy: error: ")
            || t.contains(": [mypy]: ")
            || t.starts_with("Success: no issues found in ")
            || t.starts_with("Found ") && t.contains(" error") && t.contains(" in ") && t.ends_with(" source file)")
        {
            return Some(MypyClassifier::TOOL);
        }
        if ruff::concise_line(t).is_some_and(|(.., code, _)| code.is_some())
            || ruff_header && t.starts_with("--> ") && t.contains(".py:")
            || t == "All checks passed!"
            || t.starts_with("Would reformat: ")
            || t.ends_with(" would be reformatted") && t.contains(" file")
            || t == "ruff failed" && text.contains("Cause: ")
        {
            return Some(RuffClassifier::TOOL);
        }
        // A finding's header: `F401 [*] message`, or a diagnostic ruff names itself
        // (`invalid-syntax: …`, `unformatted: …`); its ` --> file.py:1:2` follows.
        ruff_header = !line.starts_with(' ')
            && (t.split_once(' ').is_some_and(|(c, _)| ruff::is_code(c))
                || t.split_once(": ").is_some_and(|(id, _)| ruff::is_diagnostic_id(id)));
    }
    None
}

/// The exception type heading `text` (`pkg.ValueError: msg` →
/// `pkg.ValueError`): a dotted name whose last part is capitalised and ends
/// in `Error`, `Exception`, `Exit` or `Interrupt`, or in one of `suffixes`
/// (each runner's own, e.g. pytest's `Warning`).
pub(crate) fn exception_head<'t>(text: &'t str, suffixes: &[&str]) -> Option<&'t str> {
    let head = text.split_once(':').map_or(text, |(h, _)| h).trim();
    let last = head.rsplit('.').next()?;
    let ok = !last.is_empty()
        && last.chars().all(|c| c.is_alphanumeric() || c == '_')
        && last.starts_with(|c: char| c.is_ascii_uppercase())
        && ["Error", "Exception", "Exit", "Interrupt"].iter().chain(suffixes).any(|s| last.ends_with(s));
    ok.then_some(head)
}
