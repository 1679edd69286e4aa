//! Python: uv, poetry, pdm, pipenv, hatch, setuptools/requirements; pytest,
//! tox and nox; the src layout.

use super::detect::Found;
use super::{Dir, Scan, cmd, noted};
use agent_core::workspace::{Ambiguity, DetectedCommand, Evidence, OracleError, Project, build_systems, kinds};
use std::path::PathBuf;

const MARKERS: &[&str] =
    &["pyproject.toml", "setup.py", "setup.cfg", "requirements.txt", "Pipfile", "uv.lock", "poetry.lock", "pdm.lock"];

fn table<'a>(t: &'a toml::Table, path: &[&str]) -> Option<&'a toml::Table> {
    let mut cur = t;
    for key in path {
        cur = cur.get(*key)?.as_table()?;
    }
    Some(cur)
}

/// Detects a Python project in `dir`.
pub(crate) fn detect(scan: &mut Scan, dir: &Dir, out: &mut Found) -> Result<(), OracleError> {
    if !MARKERS.iter().any(|m| dir.has(m)) {
        return Ok(());
    }
    let rel = dir.rel.clone();
    let only_requirements = !MARKERS.iter().any(|m| *m != "requirements.txt" && dir.has(m));
    if only_requirements && !rel.as_os_str().is_empty() && !dir.files.iter().any(|f| f.ends_with(".py")) {
        // `docs/requirements.txt` and the like: dependencies for a tool, not a project.
        return Ok(());
    }
    let pyproject_path = dir.file("pyproject.toml");
    let pyproject: Option<toml::Table> = if dir.has("pyproject.toml") {
        let text = scan.read(&pyproject_path).unwrap_or_default();
        match toml::from_str(&text) {
            Ok(t) => Some(t),
            Err(e) if rel.as_os_str().is_empty() => {
                return Err(OracleError::BadManifest { file: scan.root.join(&pyproject_path), message: e.to_string() });
            }
            Err(_) => None,
        }
    } else {
        None
    };
    let py = pyproject.as_ref();
    let tool = |path: &[&str]| py.and_then(|t| table(t, path)).is_some();

    // Build system: lockfiles first, then tool tables, then setuptools.
    let mut candidates: Vec<(&str, Evidence)> = Vec::new();
    if dir.has("uv.lock") {
        candidates.push((build_systems::UV, Evidence::file(dir.file("uv.lock"))));
    }
    if dir.has("poetry.lock") {
        candidates.push((build_systems::POETRY, Evidence::file(dir.file("poetry.lock"))));
    }
    if dir.has("pdm.lock") {
        candidates.push((build_systems::PDM, Evidence::file(dir.file("pdm.lock"))));
    }
    if dir.has("Pipfile.lock") || dir.has("Pipfile") {
        let f = if dir.has("Pipfile.lock") { "Pipfile.lock" } else { "Pipfile" };
        candidates.push((build_systems::PIPENV, Evidence::file(dir.file(f))));
    }
    let lock_count = candidates.len();
    if lock_count > 1 {
        out.ambiguities.push(Ambiguity {
            subject: format!(
                "python package manager of {}",
                if rel.as_os_str().is_empty() { ".".into() } else { rel.display().to_string() }
            ),
            candidates: candidates.iter().map(|(s, _)| (*s).to_owned()).collect(),
            evidence: candidates.iter().map(|(_, e)| e.clone()).collect(),
        });
    }
    if candidates.is_empty() {
        if tool(&["tool", "poetry"]) {
            candidates.push((build_systems::POETRY, Evidence::field(&pyproject_path, "tool.poetry")));
        } else if tool(&["tool", "pdm"]) {
            candidates.push((build_systems::PDM, Evidence::field(&pyproject_path, "tool.pdm")));
        } else if tool(&["tool", "hatch"]) {
            candidates.push((build_systems::HATCH, Evidence::field(&pyproject_path, "tool.hatch")));
        } else if tool(&["tool", "uv"]) {
            candidates.push((build_systems::UV, Evidence::field(&pyproject_path, "tool.uv")));
        }
    }
    let (system, system_ev, confidence) = match candidates.first() {
        Some((s, e)) => (*s, e.clone(), if lock_count > 1 { 0.5 } else { 0.95 }),
        None => {
            let f = ["pyproject.toml", "setup.py", "setup.cfg", "requirements.txt"]
                .into_iter()
                .find(|f| dir.has(f))
                .unwrap_or("pyproject.toml");
            (build_systems::SETUPTOOLS, Evidence::file(dir.file(f)), 0.7)
        }
    };

    let mut project = Project::new(rel.clone(), &[kinds::PYTHON], system);
    project.confidence = confidence;
    project.name = py
        .and_then(|t| table(t, &["project"]).or_else(|| table(t, &["tool", "poetry"])))
        .and_then(|p| p.get("name"))
        .and_then(toml::Value::as_str)
        .map(str::to_owned);
    project.evidence.push(system_ev.clone());
    if dir.subdirs.contains("src") && !dir.has("__init__.py") {
        let src = scan.root.join(&rel).join("src");
        let has_pkg = std::fs::read_dir(&src)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.path().join("__init__.py").is_file() || e.path().extension().is_some_and(|x| x == "py"));
        if has_pkg {
            project.evidence.push(noted(Evidence::file(rel.join("src")), "src layout"));
        }
    }

    // uv workspace members.
    if let Some(ws) = py.and_then(|t| table(t, &["tool", "uv", "workspace"])) {
        let pats: Vec<String> = ws
            .get("members")
            .and_then(toml::Value::as_array)
            .map(|a| a.iter().filter_map(toml::Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        let mut members: Vec<PathBuf> = Vec::new();
        for p in pats {
            members.extend(scan.expand(&rel, &p, "pyproject.toml"));
        }
        members.retain(|m| *m != rel);
        members.dedup();
        project.evidence.push(Evidence::field(&pyproject_path, "tool.uv.workspace.members"));
        project.members = members;
    }

    // Runner prefix.
    let runner: (&str, &[&str]) = match system {
        build_systems::UV => ("uv", &["run"]),
        build_systems::POETRY => ("poetry", &["run"]),
        build_systems::PDM => ("pdm", &["run"]),
        build_systems::PIPENV => ("pipenv", &["run"]),
        build_systems::HATCH => ("hatch", &["run"]),
        _ => ("python", &["-m"]),
    };
    let run = |tool: &str, args: &[&str], ev: Vec<Evidence>, c: f64| -> DetectedCommand {
        let mut full: Vec<&str> = runner.1.to_vec();
        full.push(tool);
        full.extend_from_slice(args);
        cmd(runner.0, &full, &rel, ev, c)
    };

    let base = vec![system_ev.clone()];
    let has_requirements = dir.has("requirements.txt");
    project.setup = Some(match system {
        build_systems::UV => cmd("uv", &["sync"], &rel, base.clone(), 0.95),
        build_systems::POETRY => cmd("poetry", &["install"], &rel, base.clone(), 0.95),
        build_systems::PDM => cmd("pdm", &["install"], &rel, base.clone(), 0.95),
        build_systems::PIPENV => cmd("pipenv", &["install", "--dev"], &rel, base.clone(), 0.9),
        build_systems::HATCH => cmd("hatch", &["env", "create"], &rel, base.clone(), 0.8),
        _ if has_requirements => cmd(
            "python",
            &["-m", "pip", "install", "-r", "requirements.txt"],
            &rel,
            vec![Evidence::file(dir.file("requirements.txt"))],
            0.85,
        ),
        _ => cmd("python", &["-m", "pip", "install", "-e", "."], &rel, base.clone(), 0.7),
    });
    project.build = Some(match system {
        build_systems::UV => cmd("uv", &["build"], &rel, base.clone(), 0.7),
        build_systems::POETRY => cmd("poetry", &["build"], &rel, base.clone(), 0.7),
        build_systems::PDM => cmd("pdm", &["build"], &rel, base.clone(), 0.7),
        build_systems::HATCH => cmd("hatch", &["build"], &rel, base.clone(), 0.7),
        _ => cmd("python", &["-m", "build"], &rel, base.clone(), 0.5),
    });

    // pytest: configured or depended on.
    let mut pytest_ev: Vec<Evidence> = Vec::new();
    if tool(&["tool", "pytest", "ini_options"]) {
        pytest_ev.push(Evidence::field(&pyproject_path, "tool.pytest.ini_options"));
    }
    if dir.has("pytest.ini") {
        pytest_ev.push(Evidence::file(dir.file("pytest.ini")));
    }
    for (file, section) in [("setup.cfg", "[tool:pytest]"), ("tox.ini", "[pytest]")] {
        if dir.has(file) && scan.read(&dir.file(file)).is_some_and(|t| t.contains(section)) {
            pytest_ev.push(Evidence::field(dir.file(file), section.trim_matches(['[', ']'])));
        }
    }
    if dir.has("conftest.py") {
        pytest_ev.push(Evidence::file(dir.file("conftest.py")));
    }
    for file in [
        "pyproject.toml",
        "requirements.txt",
        "requirements-dev.txt",
        "requirements-test.txt",
        "Pipfile",
        "setup.py",
        "setup.cfg",
    ] {
        if pytest_ev.iter().any(|e| e.file == dir.file(file)) {
            continue;
        }
        if dir.has(file) && scan.read(&dir.file(file)).is_some_and(|t| mentions_dep(&t, "pytest")) {
            pytest_ev.push(noted(Evidence::file(dir.file(file)), "pytest is a dependency"));
        }
    }
    let tox = dir.has("tox.ini") || tool(&["tool", "tox"]);
    let nox = dir.has("noxfile.py");
    let mut alternatives: Vec<(DetectedCommand, Evidence)> = Vec::new();
    if tox {
        let ev = if dir.has("tox.ini") {
            Evidence::file(dir.file("tox.ini"))
        } else {
            Evidence::field(&pyproject_path, "tool.tox")
        };
        alternatives.push((cmd("tox", &[], &rel, vec![ev.clone()], 0.6), ev));
    }
    if nox {
        let ev = Evidence::file(dir.file("noxfile.py"));
        alternatives.push((cmd("nox", &[], &rel, vec![ev.clone()], 0.6), ev));
    }
    project.test = if !pytest_ev.is_empty() {
        let mut test = run("pytest", &[], pytest_ev, 0.9);
        for (alt, ev) in &alternatives {
            test.evidence
                .push(noted(ev.clone(), format!("alternative: `{}` (confidence {})", alt.display(), alt.confidence)));
        }
        Some(test)
    } else if let Some((first, _)) = alternatives.first() {
        Some(first.clone())
    } else if dir.subdirs.contains("tests") || dir.subdirs.contains("test") {
        let t = if dir.subdirs.contains("tests") { "tests" } else { "test" };
        Some(run(
            "unittest",
            &["discover"],
            vec![noted(Evidence::file(rel.join(t)), "no pytest configuration: unittest assumed")],
            0.4,
        ))
    } else {
        None
    };

    // Lint: ruff when configured.
    let ruff = if tool(&["tool", "ruff"]) {
        Some(Evidence::field(&pyproject_path, "tool.ruff"))
    } else if dir.has("ruff.toml") || dir.has(".ruff.toml") {
        Some(Evidence::file(dir.file(if dir.has("ruff.toml") { "ruff.toml" } else { ".ruff.toml" })))
    } else {
        None
    };
    if let Some(ev) = ruff {
        project.lint = Some(run("ruff", &["check", "."], vec![ev], 0.85));
    }
    out.projects.push(project);
    Ok(())
}

/// Whether a manifest's text names `dep` as a dependency (a word, not a substring of another name).
fn mentions_dep(text: &str, dep: &str) -> bool {
    text.match_indices(dep).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + dep.len()..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '-' || c == '_'));
        boundary(before) && boundary(after)
    })
}

#[cfg(test)]
mod tests {
    use super::mentions_dep;

    #[test]
    fn dependency_mentions_are_whole_names() {
        assert!(mentions_dep("dev = [\"pytest>=8\"]", "pytest"));
        assert!(mentions_dep("pytest\nrequests\n", "pytest"));
        assert!(!mentions_dep("pytest-cov\n", "pytest"));
    }
}
