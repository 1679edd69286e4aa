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
        } else if tool(&["tool", "hatch", "envs"]) || dir.has("hatch.toml") {
            // `[tool.hatch.build]` or `[tool.hatch.version]` alone configure hatchling, the build backend, not hatch environments.
            let ev = if dir.has("hatch.toml") {
                Evidence::file(dir.file("hatch.toml"))
            } else {
                Evidence::field(&pyproject_path, "tool.hatch.envs")
            };
            candidates.push((build_systems::HATCH, ev));
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
    if only_requirements && !dir.files.iter().any(|f| f.ends_with(".py")) {
        // A lone requirements.txt beside no Python file: likely a tool's dependencies in another project.
        project.confidence = 0.4;
    }
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
    let maturin = maturin_backend(py).map(|field| {
        let mut ev = Evidence::field(&pyproject_path, field);
        ev.note = Some("maturin builds the Rust extension; the Python tests run against it".to_owned());
        if dir.has("Cargo.toml") && scan.read(&dir.file("Cargo.toml")).is_some_and(|t| mentions_dep(&t, "pyo3")) {
            ev.note =
                Some("maturin/PyO3: the Rust extension is built by the install step, then tested from Python".into());
        }
        ev
    });
    if let Some(ev) = &maturin {
        project.evidence.push(ev.clone());
    }

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
    let declared = declared_deps(scan, dir, py, &pyproject_path);
    // pip installs requirements files and extras everywhere, groups only from pip 25.1: prefer those for pip.
    let pip_rank = |s: &DepSource| match s {
        DepSource::Requirements(_) => 0,
        DepSource::Extra(_) => 1,
        DepSource::Default => 2,
        _ => 3,
    };
    let pytests = declared.iter().filter(|d| d.name == "pytest");
    let pytest_source = if system == build_systems::SETUPTOOLS {
        pytests.min_by_key(|d| pip_rank(&d.source))
    } else {
        pytests.into_iter().next()
    }
    .map(|d| d.source.clone());
    for d in declared.iter().filter(|d| d.name == "pytest") {
        if !pytest_ev.contains(&d.evidence) {
            pytest_ev.push(d.evidence.clone());
        }
    }
    for file in ["setup.py", "setup.cfg", "Pipfile"] {
        if pytest_ev.iter().any(|e| e.file == dir.file(file)) {
            continue;
        }
        if dir.has(file) && scan.read(&dir.file(file)).is_some_and(|t| mentions_dep(&t, "pytest")) {
            pytest_ev.push(noted(Evidence::file(dir.file(file)), "pytest is a dependency"));
        }
    }
    let test_dir = ["tests", "test"].into_iter().find(|t| dir.subdirs.contains(*t));
    let test_files = test_dir.map(|t| python_test_files(scan, &rel.join(t))).unwrap_or_default();
    if pytest_ev.is_empty() {
        if let Some(file) = test_files.iter().find(|f| scan.read(f).is_some_and(|t| imports_pytest(&t))) {
            pytest_ev.push(noted(Evidence::file(file), "a test file imports pytest"));
        } else if maturin.is_some() && !test_files.is_empty() {
            pytest_ev
                .push(noted(Evidence::file(&test_files[0]), "Python tests of a maturin project: pytest runs them"));
        }
    }

    // tox and nox: alternatives, or the test entry when CI runs them.
    let tox_ev = if dir.has("tox.ini") {
        Some(Evidence::file(dir.file("tox.ini")))
    } else if dir.has("tox.toml") {
        // tox 4.21 reads its configuration from tox.toml too.
        Some(Evidence::file(dir.file("tox.toml")))
    } else if tool(&["tool", "tox"]) {
        Some(Evidence::field(&pyproject_path, "tool.tox"))
    } else if dir.has("setup.cfg") && scan.read(&dir.file("setup.cfg")).is_some_and(|t| t.contains("[tox:tox]")) {
        Some(Evidence::field(dir.file("setup.cfg"), "tox:tox"))
    } else {
        None
    };
    let nox_ev = dir.has("noxfile.py").then(|| Evidence::file(dir.file("noxfile.py")));
    let mut alternatives: Vec<(DetectedCommand, Evidence)> = Vec::new();
    let mut ci_runner: Option<DetectedCommand> = None;
    for (tool_name, ev) in [("tox", tox_ev), ("nox", nox_ev)] {
        let Some(ev) = ev else { continue };
        let alt = cmd(tool_name, &[], &rel, vec![ev.clone()], 0.6);
        if ci_runner.is_none()
            && scan.ci.iter().any(|r| (r.dir.as_os_str().is_empty() || r.dir == rel) && runs_tool(&r.line, tool_name))
        {
            let mut chosen = cmd(tool_name, &[], &rel, vec![noted(ev.clone(), format!("CI runs {tool_name}"))], 0.9);
            if !pytest_ev.is_empty() {
                chosen.evidence.push(noted(
                    pytest_ev[0].clone(),
                    format!("alternative: `{}` (pytest configured)", run("pytest", &[], vec![], 0.0).display()),
                ));
            }
            ci_runner = Some(chosen);
        } else {
            alternatives.push((alt, ev));
        }
    }
    let unittest = || {
        let t = test_dir.unwrap_or("tests");
        run(
            "unittest",
            &["discover"],
            vec![noted(Evidence::file(rel.join(t)), "no pytest configuration: unittest assumed")],
            0.4,
        )
    };
    project.test = if let Some(mut chosen) = ci_runner {
        for (alt, ev) in &alternatives {
            chosen
                .evidence
                .push(noted(ev.clone(), format!("alternative: `{}` (confidence {})", alt.display(), alt.confidence)));
        }
        Some(chosen)
    } else if !pytest_ev.is_empty() {
        let mut test = run("pytest", &[], pytest_ev, 0.9);
        for (alt, ev) in &alternatives {
            test.evidence
                .push(noted(ev.clone(), format!("alternative: `{}` (confidence {})", alt.display(), alt.confidence)));
        }
        Some(test)
    } else if let Some((first, _)) = alternatives.first() {
        Some(first.clone())
    } else if !test_files.is_empty() {
        Some(unittest())
    } else {
        None
    };
    let tests_with = project.test.as_ref().map(|t| t.program.clone());

    // Setup: the manager's install, with the group, extra or requirements file that holds pytest.
    let has_requirements = dir.has("requirements.txt");
    let installable = dir.has("pyproject.toml") || dir.has("setup.py") || dir.has("setup.cfg");
    // With tox or nox as the test entry, what must be installed is the runner itself.
    let runner_tool = tests_with.as_deref().filter(|p| *p == "tox" || *p == "nox").map(str::to_owned);
    let runner_declared = runner_tool.as_deref().and_then(|t| declared.iter().find(|d| d.name == t));
    let source = match (&runner_tool, runner_declared) {
        (Some(_), Some(d)) => Some(d.source.clone()),
        (Some(_), None) => None,
        (None, _) => pytest_source,
    };
    let mut setup_ev = base.clone();
    if let Some(src) = &source {
        let name = runner_tool.as_deref().unwrap_or("pytest");
        if let Some(d) = declared.iter().find(|d| d.name == name && d.source == *src) {
            setup_ev.push(noted(d.evidence.clone(), format!("installs {name} ({})", src.describe())));
        }
    }
    project.setup = Some(match (system, &source, tests_with.as_deref()) {
        (build_systems::UV, None, Some(runner @ ("tox" | "nox"))) => {
            cmd("uv", &["tool", "install", runner], &rel, setup_ev, 0.8)
        }
        (_, _, Some(runner @ ("tox" | "nox"))) if system == build_systems::SETUPTOOLS || source.is_none() => {
            cmd("python", &["-m", "pip", "install", runner], &rel, setup_ev, 0.8)
        }
        (build_systems::UV, Some(DepSource::Group(g)), _) if g != "dev" => {
            cmd("uv", &["sync", "--group", g], &rel, setup_ev, 0.9)
        }
        (build_systems::UV, Some(DepSource::Extra(e)), _) => cmd("uv", &["sync", "--extra", e], &rel, setup_ev, 0.9),
        (build_systems::UV, _, _) => cmd("uv", &["sync"], &rel, setup_ev, 0.95),
        (build_systems::POETRY, Some(DepSource::OptionalGroup(g)), _) => {
            cmd("poetry", &["install", "--with", g], &rel, setup_ev, 0.9)
        }
        (build_systems::POETRY, Some(DepSource::Extra(e)), _) => {
            cmd("poetry", &["install", "--extras", e], &rel, setup_ev, 0.9)
        }
        (build_systems::POETRY, _, _) => cmd("poetry", &["install"], &rel, setup_ev, 0.95),
        (build_systems::PDM, Some(DepSource::Extra(e)), _) => cmd("pdm", &["install", "-G", e], &rel, setup_ev, 0.9),
        (build_systems::PDM, _, _) => cmd("pdm", &["install"], &rel, setup_ev, 0.95),
        (build_systems::PIPENV, _, _) => cmd("pipenv", &["install", "--dev"], &rel, setup_ev, 0.9),
        (build_systems::HATCH, Some(DepSource::HatchEnv(env)), _) if env != "default" => {
            cmd("hatch", &["env", "create", env], &rel, setup_ev, 0.8)
        }
        (build_systems::HATCH, _, _) => cmd("hatch", &["env", "create"], &rel, setup_ev, 0.8),
        _ => {
            // pip: the requirements files, then the project itself (with the extra), then the group.
            let mut args: Vec<String> = vec!["-m".into(), "pip".into(), "install".into()];
            let mut ev = Vec::new();
            if has_requirements {
                args.extend(["-r".into(), "requirements.txt".into()]);
                ev.push(Evidence::file(dir.file("requirements.txt")));
            }
            if let Some(DepSource::Requirements(file)) = &source {
                let name = file.strip_prefix(&rel).unwrap_or(file).to_string_lossy().into_owned();
                if name != "requirements.txt" {
                    args.extend(["-r".into(), name]);
                }
            }
            let extra = match &source {
                Some(DepSource::Extra(e)) => Some(e.clone()),
                _ => None,
            };
            if installable && (extra.is_some() || maturin.is_some() || !has_requirements) {
                args.extend(["-e".into(), extra.map_or_else(|| ".".to_owned(), |e| format!(".[{e}]"))]);
            }
            if let Some(DepSource::Group(g) | DepSource::OptionalGroup(g)) = &source {
                args.extend(["--group".into(), g.clone()]);
            }
            if ev.is_empty() {
                ev = base.clone();
            }
            ev.extend(setup_ev.into_iter().skip(base.len()));
            if let Some(m) = &maturin {
                ev.push(m.clone());
            }
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            let c = if has_requirements { 0.85 } else { 0.7 };
            cmd("python", &refs, &rel, ev, c)
        }
    });
    if let (Some(DepSource::HatchEnv(env)), Some(test)) = (&source, project.test.as_mut()) {
        if system == build_systems::HATCH && env != "default" && test.program == "hatch" {
            test.args = vec!["run".into(), format!("{env}:pytest")];
        }
    }
    project.build = Some(match system {
        _ if maturin.is_some() && system == build_systems::SETUPTOOLS => {
            cmd("maturin", &["build"], &rel, maturin.iter().cloned().collect(), 0.7)
        }
        build_systems::UV => cmd("uv", &["build"], &rel, base.clone(), 0.7),
        build_systems::POETRY => cmd("poetry", &["build"], &rel, base.clone(), 0.7),
        build_systems::PDM => cmd("pdm", &["build"], &rel, base.clone(), 0.7),
        build_systems::HATCH => cmd("hatch", &["build"], &rel, base.clone(), 0.7),
        _ => cmd("python", &["-m", "build"], &rel, base.clone(), 0.5),
    });

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

/// Where a dependency is declared, which decides what installs it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DepSource {
    /// Installed by the manager's plain install (`project.dependencies`, uv's `dev` group, poetry's non-optional groups, pdm dev groups).
    Default,
    /// A PEP 735 `[dependency-groups]` group, a pdm dev group or a poetry group.
    Group(String),
    /// A poetry group marked `optional = true`.
    OptionalGroup(String),
    /// An extra of `[project.optional-dependencies]` (or setup.cfg `extras_require`).
    Extra(String),
    /// A hatch environment's `dependencies` or `extra-dependencies`.
    HatchEnv(String),
    /// A requirements file (relative to the root).
    Requirements(PathBuf),
}

