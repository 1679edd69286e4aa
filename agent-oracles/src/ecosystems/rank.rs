//! The last pass over every project found: a Makefile or justfile `test`
//! target that CI runs becomes the test entry of the projects beside it
//! (unless CI runs their own test command over the whole suite), with the
//! install targets CI runs before it as their setup, and the primary project
//! is chosen by evidence and confidence, not by the order in which ecosystems
//! were asked.

use super::{ci, noted};
use agent_core::workspace::{DetectedCommand, Evidence, Project, build_systems};

/// Makes CI-run task targets canonical, then marks one project primary.
pub(crate) fn refine(projects: &mut [Project]) {
    canonical_task_tests(projects);
    choose_primary(projects);
}

/// Whether CI runs this command (it carries a CI line as evidence).
fn ci_run(c: Option<&DetectedCommand>) -> Option<&Evidence> {
    c?.evidence.iter().find(|e| ci::is_ci(e))
}

/// A `make test` (or `just test`) that CI runs replaces the ecosystem default
/// of every project in the same directory whose own test command CI does not
/// run; the default stays as evidence, named as the alternative. When CI also
/// runs the task file's install targets before it (the task project's setup
/// carries a CI line), that setup replaces the ecosystem's the same way.
fn canonical_task_tests(projects: &mut [Project]) {
    type Task = (std::path::PathBuf, DetectedCommand, Option<DetectedCommand>);
    let tasks: Vec<Task> = projects
        .iter()
        .filter(|p| is_task(p))
        .filter(|p| ci_run(p.test.as_ref()).is_some())
        .filter_map(|p| {
            let setup = p.setup.clone().filter(|s| ci_run(Some(s)).is_some());
            Some((p.path.clone(), p.test.clone()?, setup))
        })
        .collect();
    for (path, task, task_setup) in tasks {
        for p in projects.iter_mut().filter(|p| !is_task(p) && p.path == path) {
            if ci_runs_whole(p.test.as_ref()) {
                continue;
            }
            p.test = Some(replaced(p.test.take(), &task, &p.path, "the ecosystem default"));
            if let Some(setup) = &task_setup {
                p.setup = Some(replaced(p.setup.take(), setup, &p.path, "the ecosystem's setup"));
            }
        }
    }
}

/// Whether CI runs this command over the whole suite: one of its CI lines
/// is not a [`partial`] run.
fn ci_runs_whole(c: Option<&DetectedCommand>) -> bool {
    c.is_some_and(|c| c.evidence.iter().filter(|e| ci::is_ci(e)).any(|e| !partial(e.note.as_deref().unwrap_or(""))))
}

/// Whether a CI line runs only part of a suite: it selects tests by name or
/// label (`-run`, `-skip`, `-k`, `-m`, `--testNamePattern`, ginkgo's focus,
/// skip and label filters), or it is a `go test` of named packages without
/// `./...` (`go test ./e2e/`). Such a line confirms the ecosystem default
/// through its tool's name (`go test`) without running what it runs.
fn partial(line: &str) -> bool {
    const SELECT: &[&str] = &[
        "-run",
        "-test.run",
        "-skip",
        "-test.skip",
        "-k",
        "-m",
        "--testNamePattern",
        "-t",
        "--ginkgo.focus",
        "--ginkgo.skip",
        "--ginkgo.label-filter",
        "--ginkgo.focus-file",
        "--ginkgo.skip-file",
    ];
    let words: Vec<&str> = line.split_whitespace().collect();
    let selects = words.iter().enumerate().any(|(i, w)| {
        // `python -m pytest` names a module, not a marker.
        let module = *w == "-m" && i > 0 && words[i - 1].trim_start_matches("./").starts_with("python");
        !module && SELECT.iter().any(|f| *w == *f || w.strip_prefix(f).is_some_and(|r| r.starts_with('=')))
    });
    let go_packages = line.contains("go test")
        && !words.contains(&"./...")
        && words.iter().any(|w| w.starts_with("./") && !w.ends_with("..."));
    selects || go_packages
}

/// `chosen`, with the command it replaces (if any) noted in its evidence as the alternative.
fn replaced(
    default: Option<DetectedCommand>,
    chosen: &DetectedCommand,
    path: &std::path::Path,
    what: &str,
) -> DetectedCommand {
    let mut chosen = chosen.clone();
    if let Some(default) = default {
        let first = default.evidence.first().cloned().unwrap_or_else(|| Evidence::file(path));
        let note = format!("alternative: `{}` ({what}; CI runs `{}` instead)", default.display(), chosen.display());
        chosen.evidence.push(noted(first, note));
    }
    chosen
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
/// - CI runs its test command: +4 (+1 for a task runner below the root:
///   `make test` run in `doctests/` tests that folder, not the project);
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
        value += if is_task(p) && depth > 0 { 1.0 } else { 4.0 };
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

#[cfg(test)]
mod tests {
    use super::partial;

    #[test]
    fn runs_that_select_tests_or_packages_are_partial() {
        for line in [
            "go test -v ./maintnotifications/e2e/ -timeout 30m -race",
            "go test -skip=\"^TestTLS\" --ginkgo.label-filter='!NonRedisEnterprise'",
            "go test -run TestUnit ./...",
            "python -m pytest -k 'not slow'",
            "uv run pytest -m integration",
            "npx jest --testNamePattern=api",
        ] {
            assert!(partial(line), "{line}");
        }
        for line in [
            "go test ./...",
            "go test -race -timeout=5m ./...",
            "go test",
            "python -m pytest tests",
            "python3 -m pytest -q",
            "npm test",
            "pytest -q -x",
        ] {
            assert!(!partial(line), "{line}");
        }
    }
}
