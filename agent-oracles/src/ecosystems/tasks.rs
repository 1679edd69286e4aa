//! `Makefile` and `justfile` targets as projects of their own when they offer a test target.
//!
//! When the root's CI runs a target (`make test`, or another whose recipe
//! runs the tests, such as `make cover`), that target is the test command,
//! and the install targets CI runs before it in the same job (`make deps`,
//! `make init`, a bare `make` whose default goal installs) are the setup
//! command ([`ci_setup`]).

use super::detect::Found;
use super::{Dir, Scan, ci, cmd};
use agent_core::workspace::{DetectedCommand, Evidence, OracleError, Project, build_systems};

/// Whether a Makefile or justfile defines the target `name` (`name:` or `name arg:` at column 0).
fn has_target(text: &str, name: &str) -> bool {
    text.lines().any(|l| {
        let Some(rest) = l.strip_prefix(name) else { return false };
        match rest.chars().next() {
            Some(':') => !rest.starts_with(":="),
            Some(' ' | '\t') => {
                let r = rest.trim_start();
                (r.contains(':') && !r.contains(":=") && !r.starts_with(['=', '?', '+']))
                    || (r.starts_with(':') && !r.starts_with(":="))
            }
            _ => false,
        }
    })
}

/// Detects a `Makefile` or `justfile` with targets in `dir` (the root and top-level directories only).
pub(crate) fn detect(scan: &mut Scan, dir: &Dir, out: &mut Found) -> Result<(), OracleError> {
    if dir.rel.components().count() > 1 {
        return Ok(());
    }
    let rel = dir.rel.clone();
    for (names, system, program) in [
        (&["GNUmakefile", "Makefile", "makefile"][..], build_systems::MAKE, "make"),
        (&["justfile", "Justfile", ".justfile"][..], build_systems::JUST, "just"),
    ] {
        let Some(name) = names.iter().find(|n| dir.has(n)) else { continue };
        let file = dir.file(name);
        let text = scan.read(&file).unwrap_or_default();
        // `%:` catches every target (a Makefile that hands targets to a script).
        let catch_all = program == "make" && text.lines().any(|l| l.starts_with("%:"));
        let ci_test = dir.rel.as_os_str().is_empty() && ci_runs_target(scan, program, "test");
        // A target other than `test` that CI runs and whose recipe runs tests (`make cover`, `make richtest`).
        let ci_target = if dir.rel.as_os_str().is_empty() && !ci_runs_target(scan, program, "test") {
            scan.ci
                .iter()
                .filter(|r| r.dir.as_os_str().is_empty())
                .flat_map(|r| targets_run(&r.line, program))
                .find(|t| has_target(&text, t) && recipe(&text, t).is_some_and(|r| runs_tests(&r) && !benchmark(t, &r)))
        } else {
            None
        };
        let has_test = has_target(&text, "test") || (catch_all && ci_test);
        if !has_test && !has_target(&text, "check") && ci_target.is_none() {
            continue;
        }
        let mut project = Project::new(rel.clone(), &[], system);
        project.evidence.push(Evidence::file(&file));
        project.confidence = 0.7;
        let target = |t: &str, c: f64| cmd(program, &[t], &rel, vec![Evidence::field(&file, t)], c);
        project.test = Some(match &ci_target {
            Some(t) => {
                let mut c = target(t, 0.85);
                if let Some(ev) = c.evidence.first_mut() {
                    ev.note = Some(format!("CI runs `{program} {t}`; its recipe runs the tests"));
                }
                c
            }
            None if has_test => target("test", 0.85),
            None => target("check", 0.6),
        });
        if has_target(&text, "build") {
            project.build = Some(target("build", 0.8));
        }
        if has_target(&text, "lint") {
            project.lint = Some(target("lint", 0.8));
        }
        let ci_test_target = ci_target.clone().or_else(|| ci_test.then(|| "test".to_owned()));
        // The CI line that runs it is evidence even when it does not read `make T`
        // word for word (`make deps test`, `make -- "$TARGET"` through an action).
        if let (Some(t), Some(test)) = (&ci_test_target, project.test.as_mut()) {
            if let Some(run) = scan.ci.iter().find(|r| {
                r.dir.as_os_str().is_empty()
                    && invocations(&r.line, program).iter().any(|i| !i.elsewhere && i.targets.contains(t))
            }) {
                test.evidence.push(run.evidence());
                test.confidence = 0.95;
            }
        }
        if let Some(setup) = ci_test_target.and_then(|t| ci_setup(scan, &text, &file, program, &t)) {
            project.setup = Some(setup);
        } else {
            for s in ["setup", "deps", "install-deps", "bootstrap"] {
                if has_target(&text, s) {
                    project.setup = Some(target(s, 0.7));
                    break;
                }
            }
        }
        out.projects.push(project);
    }
    Ok(())
}