impl DepSource {
    fn describe(&self) -> String {
        match self {
            DepSource::Default => "a default dependency".into(),
            DepSource::Group(g) => format!("dependency group `{g}`"),
            DepSource::OptionalGroup(g) => format!("optional group `{g}`"),
            DepSource::Extra(e) => format!("extra `{e}`"),
            DepSource::HatchEnv(e) => format!("hatch environment `{e}`"),
            DepSource::Requirements(f) => format!("requirements file {}", f.display()),
        }
    }
}

/// One declared dependency: its normalized name, where, and the evidence.
#[derive(Debug, Clone)]
struct Declared {
    name: String,
    source: DepSource,
    evidence: Evidence,
}

/// Requirements files that hold development and test dependencies, by convention.
const DEV_REQUIREMENTS: &[&str] = &[
    "requirements.txt",
    "requirements-dev.txt",
    "requirements-test.txt",
    "requirements-tests.txt",
    "requirements_dev.txt",
    "requirements_test.txt",
    "dev-requirements.txt",
    "test-requirements.txt",
    "dev_requirements.txt",
    "test_requirements.txt",
    "requirements/dev.txt",
    "requirements/test.txt",
    "requirements/tests.txt",
    "requirements/testing.txt",
    "requirements/development.txt",
];

/// Every dependency `dir` declares, in the order of precedence used to pick
/// a setup command: the plain install first, then groups, extras, hatch
/// environments and requirements files.
fn declared_deps(scan: &Scan, dir: &Dir, py: Option<&toml::Table>, pyproject: &std::path::Path) -> Vec<Declared> {
    let mut out: Vec<Declared> = Vec::new();
    let mut push = |name: Option<String>, source: DepSource, field: String| {
        if let Some(name) = name {
            out.push(Declared {
                name,
                source,
                evidence: noted(Evidence::field(pyproject, field), "pytest is a dependency"),
            });
        }
    };
    let strings = |v: Option<&toml::Value>| -> Vec<String> {
        v.and_then(toml::Value::as_array)
            .map(|a| a.iter().filter_map(toml::Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    if let Some(t) = py {
        for r in strings(table(t, &["project"]).and_then(|p| p.get("dependencies"))) {
            push(requirement_name(&r), DepSource::Default, "project.dependencies".into());
        }
        for (g, v) in table(t, &["dependency-groups"]).into_iter().flatten() {
            for r in strings(Some(v)) {
                push(requirement_name(&r), DepSource::Group(g.clone()), format!("dependency-groups.{g}"));
            }
        }
        for r in strings(table(t, &["tool", "uv"]).and_then(|u| u.get("dev-dependencies"))) {
            push(requirement_name(&r), DepSource::Group("dev".into()), "tool.uv.dev-dependencies".into());
        }
        for (g, v) in table(t, &["tool", "pdm", "dev-dependencies"]).into_iter().flatten() {
            for r in strings(Some(v)) {
                push(requirement_name(&r), DepSource::Default, format!("tool.pdm.dev-dependencies.{g}"));
            }
        }
        for name in table(t, &["tool", "poetry", "dev-dependencies"]).into_iter().flat_map(|d| d.keys()) {
            push(Some(normalize_name(name)), DepSource::Default, "tool.poetry.dev-dependencies".into());
        }
        for (g, group) in table(t, &["tool", "poetry", "group"]).into_iter().flatten() {
            let optional = group.get("optional").and_then(toml::Value::as_bool).unwrap_or(false);
            let deps = group.get("dependencies").and_then(toml::Value::as_table);
            for name in deps.into_iter().flat_map(|d| d.keys()) {
                let source = if optional { DepSource::OptionalGroup(g.clone()) } else { DepSource::Default };
                push(Some(normalize_name(name)), source, format!("tool.poetry.group.{g}.dependencies"));
            }
        }
        for (e, v) in table(t, &["project", "optional-dependencies"]).into_iter().flatten() {
            for r in strings(Some(v)) {
                push(requirement_name(&r), DepSource::Extra(e.clone()), format!("project.optional-dependencies.{e}"));
            }
        }
        for (env, conf) in table(t, &["tool", "hatch", "envs"]).into_iter().flatten() {
            for key in ["dependencies", "extra-dependencies"] {
                for r in strings(conf.get(key)) {
                    push(
                        requirement_name(&r),
                        DepSource::HatchEnv(env.clone()),
                        format!("tool.hatch.envs.{env}.{key}"),
                    );
                }
            }
        }
    }
    for file in DEV_REQUIREMENTS {
        let path = dir.rel.join(file);
        let Some(text) = scan.read(&path) else { continue };
        for name in requirements_names(scan, &path, &text, 0) {
            let evidence = noted(Evidence::file(&path), "pytest is a dependency");
            out.push(Declared { name, source: DepSource::Requirements(path.clone()), evidence });
        }
    }
    out
}

/// The names a requirements file lists, following `-r other.txt` includes two levels deep.
fn requirements_names(scan: &Scan, path: &std::path::Path, text: &str, depth: usize) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split(" #").next().unwrap_or("").trim();
        let include = line.strip_prefix("-r").or_else(|| line.strip_prefix("--requirement"));
        if let Some(included) = include {
            let included = included.trim_start_matches(['=', ' ']).trim();
            let next = path.parent().unwrap_or(std::path::Path::new("")).join(included);
            if depth < 2 {
                if let Some(t) = scan.read(&next) {
                    out.extend(requirements_names(scan, &next, &t, depth + 1));
                }
            }
            continue;
        }
        out.extend(requirement_name(line));
    }
    out
}

/// The normalized distribution name of a PEP 508 requirement string
/// (`pytest[testing]>=8; python_version > "3.8"` → `pytest`), parsed by
/// `pep508_rs`; `None` for a comment, an option line (`-e`, `--index-url`),
/// a bare URL or path, an empty line, or a line that is not a requirement.
/// Per-requirement options of a requirements file (`--hash=…`) are cut first.
/// Names are normalized as PEP 503 says (lowercase, runs of `-_.` → `-`).
fn requirement_name(req: &str) -> Option<String> {
    let req = req.split(" --").next().unwrap_or_default().trim();
    if req.is_empty() || req.starts_with(['#', '-', '.', '/']) {
        return None;
    }
    // pep508_rs 0.9.2 panics on a name run ending in `-`, `_` or `.` before another
    // character (`A_/`); such a name is invalid anyway, so it is refused here first.
    let run = req.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))).unwrap_or(req.len());
    if req[..run].ends_with(['-', '_', '.']) {
        return None;
    }
    // It panics the same way on such an extra name (`0[a-]`).
    if let Some(rest) = req[run..].trim_start().strip_prefix('[') {
        let extras = rest.split(']').next().unwrap_or(rest);
        let valid = |e: &str| {
            e.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                && e.starts_with(|c: char| c.is_ascii_alphanumeric())
                && e.ends_with(|c: char| c.is_ascii_alphanumeric())
        };
        if extras.split(',').map(str::trim).filter(|e| !e.is_empty()).any(|e| !valid(e)) {
            return None;
        }
    }
    // Whatever else the parser cannot take is a line this reader cannot
    // read, never a crash of the inspection.
    let parsed = std::panic::catch_unwind(|| req.parse::<pep508_rs::Requirement>()).ok()?.ok()?;
    Some(normalize_name(parsed.name.as_ref()))
}

