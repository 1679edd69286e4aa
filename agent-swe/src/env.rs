//! How an instance's checkout is made ready and how its tests are run:
//! [`EnvPlan`], from the instance's own `setup`/`test_cmd`, else the
//! `--specs` entry of its repository, else the workspace oracle's profile.
//!
//! The oracle says what the project is (its kind, build system and
//! directory); the plan turns that into the steps a fresh checkout needs:
//!
//! | kind | setup | tests |
//! |---|---|---|
//! | Python | a venv outside the checkout; `pip install -e '.[test extras]' pytest` plus the test requirement files (`requirements-dev.txt`, `tests/requirements.txt`, …) | `python -m pytest -rA -p no:cacheprovider ID…` |
//! | Go | `go mod download` unless vendored or without requirements | `go test -v -run '^(A\|B)$' ./...` |
//! | Rust | `cargo fetch` | `cargo test --workspace --no-fail-fast -- --exact NAME…` |
//! | Node | `npm ci` (`npm install` without a lock file; pnpm, yarn by their lock files, through `npx` when not installed) | jest's API with `--json`, `npx vitest run --reporter=json`, else the project's test command |
//! | other | the oracle's setup command | the oracle's test command |
//!
//! Test names never pass through a shell unquoted: the default commands
//! take them as separate arguments, and a `test_cmd` template gets them
//! shell-quoted in place of `{tests}`.
//!
//! ```
//! use agent_swe::TestCommand;
//!
//! let cmd = TestCommand::Template("pytest -rA {tests}".into());
//! let spec = cmd.for_tests(&["tests/t.py::test_a[it's here]".to_string()]);
//! assert_eq!(spec.program, "sh");
//! assert_eq!(spec.args, ["-c", r#"pytest -rA "tests/t.py::test_a[it's here]""#]);
//! ```

use agent_core::workspace::{DetectedCommand, Evidence, WorkspaceProfile, build_systems, kinds};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the setup and test commands of an instance came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PlanSource {
    /// The instance's own `setup` / `test_cmd`.
    Instance,
    /// The `--specs` entry of the instance's repository.
    Specs,
    /// The workspace oracle's profile.
    Oracle,
}

/// One setup step: a program with its arguments, run from a directory of
/// the checkout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupStep {
    /// The program.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// The directory, relative to the checkout's root.
    pub cwd: PathBuf,
}

impl SetupStep {
    fn new(program: &str, args: &[&str], cwd: &Path) -> Self {
        Self { program: program.into(), args: args.iter().map(|a| (*a).to_owned()).collect(), cwd: cwd.into() }
    }

    fn shell(line: &str) -> Self {
        Self::new("sh", &["-c", line], Path::new(""))
    }

    /// The step as one line, for reports.
    pub fn display(&self) -> String {
        let words: Vec<&str> =
            std::iter::once(self.program.as_str()).chain(self.args.iter().map(String::as_str)).collect();
        shlex::try_join(words.iter().copied()).unwrap_or_else(|_| words.join(" "))
    }

    /// [`display`](Self::display) with its secrets masked
    /// ([`redact_args`](agent_core::exec::redact_args)), for logs and errors.
    pub fn display_redacted(&self) -> String {
        let words: Vec<&str> =
            std::iter::once(self.program.as_str()).chain(self.args.iter().map(String::as_str)).collect();
        let redacted = agent_core::exec::redact_args(&words);
        shlex::try_join(redacted.iter().map(String::as_str)).unwrap_or_else(|_| redacted.join(" "))
    }
}

