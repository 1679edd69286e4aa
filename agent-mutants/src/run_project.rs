//! What to run for a mutant, per ecosystem: the cheap check, the build
//! (Rust, before the baseline tests only: a mutant's `cargo test` builds
//! its own), and the tests of the affected package or module.
//!
//! | ecosystem | unit of a file | check | baseline build | tests |
//! |---|---|---|---|---|
//! | Cargo | its package (nearest `Cargo.toml` with `[package]`) | `cargo check -p PKG` (`--tests` for test code) | `cargo test -p PKG -p DEPENDANT… --no-run` | `cargo test -p PKG -p DEPENDANT…` (every workspace member that depends on PKG, directly or not; `--tests`, no doctest run, when no doc comment holds a code block) |
//! | Go | its directory | `go vet -unreachable=false ./DIR` (a body replacement leaves the old body after its `return`) | — | `go test -failfast ./DIR ./IMPORTER…`: the package's tests and those of every package of the module that imports it, directly or transitively, or whose tests do (see `run_reach`) |
//! | Python | the module | `python3 -m py_compile FILE` | — | the pytest command on the test files that import the module, directly or through other modules of the project (all tests when none is found), with `-x` |
//! | Node/TypeScript | the project | `tsc --noEmit --incremental` (TypeScript, when a `tsc` is found), `node --check FILE` (JavaScript but JSX, which Node cannot read) | — | the project's test command |
//!
//! A Go or Node check that fails is compared with the same check on the
//! unmutated code (the `run_checks` module): only a new finding makes the
//! mutant unviable.

use super::Mutant;
use super::run_cargo::{CargoPackage, CargoWorkspace};
use agent_core::exec::{CommandSpec, EnvPolicy};
use agent_core::workspace::{DetectedCommand, WorkspaceProfile};
use agent_syntax::imports::{Import, python_imports};
use agent_syntax::{Lang, is_test_path};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[path = "run_reach.rs"]
mod run_reach;

/// The kind of project being mutated, from the manifest at its root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ecosystem {
    /// `Cargo.toml`.
    Cargo,
    /// `go.mod`.
    Go,
    /// `package.json` or `tsconfig.json`.
    Node,
    /// `pyproject.toml`, `setup.py`, `setup.cfg`, `pytest.ini`, `tox.ini`,
    /// `requirements.txt`, or only Python files at the root.
    Python,
}

impl Ecosystem {
    /// The ecosystem of the project at `root`, by its root manifest.
    pub(crate) fn detect(root: &Path) -> Option<Self> {
        let has = |f: &str| root.join(f).is_file();
        if has("Cargo.toml") {
            Some(Self::Cargo)
        } else if has("go.mod") {
            Some(Self::Go)
        } else if has("package.json") || has("tsconfig.json") {
            Some(Self::Node)
        } else if ["pyproject.toml", "setup.py", "setup.cfg", "pytest.ini", "tox.ini", "requirements.txt"]
            .iter()
            .any(|f| has(f))
        {
            Some(Self::Python)
        } else {
            Self::by_files(root)
        }
    }

    /// Without a manifest: the language of the source files at the root
    /// (a directory of Python scripts and their `test_*.py` has none).
    fn by_files(root: &Path) -> Option<Self> {
        let entries = std::fs::read_dir(root).ok()?;
        let langs: BTreeSet<Lang> = entries.filter_map(|e| e.ok()).filter_map(|e| Lang::from_path(&e.path())).collect();
        let only = |l: Lang| langs.len() == 1 && langs.contains(&l);
        if only(Lang::Python) {
            Some(Self::Python)
        } else if !langs.is_empty()
            && langs.iter().all(|l| matches!(l, Lang::JavaScript | Lang::TypeScript | Lang::Tsx))
        {
            Some(Self::Node)
        } else {
            None
        }
    }

    /// Whether a file of `lang` belongs to this ecosystem's sources.
    fn accepts(self, lang: Lang) -> bool {
        match self {
            Self::Cargo => lang == Lang::Rust,
            Self::Go => lang == Lang::Go,
            Self::Python => lang == Lang::Python,
            Self::Node => matches!(lang, Lang::JavaScript | Lang::TypeScript | Lang::Tsx),
        }
    }