/// PEP 503 name normalization.
fn normalize_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The pyproject field that names maturin as the build backend, if it does.
fn maturin_backend(py: Option<&toml::Table>) -> Option<&'static str> {
    let bs = table(py?, &["build-system"])?;
    if bs.get("build-backend").and_then(toml::Value::as_str).is_some_and(|b| b.starts_with("maturin")) {
        return Some("build-system.build-backend");
    }
    let requires = bs.get("requires").and_then(toml::Value::as_array)?;
    requires
        .iter()
        .filter_map(toml::Value::as_str)
        .any(|r| requirement_name(r).as_deref() == Some("maturin"))
        .then_some("build-system.requires")
}

/// The `test_*.py` and `*_test.py` files of a test directory and its direct subdirectories (at most 50).
fn python_test_files(scan: &Scan, test_dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![(test_dir.to_path_buf(), 0)];
    while let Some((d, depth)) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(scan.root.join(&d)) else { continue };
        let mut names: Vec<(String, bool)> = entries
            .flatten()
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e.file_type().is_ok_and(|t| t.is_dir())))
            .collect();
        names.sort();
        for (name, is_dir) in names {
            if is_dir && depth == 0 && !super::skipped(&name) {
                dirs.push((d.join(&name), 1));
            } else if !is_dir && name.ends_with(".py") && (name.starts_with("test_") || name.ends_with("_test.py")) {
                out.push(d.join(&name));
            }
            if out.len() >= 50 {
                return out;
            }
        }
    }
    out.sort();
    out
}