/// How the named tests of an instance are run.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum TestCommand {
    /// A shell template in which `{tests}` stands for the shell-quoted names.
    Template(String),
    /// pytest through this Python interpreter, the names as node ids.
    Pytest {
        /// The interpreter (`python`, the venv's first on `PATH`; `python3`
        /// when the instance's own setup made the environment).
        python: String,
        /// The project's directory, relative to the root.
        cwd: PathBuf,
    },
    /// `go test -v -run` over the module in `cwd`.
    GoTest {
        /// The module's directory, relative to the root.
        cwd: PathBuf,
    },
    /// `cargo test` with libtest's exact filters.
    Cargo {
        /// The package or workspace directory, relative to the root.
        cwd: PathBuf,
    },
    /// jest with its JSON report on stdout (the whole suite), started
    /// through its API (`node -e "require('jest').run(['--json'])"`).
    Jest {
        /// The package directory, relative to the root.
        cwd: PathBuf,
    },
    /// vitest with its JSON report on stdout (the whole suite).
    Vitest {
        /// The package directory, relative to the root.
        cwd: PathBuf,
    },
    /// The project's own test command, the whole suite.
    Suite(DetectedCommand),
}

impl TestCommand {
    /// The command that runs `tests` (the whole suite for the runners
    /// without a name filter here; the verdict reads the named tests' outcomes).
    ///
    /// A name holding a NUL byte cannot be a process argument: it is left
    /// off the command line (the verdict still looks it up in the output).
    pub fn for_tests(&self, tests: &[String]) -> DetectedCommand {
        let passable: Vec<String> = tests.iter().filter(|t| !t.contains('\0')).cloned().collect();
        let tests = passable.as_slice();
        let evidence = vec![Evidence::file("instance").with_note("the instance's tests")];
        let with_cwd = |mut cmd: DetectedCommand, cwd: &Path| {
            cmd.cwd = cwd.to_path_buf();
            cmd
        };
        match self {
            Self::Template(template) => {
                let quoted: Vec<String> = tests.iter().map(|t| quote(t)).collect();
                let line = template.replace("{tests}", &quoted.join(" "));
                DetectedCommand::new("sh", &["-c", &line], evidence, 1.0)
            }
            Self::Pytest { python, cwd } => {
                let mut args = vec!["-m", "pytest", "-rA", "-p", "no:cacheprovider"];
                args.extend(tests.iter().map(String::as_str));
                with_cwd(DetectedCommand::new(python.clone(), &args, evidence, 1.0), cwd)
            }
            Self::GoTest { cwd } => {
                let mut tops: Vec<String> = tests
                    .iter()
                    .map(|t| t.split('/').next().unwrap_or(t))
                    .filter(|t| !t.is_empty())
                    .map(regex_escape)
                    .collect();
                tops.sort();
                tops.dedup();
                let pattern = format!("^({})$", tops.join("|"));
                with_cwd(DetectedCommand::new("go", &["test", "-v", "-run", &pattern, "./..."], evidence, 1.0), cwd)
            }
            Self::Cargo { cwd } => {
                let mut args = vec!["test", "--workspace", "--no-fail-fast", "--"];
                // rustdoc splits a filter at its spaces, so a doctest's name
                // (`src/lib.rs - f (line 3)`) never matches exactly: with one,
                // the filters match as substrings instead (more tests run; the
                // verdict reads the named ones).
                if !tests.iter().any(|t| t.contains(char::is_whitespace)) {
                    args.push("--exact");
                }
                args.extend(tests.iter().map(String::as_str));
                with_cwd(DetectedCommand::new("cargo", &args, evidence, 1.0), cwd)
            }
            // jest's own API with its arguments, so the tests see a clean
            // `process.argv` (a CLI under test that parses it would read `--json`).
            Self::Jest { cwd } => {
                with_cwd(DetectedCommand::new("node", &["-e", "require('jest').run(['--json'])"], evidence, 1.0), cwd)
            }
            Self::Vitest { cwd } => {
                with_cwd(DetectedCommand::new("npx", &["vitest", "run", "--reporter=json"], evidence, 1.0), cwd)
            }
            Self::Suite(cmd) => cmd.clone(),
        }
    }
}

/// A word quoted for `sh` (names with a NUL byte are left out before this).
fn quote(word: &str) -> String {
    shlex::try_quote(word).map(|q| q.into_owned()).unwrap_or_else(|_| format!("'{}'", word.replace('\0', "")))
}