    /// The classifier name for this ecosystem's test output.
    pub(crate) fn tool(self) -> &'static str {
        match self {
            Self::Cargo => "cargo",
            Self::Go => "go",
            Self::Python => "pytest",
            Self::Node => "node",
        }
    }
}

/// A project ready to be mutated: its ecosystem and the commands found for it.
#[derive(Clone, Debug)]
pub(crate) struct Project {
    pub(crate) eco: Ecosystem,
    root: PathBuf,
    /// The test command the oracle found (Python, Node).
    test: Option<DetectedCommand>,
    /// TypeScript: whether `tsconfig.json` is at the root (then only TypeScript is mutated).
    typescript: bool,
    /// Python: test files (relative) with their imports.
    py_tests: Vec<(String, Vec<Import>)>,
    /// Python: the test files (space-separated) that reach each non-test module.
    py_units: BTreeMap<String, String>,
    /// Go: the module's packages and what they import.
    go_packages: run_reach::GoPackages,
    /// Rust: whether any doc comment holds a code block (a doctest). When
    /// none does, builds and tests pass `--tests`, which leaves out the
    /// doctest run (a rustdoc process with nothing to do) and the examples.
    doctests: bool,
    /// Rust: packages (by name) with a doc comment that holds a code block.
    doc_blocks: BTreeSet<String>,
    /// Rust: the workspace's members, from `cargo metadata` (see [`Project::set_cargo`]).
    cargo: Option<CargoWorkspace>,
    /// Python: the source roots put first on `PYTHONPATH` in a job tree (see the `run_env` module).
    py_roots: Vec<String>,
}

impl Project {
    /// The project at `root`, with the test command of the oracle's `profile`.
    pub(crate) fn new(root: &Path, eco: Ecosystem, profile: Option<&WorkspaceProfile>) -> Self {
        let test = profile.and_then(WorkspaceProfile::test_command).cloned();
        Self {
            eco,
            root: root.to_path_buf(),
            test,
            typescript: root.join("tsconfig.json").is_file(),
            py_tests: Vec::new(),
            py_units: BTreeMap::new(),
            go_packages: run_reach::GoPackages::default(),
            doctests: true,
            doc_blocks: BTreeSet::new(),
            cargo: None,
            py_roots: if eco == Ecosystem::Python { super::run_env::python_roots(root) } else { Vec::new() },
        }
    }

    /// Whether `rel` is a source file this project mutates.
    pub(crate) fn is_source(&self, rel: &str) -> Option<Lang> {
        let lang = Lang::from_path(Path::new(rel))?;
        if !self.eco.accepts(lang) {
            return None;
        }
        let name = rel.rsplit('/').next().unwrap_or(rel);
        let generated = name.ends_with(".d.ts") || name.contains(".min.") || name.contains(".config.");
        if generated || (self.typescript && lang == Lang::JavaScript) {
            return None;
        }
        Some(lang)
    }

    /// Whether a source file holds code that no test run builds or runs, so
    /// its mutants could only ever be missed: Rust `benches/` and
    /// `examples/` (`cargo test` runs neither), documentation directories
    /// (`docs/conf.py`), and Python's packaging and task scripts at the root
    /// (`setup.py`, `noxfile.py`). Such files stay sources (their contents
    /// still key the results cache); they get no mutants.
    pub(crate) fn never_tested(&self, rel: &str) -> bool {
        let mut dirs = rel.split('/').rev().skip(1);
        let in_dir = |names: &[&str]| rel.split('/').rev().skip(1).any(|d| names.contains(&d));
        if in_dir(&["docs", "doc"]) {
            return true;
        }
        match self.eco {
            Ecosystem::Cargo => in_dir(&["benches", "examples"]),
            Ecosystem::Python => dirs.next().is_none() && matches!(rel, "setup.py" | "noxfile.py" | "fabfile.py"),
            Ecosystem::Go | Ecosystem::Node => false,
        }
    }