/// Whether a Python file imports pytest.
fn imports_pytest(text: &str) -> bool {
    text.lines().map(str::trim_start).any(|l| l.starts_with("import pytest") || l.starts_with("from pytest"))
}

/// Whether a CI command line runs `tool` (`tox`, `tox -e py`, `python -m tox`,
/// `uvx --with tox-uv tox run`, `uv run --locked tox run`, `pipx run nox`):
/// every word before it is a launcher, an option or a variable assignment.
/// Installing it (`pip install tox`) does not count.
fn runs_tool(line: &str, tool: &str) -> bool {
    const LAUNCHERS: &[&str] =
        &["python", "python3", "py", "-m", "uv", "uvx", "run", "pipx", "exec", "poetry", "pdm", "hatch", "env", "sudo"];
    line.split(['&', ';', '|']).any(|part| {
        let words: Vec<&str> = part.split_whitespace().collect();
        let Some(at) = words.iter().position(|w| *w == tool) else { return false };
        // A word after a `--long` option may be its argument (`--group dev`).
        words[..at].iter().enumerate().all(|(i, w)| {
            LAUNCHERS.contains(w) || w.starts_with('-') || w.contains('=') || (i > 0 && words[i - 1].starts_with("--"))
        }) && !words[..at].contains(&"install")
    })
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
    use super::{mentions_dep, requirement_name, runs_tool};

    proptest::proptest! {
        #[test]
        fn arbitrary_requirement_lines_never_panic_and_names_are_normalized(s in "[-_.a-zA-Z0-9 \\[\\]<>=!~;@#:/'\"]{0,60}") {
            if let Some(name) = requirement_name(&s) {
                proptest::prop_assert!(!name.is_empty());
                proptest::prop_assert!(name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
            }
            let _ = runs_tool(&s, "tox");
        }
    }

    #[test]
    fn requirement_names_follow_pep_508() {
        assert_eq!(requirement_name("pytest>=8.0").as_deref(), Some("pytest"));
        assert_eq!(
            requirement_name("Pytest_Cov[toml] ~= 5.0 ; python_version >= '3.9'").as_deref(),
            Some("pytest-cov")
        );
        assert_eq!(requirement_name("pytest @ git+https://github.com/pytest-dev/pytest").as_deref(), Some("pytest"));
        assert_eq!(requirement_name("zope.interface").as_deref(), Some("zope-interface"));
        assert_eq!(requirement_name("# pytest"), None);
        assert_eq!(requirement_name("-e ."), None);
        assert_eq!(requirement_name("--index-url https://x"), None);
        assert_eq!(requirement_name("./vendored/pkg"), None);
        assert_eq!(requirement_name("pytest xyz"), None);
        assert_eq!(requirement_name("pytest==8.3.1 --hash=sha256:0123abcd").as_deref(), Some("pytest"));
        assert_eq!(requirement_name("pytest (>=8)").as_deref(), Some("pytest"));
        assert_eq!(requirement_name("https://example.com/pkg.whl"), None);
        assert_eq!(requirement_name("pytest>=8; python_version >"), None);
        assert_eq!(requirement_name("A_/"), None);
        assert_eq!(requirement_name("0[a-]"), None);
        assert_eq!(requirement_name("pkg [a-b, c.d] >= 1").as_deref(), Some("pkg"));
    }

    #[test]
    fn ci_lines_run_tox_or_nox_only_as_a_command() {
        assert!(runs_tool("tox -e py312", "tox"));
        assert!(runs_tool("python -m tox", "tox"));
        assert!(runs_tool("pip install tox && tox", "tox"));
        assert!(runs_tool("uvx nox -s tests", "nox"));
        assert!(!runs_tool("pip install tox tox-gh-actions", "tox"));
        assert!(!runs_tool("echo toxic", "tox"));
        assert!(runs_tool("uv run --locked --no-default-groups --group dev tox run", "tox"));
        assert!(runs_tool("uvx --with tox-uv tox run -f typing", "tox"));
        assert!(runs_tool("pipx run nox -s tests", "nox"));
        assert!(!runs_tool("echo tox", "tox"));
    }

    #[test]
    fn dependency_mentions_are_whole_names() {
        assert!(mentions_dep("dev = [\"pytest>=8\"]", "pytest"));
        assert!(mentions_dep("pytest\nrequests\n", "pytest"));
        assert!(!mentions_dep("pytest-cov\n", "pytest"));
    }
}