/// Escapes the characters Go's regexp syntax gives a meaning.
fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// How an instance's checkout is made ready, and how its tests run.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct EnvPlan {
    /// Where the plan came from.
    pub source: PlanSource,
    /// Steps run in order from the checkout (network allowed, no sandbox).
    pub setup: Vec<SetupStep>,
    /// How the tests run.
    pub tests: TestCommand,
    /// Variables set for the tests and for every command of the agent
    /// (the venv's `PATH`; `PYTHONDONTWRITEBYTECODE` always, so no stale
    /// bytecode outlives a same-size edit made within a second).
    pub env: BTreeMap<String, String>,
}

/// The first optional-dependency groups that hold test tools.
const TEST_EXTRAS: &[&str] = &["test", "tests", "testing", "dev"];
/// Requirement files with test dependencies.
const TEST_REQUIREMENTS: &[&str] = &[
    "requirements-dev.txt",
    "requirements-test.txt",
    "requirements-tests.txt",
    "test-requirements.txt",
    "requirements_dev.txt",
    "requirements_test.txt",
    "requirements/test.txt",
    "requirements/tests.txt",
    "requirements/dev.txt",
    "requirements/testing.txt",
    "requirements-testing.txt",
    "dev-requirements.txt",
    "test_requirements.txt",
    "tests/requirements.txt",
    "test/requirements.txt",
];

impl EnvPlan {
    /// The plan for a checkout at `root` described by `profile`, with the
    /// instance's overrides (`setup`, `test_cmd`, from the instance or its
    /// spec) winning over the oracle's answer. `env_dir` is a directory
    /// outside the checkout for what the setup creates (the venv).
    pub fn new(
        root: &Path,
        profile: &WorkspaceProfile,
        overrides: Overrides<'_>,
        env_dir: &Path,
        host_path: Option<&str>,
    ) -> Self {
        let source = overrides.source();
        let mut plan = Self::from_profile(root, profile, env_dir, host_path);
        if let Some(setup) = overrides.setup {
            plan.setup = setup.iter().map(|line| SetupStep::shell(line)).collect();
            // The default venv is not made: an in-tree `.venv` the setup makes is on PATH.
            plan.env.remove("VIRTUAL_ENV");
            let venv_bin = root.join(".venv/bin");
            plan.env.insert("PATH".into(), prepend_path(&venv_bin, host_path));
            if let TestCommand::Pytest { python, .. } = &mut plan.tests {
                *python = "python3".into();
            }
        }
        if let Some(template) = overrides.test_cmd {
            plan.tests = TestCommand::Template(template.to_owned());
        }
        plan.source = source;
        plan
    }