/// Whether the root's CI runs `program target` in the root directory.
fn ci_runs_target(scan: &Scan, program: &str, target: &str) -> bool {
    scan.ci
        .iter()
        .filter(|r| r.dir.as_os_str().is_empty())
        .any(|r| targets_run(&r.line, program).iter().any(|t| t == target))
}

/// The targets a shell command line asks `program` (`make`, `just`) to run:
/// `make test`, `FOO=1 make -j4 cover lint`, `cd x && make test`; options and
/// variable assignments are skipped, `-C dir`/`-f file` with their argument.
fn targets_run(line: &str, program: &str) -> Vec<String> {
    invocations(line, program).into_iter().flat_map(|i| i.targets).collect()
}

/// One run of `make` or `just` on a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Invocation {
    /// The targets named, in order; empty for the default goal.
    targets: Vec<String>,
    /// Whether it runs elsewhere than the line's directory: after a `cd`,
    /// with `-C dir`, or with another file (`-f file`).
    elsewhere: bool,
}

/// The runs of `program` on a shell command line ([`targets_run`]'s reading).
/// A target quoted alone (`"test"`) is read without its quotes; a word that
/// needs the shell (`$T`, `"$(x)"`, a redirection) ends the targets.
fn invocations(line: &str, program: &str) -> Vec<Invocation> {
    let mut out = Vec::new();
    let mut moved = false;
    for part in line.split(['&', ';', '|']) {
        let words: Vec<&str> = part.split_whitespace().collect();
        if words.first().is_some_and(|w| *w == "cd" || *w == "pushd") {
            moved = true;
        }
        let Some(at) = words.iter().position(|w| *w == program) else { continue };
        let mut inv = Invocation { targets: Vec::new(), elsewhere: moved };
        let mut rest = words[at + 1..].iter();
        while let Some(w) = rest.next() {
            if matches!(*w, "-C" | "-f" | "--directory" | "--file" | "--justfile" | "-d") {
                inv.elsewhere = true;
                rest.next();
            } else if w.starts_with("--directory=") || w.starts_with("--file=") || w.starts_with("--justfile=") {
                inv.elsewhere = true;
            } else if w.starts_with('-') || w.contains('=') {
                continue;
            } else if let Some(t) = unquoted(w) {
                inv.targets.push(t.to_owned());
            } else {
                break;
            }
        }
        out.push(inv);
    }
    out
}

/// A word as a target name: as written, or without the quotes of `"name"` /
/// `'name'`; `None` when it needs the shell.
fn unquoted(word: &str) -> Option<&str> {
    let inner = ['"', '\''].iter().find_map(|q| word.strip_prefix(*q).and_then(|w| w.strip_suffix(*q))).unwrap_or(word);
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '+' | '@' | ':');
    (!inner.is_empty() && inner.chars().all(plain)).then_some(inner)
}