    /// Records what test selection needs from the source `files`: the
    /// Python test files and what they import; whether Rust has doctests.
    pub(crate) fn index_sources(&mut self, files: &[String]) {
        if self.eco == Ecosystem::Cargo {
            for f in files {
                let blocks = std::fs::read_to_string(self.root.join(f)).map_or(true, |text| {
                    text.lines().any(|l| {
                        let l = l.trim_start();
                        (l.starts_with("///") || l.starts_with("//!")) && l.contains("```")
                    }) || text.contains("#[doc")
                });
                if blocks {
                    self.doc_blocks.insert(cargo_package(&self.root, f).unwrap_or_default());
                }
            }
            self.doctests = !self.doc_blocks.is_empty();
        }
        if self.eco == Ecosystem::Go {
            self.go_packages = run_reach::GoPackages::index(&self.root, files);
        }
        if self.eco != Ecosystem::Python {
            return;
        }
        self.py_tests = files
            .iter()
            .filter(|f| is_test_path(Path::new(f)))
            .filter_map(|f| {
                let text = std::fs::read_to_string(self.root.join(f)).ok()?;
                Some((f.clone(), python_imports(&text)))
            })
            .collect();
        self.index_python_reach(files);
    }

    /// Python: for every non-test module, the test files that reach it
    /// (directly or through the project's other modules).
    fn index_python_reach(&mut self, files: &[String]) {
        let modules: Vec<(String, Vec<Import>)> = files
            .iter()
            .filter(|f| !is_test_path(Path::new(f)))
            .filter_map(|f| Some((f.clone(), python_imports(&std::fs::read_to_string(self.root.join(f)).ok()?))))
            .collect();
        self.py_units = modules
            .iter()
            .map(|(f, _)| (f.clone(), run_reach::python_reaching(f, &modules, &self.py_tests, module_stem).join(" ")))
            .collect();
    }

    /// Go: the unit of a file: every package whose tests can reach its
    /// package (`./DIR`, `.` for the root), space-separated.
    fn go_unit(&self, file: &str) -> String {
        if file.ends_with("_test.go") {
            // A mutant of a test runs that test's package alone.
            return go_dir(file);
        }
        let dir = file.rsplit_once('/').map_or("", |(d, _)| d);
        let dirs: Vec<String> = self
            .go_packages
            .reaching(dir)
            .iter()
            .map(|d| if d.is_empty() { ".".to_owned() } else { format!("./{d}") })
            .collect();
        dirs.join(" ")
    }

    /// The unit a mutant's tests are chosen by (see the module doc).
    pub(crate) fn unit_of(&self, file: &str) -> String {
        match self.eco {
            Ecosystem::Cargo => cargo_package(&self.root, file).unwrap_or_default(),
            Ecosystem::Go => self.go_unit(file),
            Ecosystem::Python => {
                if is_test_path(Path::new(file)) {
                    return file.to_owned();
                }
                if let Some(unit) = self.py_units.get(file) {
                    return unit.clone();
                }
                let stem = module_stem(file);
                let users: Vec<&str> = self
                    .py_tests
                    .iter()
                    .filter(|(_, imports)| imports.iter().any(|i| i.mentions(&stem)))
                    .map(|(f, _)| f.as_str())
                    .collect();
                users.join(" ")
            }
            Ecosystem::Node => String::new(),
        }
    }

    /// The environment of every command run in a job whose private cache is
    /// `job_cache` (its tree in `job_cache/tree`). Python imports the
    /// project's packages from the job tree (see the `run_env` module) and writes no bytecode (an import of a mutant must
    /// never find a `.pyc` of another mutant of the same size and second);
    /// the `.pyc` that `py_compile` writes is removed after each mutant.
    pub(crate) fn env(&self, job_cache: &Path) -> EnvPolicy {
        let base = EnvPolicy::default();
        match self.eco {
            Ecosystem::Cargo => base
                .set("CARGO_TARGET_DIR", job_cache.join("target").display().to_string())
                .set("CARGO_PROFILE_DEV_DEBUG", "0")
                .set("CARGO_PROFILE_TEST_DEBUG", "0")
                .set("CARGO_TERM_COLOR", "never")
                .allow("RUSTFLAGS")
                .allow("CARGO_NET_OFFLINE"),
            Ecosystem::Python => super::run_env::python_env(
                base.set("PYTHONDONTWRITEBYTECODE", "1"),
                &self.py_roots,
                &job_cache.join("tree"),
            ),
            Ecosystem::Go => base.allow("GOPROXY").allow("GONOSUMDB").allow("GOPRIVATE"),
            Ecosystem::Node => base.set("CI", "1").set("NO_COLOR", "1"),
        }
    }