    fn from_profile(root: &Path, profile: &WorkspaceProfile, env_dir: &Path, host_path: Option<&str>) -> Self {
        // Python's bytecode cache is keyed by the source's mtime in whole
        // seconds and its size: a same-size edit within a second of a test
        // run would run the stale module. No test run writes one.
        let mut env = BTreeMap::from([("PYTHONDONTWRITEBYTECODE".to_owned(), "1".to_owned())]);
        let Some(project) = profile.primary() else {
            return Self {
                source: PlanSource::Oracle,
                setup: Vec::new(),
                tests: TestCommand::Template("false # no project found {tests}".into()),
                env,
            };
        };
        let dir = project.path.clone();
        let abs = root.join(&dir);
        let is = |kind: &str| project.kinds.iter().any(|k| k == kind);
        let oracle_setup = || {
            project
                .setup
                .iter()
                .map(|c| SetupStep { program: c.program.clone(), args: c.args.clone(), cwd: c.cwd.clone() })
                .collect::<Vec<_>>()
        };
        let suite = || project.test.clone().map(TestCommand::Suite);
        let (setup, tests) = if is(kinds::PYTHON) {
            let venv = env_dir.join("venv");
            let python = venv.join("bin/python").display().to_string();
            let mut install: Vec<String> =
                ["-m", "pip", "install", "--disable-pip-version-check", "-q"].iter().map(|s| (*s).to_owned()).collect();
            let has_manifest = ["pyproject.toml", "setup.py", "setup.cfg"].iter().any(|f| abs.join(f).is_file());
            if has_manifest {
                let extras = python_test_extras(&abs);
                install.push("-e".into());
                install.push(if extras.is_empty() { ".".into() } else { format!(".[{}]", extras.join(",")) });
            } else if abs.join("requirements.txt").is_file() {
                install.extend(["-r".into(), "requirements.txt".into()]);
            }
            for file in TEST_REQUIREMENTS {
                if abs.join(file).is_file() {
                    install.extend(["-r".into(), (*file).into()]);
                }
            }
            install.extend(python_dependency_groups(&abs));
            install.push("pytest".into());
            let install: Vec<&str> = install.iter().map(String::as_str).collect();
            let setup = vec![
                SetupStep::new("python3", &["-m", "venv", &venv.display().to_string()], &dir),
                SetupStep::new(&python, &install, &dir),
            ];
            env.insert("VIRTUAL_ENV".into(), venv.display().to_string());
            env.insert("PATH".into(), prepend_path(&venv.join("bin"), host_path));
            // `python` from the venv on PATH: the command the model sees holds
            // no path outside the checkout, so the same state gives the same prompt.
            (setup, TestCommand::Pytest { python: "python".into(), cwd: dir.clone() })
        } else if is(kinds::GO) {
            let gomod = std::fs::read_to_string(abs.join("go.mod")).unwrap_or_default();
            let requires = gomod.lines().any(|l| l.trim_start().starts_with("require"));
            let setup = if requires && !abs.join("vendor").is_dir() {
                vec![SetupStep::new("go", &["mod", "download"], &dir)]
            } else {
                Vec::new()
            };
            (setup, TestCommand::GoTest { cwd: dir.clone() })
        } else if is(kinds::RUST) {
            (vec![SetupStep::new("cargo", &["fetch"], &dir)], TestCommand::Cargo { cwd: dir.clone() })
        } else if is(kinds::NODE) || is(kinds::TYPESCRIPT) {
            let manager = package_manager(&abs);
            let setup = if project.build_system == build_systems::PNPM || abs.join("pnpm-lock.yaml").is_file() {
                via_npx("pnpm", manager.as_deref(), "9", &["install", "--frozen-lockfile"], &dir, host_path)
            } else if project.build_system == build_systems::YARN || abs.join("yarn.lock").is_file() {
                via_npx("yarn", manager.as_deref(), "1", &["install", "--frozen-lockfile"], &dir, host_path)
            } else if abs.join("package-lock.json").is_file() || abs.join("npm-shrinkwrap.json").is_file() {
                SetupStep::new("npm", &["ci", "--no-audit", "--no-fund"], &dir)
            } else {
                SetupStep::new("npm", &["install", "--no-audit", "--no-fund"], &dir)
            };
            let runner = node_test_runner(&abs, project.test.as_ref());
            let tests = match runner {
                Some("jest") => TestCommand::Jest { cwd: dir.clone() },
                Some("vitest") => TestCommand::Vitest { cwd: dir.clone() },
                _ => suite().unwrap_or(TestCommand::Template("npm test".into())),
            };
            (vec![setup], tests)
        } else {
            (oracle_setup(), suite().unwrap_or(TestCommand::Template("false # no test command found {tests}".into())))
        };
        Self { source: PlanSource::Oracle, setup, tests, env }
    }
}

/// The overrides of an instance: its own, else its repository's spec.
#[derive(Clone, Copy, Debug, Default)]
pub struct Overrides<'a> {
    /// Setup commands, each run with `sh -c`.
    pub setup: Option<&'a [String]>,
    /// The test command template.
    pub test_cmd: Option<&'a str>,
    /// Whether they came from the specs file rather than the instance.
    pub from_specs: bool,
}

