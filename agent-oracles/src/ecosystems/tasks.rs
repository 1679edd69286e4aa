//! `Makefile` and `justfile` targets as projects of their own when they offer a test target.

use super::detect::Found;
use super::{Dir, Scan, cmd};
use agent_core::workspace::{Evidence, OracleError, Project, build_systems};

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
                .find(|t| has_target(&text, t) && recipe(&text, t).is_some_and(|r| runs_tests(&r)))
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
        for s in ["setup", "deps", "install-deps", "bootstrap"] {
            if has_target(&text, s) {
                project.setup = Some(target(s, 0.7));
                break;
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
    let mut out = Vec::new();
    for part in line.split(['&', ';', '|']) {
        let words: Vec<&str> = part.split_whitespace().collect();
        let Some(at) = words.iter().position(|w| *w == program) else { continue };
        let mut rest = words[at + 1..].iter();
        while let Some(w) = rest.next() {
            if matches!(*w, "-C" | "-f" | "--directory" | "--file" | "--justfile" | "-d") {
                rest.next();
            } else if w.starts_with('-') || w.contains('=') {
                continue;
            } else if w.starts_with(['$', '"', '\'', '>', '<', '(']) {
                break;
            } else {
                out.push((*w).to_owned());
            }
        }
    }
    out
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
    use super::{has_target, recipe, runs_tests, targets_run};

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