    /// The cheap check of a mutant in the job tree `dir`, when the ecosystem has one.
    /// TypeScript's check is incremental, its build info kept in `job_cache`.
    pub(crate) fn check(&self, dir: &Path, job_cache: &Path, mutant: &Mutant) -> Option<CommandSpec> {
        let spec = match self.eco {
            Ecosystem::Cargo => {
                let pkg = cargo_package(&self.root, &mutant.file).unwrap_or_default();
                let mut args = vec!["check".to_owned(), "--quiet".into(), "--message-format=short".into()];
                if !pkg.is_empty() {
                    args.extend(["-p".to_owned(), pkg]);
                }
                if mutant.in_test {
                    args.push("--tests".into());
                }
                CommandSpec::new("cargo").args(args)
            }
            // A body replacement returns before the old body, which stays: not a compile error,
            // but vet's `unreachable` analyzer would call every such mutant unviable.
            Ecosystem::Go => {
                CommandSpec::new("go").args(["vet".to_owned(), "-unreachable=false".into(), go_dir(&mutant.file)])
            }
            Ecosystem::Python => CommandSpec::new("python3").args(["-m", "py_compile", mutant.file.as_str()]),
            // Node cannot read JSX (`.jsx` is an unknown extension to it): the tests decide.
            Ecosystem::Node if mutant.lang == Lang::JavaScript && mutant.file.ends_with(".jsx") => return None,
            Ecosystem::Node if mutant.lang == Lang::JavaScript => {
                CommandSpec::new("node").args(["--check", mutant.file.as_str()])
            }
            Ecosystem::Node => {
                let tsc = self.tsc(dir)?;
                let info = job_cache.join("tsbuildinfo").display().to_string();
                CommandSpec::new(tsc).args(["--noEmit", "--incremental", "--tsBuildInfoFile", info.as_str(), "-p", "."])
            }
        };
        Some(spec.cwd(dir))
    }

    /// The build before the timed test run (Rust: `cargo test --no-run`), for these units.
    pub(crate) fn build(&self, dir: &Path, units: &BTreeSet<String>) -> Option<CommandSpec> {
        if self.eco != Ecosystem::Cargo {
            return None;
        }
        let mut args = vec!["test".to_owned(), "--no-run".into(), "--quiet".into(), "--message-format=short".into()];
        args.extend(self.cargo_packages(units));
        if !self.doctests {
            args.push("--tests".into());
        }
        Some(CommandSpec::new("cargo").args(args).cwd(dir))
    }

    /// The schema build (Rust): the baseline build's packages and flags, with
    /// cargo's JSON messages (test executables, error spans) on stdout.
    pub(crate) fn schema_build(&self, dir: &Path, units: &BTreeSet<String>) -> CommandSpec {
        let mut args = vec!["test".to_owned(), "--no-run".into(), "--message-format=json".into()];
        args.extend(self.cargo_packages(units));
        if !self.doctests {
            args.push("--tests".into());
        }
        CommandSpec::new("cargo").args(args).cwd(dir)
    }

    /// Records the workspace's members (Rust), for test selection across
    /// dependants, doctests and proc-macro crates.
    pub(crate) fn set_cargo(&mut self, workspace: CargoWorkspace) {
        self.cargo = Some(workspace);
    }

    /// The member `name` of the Rust workspace, when `cargo metadata` named it.
    pub(crate) fn cargo_member(&self, name: &str) -> Option<&CargoPackage> {
        self.cargo.as_ref()?.package(name)
    }

    /// The packages whose tests can reach code of package `unit`: itself and
    /// its dependants in the workspace (only itself before [`Project::set_cargo`]).
    pub(crate) fn reach(&self, unit: &str) -> BTreeSet<String> {
        match &self.cargo {
            Some(ws) if !unit.is_empty() => ws.with_dependants(unit),
            _ => BTreeSet::from([unit.to_owned()]),
        }
    }