impl Overrides<'_> {
    fn source(&self) -> PlanSource {
        match (self.setup.is_some() || self.test_cmd.is_some(), self.from_specs) {
            (false, _) => PlanSource::Oracle,
            (true, true) => PlanSource::Specs,
            (true, false) => PlanSource::Instance,
        }
    }
}

fn prepend_path(dir: &Path, host_path: Option<&str>) -> String {
    match host_path {
        Some(p) if !p.is_empty() => format!("{}:{p}", dir.display()),
        _ => dir.display().to_string(),
    }
}

/// The optional-dependency groups of `pyproject.toml` that hold test tools.
fn python_test_extras(dir: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(dir.join("pyproject.toml")) else { return Vec::new() };
    let Ok(doc) = text.parse::<toml::Table>() else { return Vec::new() };
    let groups = doc.get("project").and_then(|p| p.get("optional-dependencies")).and_then(|g| g.as_table());
    let Some(groups) = groups else { return Vec::new() };
    TEST_EXTRAS.iter().filter(|name| groups.contains_key(**name)).map(|s| (*s).to_owned()).collect()
}

/// The requirements of PEP 735 dependency groups that hold test tools
/// (`[dependency-groups] test = [...]`), listed one by one (pip's
/// `--group` is newer than many interpreters' pip).
fn python_dependency_groups(dir: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(dir.join("pyproject.toml")) else { return Vec::new() };
    let Ok(doc) = text.parse::<toml::Table>() else { return Vec::new() };
    let Some(groups) = doc.get("dependency-groups").and_then(|g| g.as_table()) else { return Vec::new() };
    TEST_EXTRAS
        .iter()
        .filter_map(|name| groups.get(*name).and_then(|g| g.as_array()))
        .flatten()
        .filter_map(|req| req.as_str().map(str::to_owned))
        .collect()
}

/// `packageManager` of package.json (`pnpm@10.28.0`).
fn package_manager(dir: &Path) -> Option<String> {
    let manifest: serde_json::Value =
        std::fs::read_to_string(dir.join("package.json")).ok().and_then(|t| serde_json::from_str(&t).ok())?;
    manifest["packageManager"].as_str().map(|s| s.split('+').next().unwrap_or(s).to_owned())
}

/// `tool ARGS` when `tool` is on `PATH`, else `npx --yes tool@VERSION ARGS`
/// with the version `packageManager` names (or `fallback`).
fn via_npx(
    tool: &str,
    manager: Option<&str>,
    fallback: &str,
    args: &[&str],
    dir: &Path,
    host_path: Option<&str>,
) -> SetupStep {
    let on_path = host_path.unwrap_or_default().split(':').any(|d| !d.is_empty() && Path::new(d).join(tool).is_file());
    if on_path {
        return SetupStep::new(tool, args, dir);
    }
    let version = manager
        .and_then(|m| m.strip_prefix(&format!("{tool}@")).map(str::to_owned))
        .unwrap_or_else(|| fallback.to_owned());
    let spec = format!("{tool}@{version}");
    let mut all = vec!["--yes", spec.as_str()];
    all.extend_from_slice(args);
    SetupStep::new("npx", &all, dir)
}

/// `jest` or `vitest` when the package's test script or dependencies name one.
fn node_test_runner(dir: &Path, test: Option<&DetectedCommand>) -> Option<&'static str> {
    let manifest: serde_json::Value =
        std::fs::read_to_string(dir.join("package.json")).ok().and_then(|t| serde_json::from_str(&t).ok())?;
    let script = manifest["scripts"]["test"].as_str().unwrap_or_default().to_owned();
    let command = test.map(DetectedCommand::display).unwrap_or_default();
    for runner in ["vitest", "jest"] {
        if script.contains(runner) || command.contains(runner) {
            return Some(runner);
        }
    }
    if script.contains("node --test") || script.contains("node:test") {
        return None;
    }
    ["vitest", "jest"]
        .into_iter()
        .find(|runner| ["devDependencies", "dependencies"].iter().any(|k| manifest[*k].get(*runner).is_some()))
}