/// The goal of a bare `make` (or `just`): `.DEFAULT_GOAL` when the Makefile
/// sets it, else the first rule's first target that does not start with `.`
/// and is not a pattern (`%`), skipping variable assignments, directives and
/// recipe lines; for a justfile its first recipe.
fn default_goal(text: &str) -> Option<String> {
    let mut goal = None;
    for l in text.lines() {
        let t = l.trim();
        for op in [":=", "::=", "=", "?="] {
            if let Some(v) = t.strip_prefix(".DEFAULT_GOAL").and_then(|r| r.trim_start().strip_prefix(op)) {
                goal = v.split_whitespace().next().map(str::to_owned);
            }
        }
    }
    if goal.is_some() {
        return goal;
    }
    let mut in_define = false;
    for l in text.lines() {
        if l.starts_with("define ") {
            in_define = true;
        }
        if in_define {
            in_define = !l.starts_with("endef");
            continue;
        }
        if l.starts_with(['\t', ' ', '#', '$', '[', '@']) || l.contains(":=") {
            continue;
        }
        let Some((head, tail)) = l.split_once(':') else { continue };
        if head.contains('=') || tail.starts_with('=') || head.trim().is_empty() {
            continue;
        }
        let first = head.split_whitespace().next()?;
        if matches!(first, "set" | "alias" | "export" | "import" | "mod" | "include" | "-include" | "ifeq" | "ifneq") {
            continue;
        }
        if !first.starts_with('.') && !first.contains(['%', '$', '(']) {
            return Some(first.to_owned());
        }
    }
    None
}

/// Whether a target (its name, its recipe) installs what the project needs:
/// its name says so (`install`, `deps`, `setup`, `dev`, `bootstrap`, `init`,
/// …, alone or joined with `-`, `_`, `.`), or its recipe runs a package
/// installer (`pip install`, `uv sync`, `npm ci`, `go mod download`, …). A
/// target whose name says it tests, lints, cleans or publishes, or whose
/// recipe runs the tests, never does.
fn installs(name: &str, recipe: &str) -> bool {
    const NAMES: &[&str] = &[
        "install",
        "deps",
        "dep",
        "dependencies",
        "setup",
        "dev",
        "develop",
        "bootstrap",
        "init",
        "requirements",
        "venv",
        "env",
        "sync",
        "prepare",
        "tools",
    ];
    const NOT: &[&str] = &[
        "test", "tests", "lint", "check", "clean", "release", "publish", "docs", "doc", "fmt", "format", "hooks",
        "upload", "deploy", "docker", "bench",
    ];
    const INSTALLERS: &[&str] = &[
        "pip install",
        "uv sync",
        "uv pip install",
        "poetry install",
        "pdm install",
        "pipenv install",
        "hatch env create",
        "npm ci",
        "npm install",
        "yarn install",
        "pnpm install",
        "bun install",
        "go mod download",
        "go get",
        "bundle install",
        "composer install",
        "maturin develop",
    ];
    let words: Vec<String> = name.split(['-', '_', '.', '/']).map(str::to_ascii_lowercase).collect();
    if words.iter().any(|w| NOT.contains(&w.as_str())) || runs_tests(recipe) {
        return false;
    }
    words.iter().any(|w| NAMES.contains(&w.as_str())) || INSTALLERS.iter().any(|i| recipe.contains(i))
}

/// Whether a target only runs benchmarks (`make bench`, `go test -run=NONE -bench=.`).
fn benchmark(name: &str, recipe: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.contains("bench")
        || name.contains("perf")
        || ["-run=NONE", "-test.run=NONE", "-run=^$", "-run='^$'", "--benchmark-only"]
            .iter()
            .any(|b| recipe.contains(b))
}

