//! The last pass over every project found: a Makefile or justfile `test`
//! target that CI runs becomes the test entry of the projects beside it, and
//! the primary project is chosen by evidence and confidence, not by the order
//! in which ecosystems were asked.

use super::{ci, noted};
use agent_core::workspace::{Evidence, Project, build_systems};

/// Makes CI-run task targets canonical, then marks one project primary.
pub(crate) fn refine(projects: &mut [Project]) {
    canonical_task_tests(projects);
    choose_primary(projects);
}

/// Whether CI runs this command (it carries a CI line as evidence).
fn ci_run(c: Option<&agent_core::workspace::DetectedCommand>) -> Option<&Evidence> {
    c?.evidence.iter().find(|e| ci::is_ci(e))
}

/// A `make test` (or `just test`) that CI runs replaces the ecosystem default
/// of every project in the same directory whose own test command CI does not
/// run; the default stays as evidence, named as the alternative.
fn canonical_task_tests(projects: &mut [Project]) {
    let tasks: Vec<(std::path::PathBuf, agent_core::workspace::DetectedCommand)> = projects
        .iter()
        .filter(|p| is_task(p))
        .filter(|p| ci_run(p.test.as_ref()).is_some())
        .filter_map(|p| Some((p.path.clone(), p.test.clone()?)))
        .collect();
    for (path, task) in tasks {
        for p in projects.iter_mut().filter(|p| !is_task(p) && p.path == path) {
            if ci_run(p.test.as_ref()).is_some() {
                continue;
            }
            let mut chosen = task.clone();
            if let Some(default) = p.test.take() {
                let first = default.evidence.first().cloned().unwrap_or_else(|| Evidence::file(&p.path));
                chosen.evidence.push(noted(
                    first,
                    format!(
                        "alternative: `{}` (the ecosystem default; CI runs `{}` instead)",
                        default.display(),
                        task.display()
                    ),
                ));
            }
            p.test = Some(chosen);
        }
    }
}

/// A Makefile or justfile project (no language kind of its own).
fn is_task(p: &Project) -> bool {
    p.kinds.is_empty() && (p.build_system == build_systems::MAKE || p.build_system == build_systems::JUST)
}

/// Whether a Python project is built by maturin (a PyO3 extension tested from Python).
fn maturin(p: &Project) -> bool {
    p.evidence.iter().any(|e| {
        e.field.as_deref().is_some_and(|f| f.starts_with("build-system."))
            && e.note.as_deref().is_some_and(|n| n.contains("maturin"))
    })
}

/// Why a project would be primary, and how much evidence says so.
struct Score {
    value: f64,
    note: String,
}

/// Weighs the evidence for `p` being the project a task is about:
///
/// - CI runs its test command: +4;
/// - a maturin/PyO3 Python project (it owns the Cargo package beside it): +2;
/// - it sits at the root: +1.5, one level down +0.5;
/// - its own confidence (a lockfile, a stated package manager) and its test
///   command's confidence (a configured runner over a guess), up to +1 each;
/// - members: +0.2 each, up to +1;
/// - a task runner without a language of its own: −1 (the language project
///   beside it is told first).
fn score(p: &Project) -> Score {
    let depth = p.path.components().count();
    let members = p.members.len().min(5) as f64 * 0.2;
    let mut value = p.confidence.clamp(0.0, 1.0) + p.test.as_ref().map_or(0.0, |t| t.confidence.clamp(0.0, 1.0));
    value += members;
    value += match depth {
        0 => 1.5,
        1 => 0.5,
        _ => 0.0,
    };
    let ci = ci_run(p.test.as_ref());
    if ci.is_some() {
        value += 4.0;
    }
    let is_maturin = maturin(p);
    if is_maturin {
        value += 2.0;
    }
    if is_task(p) {
        value -= 1.0;
    }
    let note = if let Some(ev) = ci {
        format!("primary: its test command is run by CI ({})", ev.file.display())
    } else if is_maturin {
        "primary: a maturin/PyO3 project, tested from Python".to_owned()
    } else if depth == 0 {
        "primary: the project at the root".to_owned()
    } else if !p.members.is_empty() {
        format!("primary: the largest project ({} member(s))", p.members.len())
    } else {
        "primary: the most evidence".to_owned()
    };
    Score { value, note: format!("{note}; score {value:.2}") }
}

/// Marks the project with the highest [`score`] primary (the first on a tie)
/// and says which rule chose it; earlier `primary:` notes are dropped.
pub(crate) fn choose_primary(projects: &mut [Project]) {
    let mut best: Option<(usize, Score)> = None;
    for (i, p) in projects.iter().enumerate() {
        let s = score(p);
        if best.as_ref().is_none_or(|(_, b)| s.value > b.value + 1e-9) {
            best = Some((i, s));
        }
    }
    for p in projects.iter_mut() {
        p.primary = false;
        p.evidence.retain(|e| !e.note.as_deref().is_some_and(|n| n.starts_with("primary:")));
    }
    let Some((index, s)) = best else { return };
    let p = &mut projects[index];
    p.primary = true;
    let file = p.evidence.first().map(|e| e.file.clone()).unwrap_or_default();
    p.evidence.push(noted(Evidence::file(file), s.note));
}