    /// Of the packages that can reach `unit`, those whose doctests run and
    /// hold code: the ones a doctest run of a schema mutant covers.
    pub(crate) fn doctest_packages(&self, unit: &str) -> Vec<String> {
        let Some(ws) = &self.cargo else { return Vec::new() };
        self.reach(unit)
            .into_iter()
            .filter(|p| ws.package(p).is_some_and(|m| m.doctest) && self.doc_blocks.contains(p))
            .collect()
    }

    /// `-p` arguments for these units and their dependants (`--workspace` for the empty unit).
    fn cargo_packages(&self, units: &BTreeSet<String>) -> Vec<String> {
        if units.iter().any(String::is_empty) {
            return vec!["--workspace".to_owned()];
        }
        let all: BTreeSet<String> = units.iter().flat_map(|u| self.reach(u)).collect();
        all.into_iter().flat_map(|u| ["-p".to_owned(), u]).collect()
    }

    /// The test run for these units (all tests when `units` holds only the empty unit).
    pub(crate) fn test(&self, dir: &Path, units: &BTreeSet<String>) -> CommandSpec {
        let spec = match self.eco {
            Ecosystem::Cargo => {
                let mut args = vec!["test".to_owned(), "--quiet".into()];
                args.extend(self.cargo_packages(units));
                if !self.doctests {
                    args.push("--tests".into());
                }
                CommandSpec::new("cargo").args(args)
            }
            Ecosystem::Go => {
                let mut args = vec!["test".to_owned(), "-failfast".into()];
                let dirs: BTreeSet<&str> = units.iter().flat_map(|u| u.split(' ')).filter(|d| !d.is_empty()).collect();
                args.extend(dirs.into_iter().map(str::to_owned));
                CommandSpec::new("go").args(args)
            }
            Ecosystem::Python => {
                let mut files: BTreeSet<String> = BTreeSet::new();
                let mut all = false;
                for unit in units {
                    if unit.is_empty() {
                        all = true;
                    }
                    files.extend(unit.split(' ').filter(|s| !s.is_empty()).map(str::to_owned));
                }
                let (program, mut args) = match &self.test {
                    Some(cmd) if cmd.display().contains("pytest") => (cmd.program.clone(), cmd.args.clone()),
                    Some(cmd) => return cmd.to_spec(dir),
                    None => ("python3".to_owned(), vec!["-m".to_owned(), "pytest".to_owned()]),
                };
                args.extend(["-x".to_owned(), "-q".into(), "-p".into(), "no:cacheprovider".into()]);
                if !all {
                    args.extend(files);
                }
                CommandSpec::new(program).args(args)
            }
            Ecosystem::Node => match &self.test {
                Some(cmd) => return cmd.to_spec(dir),
                None => CommandSpec::new("npm").args(["test"]),
            },
        };
        spec.cwd(dir)
    }

    /// A `tsc` for the job tree `dir`: the project's own, else one on `PATH`.
    fn tsc(&self, dir: &Path) -> Option<String> {
        let local = dir.join("node_modules/.bin/tsc");
        if local.is_file() {
            return Some(local.display().to_string());
        }
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path).map(|p| p.join("tsc")).find(|p| p.is_file()).map(|p| p.display().to_string())
    }
}

/// The name of the cargo package that owns `file`: the nearest directory
/// above it with a `Cargo.toml` that has a `[package]` table.
pub(crate) fn cargo_package(root: &Path, file: &str) -> Option<String> {
    cargo_package_at(root, file).map(|(name, _)| name)
}

/// The directory (relative to `root`, `""` for the root itself) of the
/// cargo package that owns `file`.
pub(crate) fn cargo_package_dir(root: &Path, file: &str) -> Option<String> {
    let (_, dir) = cargo_package_at(root, file)?;
    let rel = dir.strip_prefix(root).ok()?;
    Some(rel.to_string_lossy().replace('\\', "/"))
}

/// The name and directory of the package that owns `file`.
fn cargo_package_at(root: &Path, file: &str) -> Option<(String, PathBuf)> {
    let mut dir = root.join(file);
    while dir.pop() {
        let manifest = dir.join("Cargo.toml");
        if let Ok(text) = std::fs::read_to_string(&manifest) {
            let value: toml::Table = text.parse().ok()?;
            if let Some(name) = value.get("package").and_then(|p| p.get("name")).and_then(|n| n.as_str()) {
                return Some((name.to_owned(), dir));
            }
        }
        if dir == root {
            break;
        }
    }
    None
}