/// The setup command of a task project whose test target `test` the root's
/// CI runs: the install targets ([`installs`]) that CI runs with `program`
/// before `test` in the same job (earlier lines, or earlier on the same
/// line: `make deps test`), in order, as one `program t1 t2` command; a bare
/// `make` counts through its [`default_goal`]. The first job that runs
/// `test` with such a step decides; `None` when none does.
fn ci_setup(scan: &Scan, text: &str, file: &std::path::Path, program: &str, test: &str) -> Option<DetectedCommand> {
    let at_root = |r: &ci::Run| r.dir.as_os_str().is_empty();
    for (i, run) in scan.ci.iter().enumerate().filter(|(_, r)| at_root(r)) {
        let here = invocations(&run.line, program);
        let Some(pos) = here.iter().position(|inv| !inv.elsewhere && inv.targets.iter().any(|t| t == test)) else {
            continue;
        };
        let mut before: Vec<(Vec<String>, &ci::Run)> = Vec::new();
        for earlier in scan.ci[..i].iter().filter(|r| at_root(r) && r.file == run.file && r.job == run.job) {
            for inv in invocations(&earlier.line, program).into_iter().filter(|inv| !inv.elsewhere) {
                before.push((inv.targets, earlier));
            }
        }
        for inv in here[..pos].iter().filter(|inv| !inv.elsewhere) {
            before.push((inv.targets.clone(), run));
        }
        let on_line = &here[pos].targets;
        let upto = on_line.iter().position(|t| t == test).unwrap_or(0);
        if upto > 0 {
            before.push((on_line[..upto].to_vec(), run));
        }
        let mut chosen: Vec<String> = Vec::new();
        let mut evidence: Vec<Evidence> = Vec::new();
        for (targets, from) in before {
            let targets = if targets.is_empty() { default_goal(text).into_iter().collect() } else { targets };
            for t in targets {
                let Some(r) = recipe(text, &t) else { continue };
                if t == test || chosen.contains(&t) || !installs(&t, &r) {
                    continue;
                }
                evidence.push(Evidence::field(file, t.as_str()));
                let ci = from.evidence();
                if !evidence.contains(&ci) {
                    evidence.push(ci);
                }
                chosen.push(t);
            }
        }
        if chosen.is_empty() {
            continue;
        }
        let list = chosen.join(" ");
        if let Some(first) = evidence.first_mut() {
            first.note = Some(format!("CI runs `{program} {list}` before `{program} {test}` ({})", run.file.display()));
        }
        let args: Vec<&str> = chosen.iter().map(String::as_str).collect();
        return Some(cmd(program, &args, &scan_rel(file), evidence, 0.9));
    }
    None
}

/// The directory of a root task file (the root: `Makefile` → empty).
fn scan_rel(file: &std::path::Path) -> std::path::PathBuf {
    file.parent().map(std::path::Path::to_path_buf).unwrap_or_default()
}

/// The recipe lines of `target` in a Makefile (tab-indented lines after `target:`)
/// or justfile (indented lines), with those of its prerequisites one level down.
fn recipe(text: &str, target: &str) -> Option<String> {
    recipe_within(text, target, 0)
}

fn recipe_within(text: &str, target: &str, depth: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| {
        l.strip_prefix(target).is_some_and(|r| r.trim_start().starts_with(':') && !r.trim_start().starts_with(":="))
    })?;
    let mut out = String::new();
    if depth < 2 {
        let prereqs = lines[start].split_once(':').map(|(_, p)| p).unwrap_or("");
        for p in prereqs.split_whitespace().take_while(|p| !p.starts_with('#')) {
            if let Some(r) = recipe_within(text, p, depth + 1) {
                out.push_str(&r);
            }
        }
    }
    for l in &lines[start + 1..] {
        if l.starts_with('\t') || l.starts_with("    ") {
            out.push_str(l.trim());
            out.push('\n');
        } else if !l.trim().is_empty() {
            break;
        }
    }
    Some(out)
}

/// Whether a recipe runs a test tool.
fn runs_tests(recipe: &str) -> bool {
    const TOOLS: &[&str] = &[
        "go test",
        "gotestsum",
        "richgo test",
        "$(GO) test",
        "${GO} test",
        "test ./...",
        "pytest",
        "tox",
        "nox",
        "cargo test",
        "cargo nextest",
        "npm test",
        "jest",
        "vitest",
        "mocha",
        "ctest",
        "unittest",
        "rspec",
        "phpunit",
    ];
    TOOLS.iter().any(|t| recipe.contains(t))
}

#[cfg(test)]
mod tests {
    use super::{
        Invocation, benchmark, default_goal, has_target, installs, invocations, recipe, runs_tests, targets_run,
    };

    proptest::proptest! {
        #[test]
        fn arbitrary_makefiles_and_lines_never_panic(text in "[a-z:%=$() \t\n.-]{0,120}", t in "[a-z%]{1,6}") {
            let _ = recipe(&text, &t).map(|r| runs_tests(&r));
            let _ = targets_run(&text, "make");
            let _ = has_target(&text, &t);
        }
    }

    #[test]
    fn ci_lines_name_the_targets_they_run() {
        assert_eq!(targets_run("make test", "make"), ["test"]);
        assert_eq!(
            targets_run("RICHGO=1 PATH=$HOME/go/bin:$PATH make -j4 richtest lint", "make"),
            ["richtest", "lint"]
        );
        assert_eq!(targets_run("cd web && make -C sub cover", "make"), ["cover"]);
        assert!(targets_run("cmake --build .", "make").is_empty());
    }

    #[test]
    fn a_recipe_that_runs_tests_is_told_through_its_prerequisites() {
        let mk = "GO ?= go\ncover: deps\n\t$(GO) test -coverprofile=c.out ./...\nrich: install\n\trichgo test ./...\nlint:\n\tgolangci-lint run\nall: cover\n";
        assert!(runs_tests(&recipe(mk, "cover").unwrap()));
        assert!(runs_tests(&recipe(mk, "rich").unwrap()));
        assert!(runs_tests(&recipe(mk, "all").unwrap()));
        assert!(!runs_tests(&recipe(mk, "lint").unwrap()));
        assert!(recipe(mk, "missing").is_none());
    }

    #[test]
    fn a_bare_make_runs_the_default_goal_or_the_first_plain_target() {
        let mk = "SRC := $(shell find .)\nifeq (, $(shell which x))\n$(warning no x: run it)\nendif\ndefine HELP\nusage: make x\nendef\n.PHONY: docs\n%.o: %.c\n\tcc $<\ninit dev: req.txt\n\tpip install -r req.txt\ntest:\n\tpytest\n";
        assert_eq!(default_goal(mk).as_deref(), Some("init"));
        assert_eq!(default_goal(&format!("{mk}.DEFAULT_GOAL := test\n")).as_deref(), Some("test"));
        assert_eq!(
            default_goal("set shell := [\"bash\"]\nalias t := test\n[private]\ndefault:\n    just --list\n").as_deref(),
            Some("default")
        );
        assert_eq!(default_goal("X = 1\n"), None);
    }

    #[test]
    fn install_targets_are_told_by_name_or_by_an_installer_in_their_recipe() {
        for (name, recipe) in [
            ("init", "python -m pip install -r requirements-dev.txt"),
            ("install_deps", "go get -v ./..."),
            ("dev-setup", "./scripts/setup.sh"),
            ("bootstrap", ""),
            ("all", "uv sync --frozen"),
        ] {
            assert!(installs(name, recipe), "{name}");
        }
        for (name, recipe) in [
            ("docker.start", "docker compose up -d"),
            ("lint", "golangci-lint run"),
            ("test-install", "pip install . && pytest"),
            ("install", "go test ./..."),
            ("build", "go build ./..."),
        ] {
            assert!(!installs(name, recipe), "{name}");
        }
        assert!(benchmark("bench", "go test ./..."));
        assert!(benchmark("perf", ""));
        assert!(benchmark("x", "go test ./... -test.run=NONE -test.bench=."));
        assert!(!benchmark("cover", "go test -cover ./..."));
    }

    #[test]
    fn invocations_tell_targets_run_elsewhere_and_read_quoted_targets() {
        let inv =
            |t: &[&str], elsewhere| Invocation { targets: t.iter().map(|s| (*s).to_owned()).collect(), elsewhere };
        assert_eq!(invocations("make", "make"), [inv(&[], false)]);
        assert_eq!(invocations("make -- \"test.ci\" 'x'", "make"), [inv(&["test.ci", "x"], false)]);
        assert_eq!(
            invocations("make -C docs deps && make test", "make"),
            [inv(&["deps"], true), inv(&["test"], false)]
        );
        assert_eq!(invocations("cd web && make deps", "make"), [inv(&["deps"], true)]);
        assert_eq!(invocations("make --directory=web x", "make"), [inv(&["x"], true)]);
        assert_eq!(invocations("make \"$T\" x", "make"), [inv(&[], false)]);
        assert!(invocations("cmake --build .", "make").is_empty());
    }

    #[test]
    fn targets_are_found_at_column_zero() {
        let mk = "CC := gcc\n.PHONY: test\ntest: build\n\tcargo test\nbuild:\n\tcc x.c\n";
        assert!(has_target(mk, "test"));
        assert!(has_target(mk, "build"));
        assert!(!has_target(mk, "lint"));
        assert!(has_target("test filter='':\n    cargo test {{filter}}\n", "test"));
        assert!(!has_target("testing:\n", "test"));
        assert!(!has_target("test-unit:\n", "test"));
    }
}