/// `./DIR` of a Go file (`.` for the root).
fn go_dir(file: &str) -> String {
    match file.rsplit_once('/') {
        Some((dir, _)) => format!("./{dir}"),
        None => ".".to_owned(),
    }
}

/// The module name of a Python file (`pkg/calc.py` → `calc`, `pkg/__init__.py` → `pkg`).
fn module_stem(file: &str) -> String {
    let path = Path::new(file);
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    if stem == "__init__" {
        return path.parent().and_then(Path::file_name).and_then(|s| s.to_str()).unwrap_or_default().to_owned();
    }
    stem.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_tests_of_a_module_are_the_test_files_whose_imports_mention_it() {
        let root = tempfile::tempdir().unwrap();
        let files = [
            ("calc.py", "def add(a, b):\n    return a + b\n"),
            ("tests/test_plain.py", "import calc\n"),
            ("tests/test_from_pkg.py", "from pkg import (\n    util,\n    calc,\n)\n"),
            ("tests/test_dotted.py", "from pkg.calc import add\n"),
            ("tests/test_relative.py", "from .calc import add\n"),
            ("tests/test_words.py", "# import calc\nDOC = '''\nimport calc\n'''\nimport other\n"),
            ("tests/test_alias.py", "from pkg import calculator as calc\n"),
        ];
        std::fs::create_dir_all(root.path().join("tests")).unwrap();
        for (file, text) in files {
            std::fs::write(root.path().join(file), text).unwrap();
        }
        let mut project = Project::new(root.path(), Ecosystem::Python, None);
        project.index_sources(&files.map(|(f, _)| f.to_owned()));
        assert_eq!(
            project.unit_of("calc.py"),
            "tests/test_plain.py tests/test_from_pkg.py tests/test_dotted.py tests/test_relative.py"
        );
        assert_eq!(project.unit_of("tests/test_words.py"), "tests/test_words.py");
    }

    #[test]
    fn benches_examples_docs_and_packaging_scripts_get_no_mutants() {
        let root = Path::new("/nowhere");
        let rust = Project::new(root, Ecosystem::Cargo, None);
        assert!(rust.never_tested("benches/benches.rs"));
        assert!(rust.never_tested("crates/a/examples/demo.rs"));
        assert!(!rust.never_tested("src/lib.rs"));
        assert!(!rust.never_tested("src/examples_of.rs"), "a file name is not a directory");
        assert!(!rust.never_tested("build.rs"), "a build script runs in cargo test");
        let python = Project::new(root, Ecosystem::Python, None);
        assert!(python.never_tested("setup.py"));
        assert!(python.never_tested("docs/conf.py"));
        assert!(!python.never_tested("pkg/setup.py"), "only the root's packaging script");
        assert!(!python.never_tested("pkg/calc.py"));
        assert!(!python.never_tested("benches/run.py"), "Python has no benches convention");
        let go = Project::new(root, Ecosystem::Go, None);
        assert!(!go.never_tested("examples/main.go"));
    }

    #[test]
    fn module_stem_of_an_init_file_is_its_package() {
        assert_eq!(module_stem("src/pkg/__init__.py"), "pkg");
        assert_eq!(module_stem("src/pkg/calc.py"), "calc");
    }

    #[test]
    fn go_dir_of_a_root_file_is_dot() {
        assert_eq!(go_dir("main.go"), ".");
        assert_eq!(go_dir("internal/calc/calc.go"), "./internal/calc");
    }

    #[test]
    fn cargo_package_is_found_in_the_nearest_manifest_with_a_package() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("Cargo.toml"), "[workspace]\nmembers = [\"a\"]\n").unwrap();
        std::fs::create_dir_all(root.path().join("a/src")).unwrap();
        std::fs::write(root.path().join("a/Cargo.toml"), "[package]\nname = \"alpha\"\nversion = \"0.1.0\"\n").unwrap();
        assert_eq!(cargo_package(root.path(), "a/src/lib.rs").as_deref(), Some("alpha"));
        assert_eq!(cargo_package(root.path(), "src/lib.rs"), None);
    }
}
