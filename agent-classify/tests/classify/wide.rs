//! The wide corpus (`tests/testdata/wide`, see its README): real output of cargo, pytest,
//! mypy, ruff, go, jest, vitest, tsc and eslint on small projects of several shapes (a Cargo
//! workspace, a Python src layout, flat modules, a Go module of several packages, an npm
//! workspaces monorepo), listed in `manifest.tsv` with the kinds each run must give (as the
//! projects were written to fail) and the failing tests its structured report names.
//!
//! Every case is classified as the library would, by [`AutoClassifier`] from the command
//! that ran; the kinds and test names must equal the manifest's. The jest and vitest text
//! runs also wrote their JSON report (same run): their per-test outcomes read from the text
//! must equal those read from the report.
//!
//! Regressions this corpus found (each fixed by category, with a focused test below):
//! - ruff 0.17's full format names its own diagnostics in kebab case (`invalid-syntax:`,
//!   `ruff format --check`'s `unformatted:`), and its JSON gives `code: "invalid-syntax"`:
//!   read as syntax and lint, no longer dropped or taken for a lint;
//! - mypy's `import-not-found` was always an unresolved import: a module the project does
//!   not hold is a missing dependency (an environment failure when declared), and
//!   `Module "m" has no attribute "x"` at an import statement is an unresolved import;
//! - `go build`'s `no required module provides package` under the main module's own path
//!   is the project's own import (unresolved), not a missing dependency;
//! - pytest: the failure block of a parametrized test (`test_f[10.0-15-8.0]`) was named
//!   with its parameters' dots turned into `::`, a second, wrong test name;
//! - vitest's JSON report gives a timed-out test the message `Error: STACK_TRACE_ERROR`:
//!   a timeout, not a panic;
//! - eslint's default stylish text was not read at all (only `-f json`), its exit 2
//!   (an invalid configuration) not seen, and a clean text run was not a valid run;
//! - `npx eslint -c FILE` was read as `npx -c SCRIPT`, npx's own option;
//! - a `NameError` raised in a pytest or unittest test was a panic of the test: it is a
//!   name nothing defines, as the same error at collection already was;
//! - vite's `Failed to parse source … invalid JS syntax` (a vitest file that does not
//!   parse) was a panic: it is a syntax error;
//! - a vitest workspace (`test.projects`) prints paths relative to each project's folder
//!   behind `|name|`: its failures were located at paths that do not exist;
//! - jest `projects` with a `displayName` print `FAIL core packages/core/a.test.js`: the
//!   name was read as part of the file's path;
//! - configuration that does not load was unknown: mypy's exit 2 (`bad_mypy.ini: [mypy]:
//!   strict: Not a boolean`), vitest's `failed to load config from …`, and tsc's errors
//!   inside a `tsconfig` that is not JSON (TS1005, a syntax code) are configuration;
//! - handed in as text alone (no command), eslint's stylish text and crash banner, ruff's
//!   full format, format check and `ruff failed`, mypy's usage errors and vitest's startup
//!   error were not recognised (the generic classifier read them).

use crate::support::{line_of, testdata};
use agent_classify::{AutoClassifier, test_outcomes, tool_for_command};
use agent_core::FailureClassifier;
use agent_core::exec::RunOutput;
use agent_core::failure::{Classification, FailureKind, TestOutcome, TestStatus};
use agent_core::workspace::WorkspaceProfile;
use std::collections::BTreeSet;
use std::path::Path;

use crate::corpus::{Case, Path as Via, cases_in, score};

/// The cases of `wide/manifest.tsv` (its format: `tests/testdata/manifest.tsv`).
fn manifest() -> Vec<Case> {
    cases_in(&testdata().join("wide").join("manifest.tsv"))
}

/// A case as the executor reports it, its absolute paths moved to this checkout.
fn run_of(case: &Case) -> RunOutput {
    case.run()
}

#[test]
fn the_manifest_lists_every_captured_case_with_its_files() {
    let cases = manifest();
    assert!(cases.len() >= 45, "{} cases", cases.len());
    let listed: BTreeSet<String> = cases.iter().map(|c| c.case.clone()).collect();
    assert_eq!(listed.len(), cases.len(), "a case is listed twice");
    let out = testdata().join("wide").join("out");
    let captured: BTreeSet<String> = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().to_str()?.strip_suffix(".cmd").map(|n| format!("wide/out/{n}")))
        .collect();
    assert_eq!(listed, captured);
    for c in &cases {
        for ext in ["cmd", "stdout", "stderr", "exit"] {
            assert!(testdata().join(&c.case).with_extension(ext).is_file(), "{}.{ext}", c.case);
        }
        assert!(c.project.is_dir(), "{}", c.project.display());
    }
    let tools: BTreeSet<&str> = cases.iter().map(|c| c.tool.as_str()).collect();
    assert!(tools.len() >= 12, "{tools:?}");
}

#[test]
fn every_case_classifies_to_its_kinds_and_failing_tests() {
    let cases = manifest();
    let mut wrong = score(&cases, Via::Command).mistakes;
    for case in &cases {
        // A clean run passes; a failing one does not.
        let c = case.classify(Via::Command);
        if case.kinds.is_empty() != c.passed() {
            wrong.push(format!("{}: passed() is {}, kinds {:?}", case.case, c.passed(), case.kinds));
        }
    }
    assert!(wrong.is_empty(), "{} wrong:\n{}", wrong.len(), wrong.join("\n"));
}

/// `(scope, name, status)` of the outcomes, sorted.
fn statuses(outcomes: &[TestOutcome]) -> Vec<(Option<String>, String, TestStatus)> {
    let mut v: Vec<_> = outcomes.iter().map(|o| (o.scope.clone(), o.name.clone(), o.status)).collect();
    v.sort();
    v
}

/// Every jest and vitest text run of the corpus wrote the JSON report of the same run: the
/// outcomes read from the text are those of the report. A verbose reporter shows every
/// test; jest without `--verbose` shows its failures only, vitest's default reporter the
/// tests of a failed file: what they show must agree with the report, and every failure
/// of the report must be shown.
#[test]
fn jest_and_vitest_text_outcomes_equal_their_json_reports_of_the_same_run() {
    let mut checked = 0;
    for case in manifest().into_iter().filter(|c| c.tool == "jest" || c.tool == "vitest") {
        let base = testdata().join(&case.case);
        let report = ["jest.json", "vitest.json"].iter().map(|e| base.with_extension(e)).find(|p| p.is_file());
        let Some(report) = report else { continue };
        let from_json = statuses(&test_outcomes(&std::fs::read_to_string(report).unwrap()));
        let run = run_of(&case);
        let from_text = statuses(&AutoClassifier::new().test_outcomes(&run));
        let verbose = run.command.contains("--verbose") || run.command.contains("--reporter=verbose");
        if verbose {
            assert_eq!(from_text, from_json, "{}", case.case);
        } else {
            let shown: Vec<_> = from_text.iter().filter(|t| !from_json.contains(t)).collect();
            assert!(shown.is_empty(), "{}: not in the report: {shown:?}", case.case);
            let failed = |v: &[(Option<String>, String, TestStatus)]| {
                v.iter().filter(|t| t.2 == TestStatus::Failed).cloned().collect::<Vec<_>>()
            };
            assert_eq!(failed(&from_text), failed(&from_json), "{}", case.case);
        }
        checked += usize::from(!from_json.is_empty());
    }
    assert!(checked >= 10, "{checked} text runs checked");
}

/// Case `name` of the manifest, classified.
fn classified(name: &str) -> Classification {
    let case = manifest().into_iter().find(|c| c.case == format!("wide/out/{name}")).unwrap();
    AutoClassifier::new().classify(&run_of(&case), &WorkspaceProfile::new(testdata().join(&case.project)))
}

/// `(kind, file, line, code)` of every failure, sorted.
fn located(c: &Classification) -> Vec<(FailureKind, String, Option<u32>, Option<String>)> {
    let mut v: Vec<_> = c
        .failures
        .iter()
        .map(|f| {
            (f.kind, f.file.as_deref().map(|p| p.display().to_string()).unwrap_or_default(), f.line, f.code.clone())
        })
        .collect();
    v.sort();
    v
}

/// The 1-based line of `needle` in `file` of project `project`.
fn line(project: &str, file: &str, needle: &str) -> Option<u32> {
    Some(line_of(&testdata().join("wide").join(project).join(file), needle))
}

#[test]
fn eslint_stylish_text_gives_each_error_at_its_line_and_skips_warnings() {
    let c = classified("eslint_stylish");
    let at = |needle| line("js_lint", "src/bad.js", needle);
    let want = vec![
        (FailureKind::Lint, "src/bad.js".to_owned(), at("let total"), Some("prefer-const".to_owned())),
        (FailureKind::Lint, "src/bad.js".to_owned(), at("unusedLimit"), Some("no-unused-vars".to_owned())),
        (FailureKind::Lint, "src/bad.js".to_owned(), at("bonus == null"), Some("eqeqeq".to_owned())),
    ];
    let mut want = want;
    want.sort();
    assert_eq!(located(&c), want);
    // The same findings as the JSON formatter's report of the same code.
    assert_eq!(located(&c), located(&classified("eslint_json")));
    let syntax = classified("eslint_syntax");
    assert_eq!(
        located(&syntax),
        vec![(FailureKind::Syntax, "syntax/broken.js".to_owned(), line("js_lint", "syntax/broken.js", "x > 0;"), None)]
    );
    assert!(classified("eslint_warn_only").passed(), "warnings alone pass, as eslint's exit code says");
    let config = classified("eslint_config");
    assert_eq!(config.failures.len(), 1);
    assert!(config.failures[0].message.contains("eqeqeq"), "{}", config.failures[0].message);
}

#[test]
fn npx_passes_a_dash_c_after_the_command_to_the_command() {
    assert_eq!(tool_for_command("npx eslint -c bad.config.js src"), Some("eslint"));
    assert_eq!(tool_for_command("npx -c 'jest --ci'"), Some("jest"));
    assert_eq!(tool_for_command("npx -p typescript -c 'tsc --noEmit'"), Some("tsc"));
}

#[test]
fn ruff_kebab_case_diagnostics_are_syntax_and_format_findings() {
    let c = classified("ruff_check_syntax");
    assert_eq!(
        located(&c),
        vec![(
            FailureKind::Syntax,
            "bad_syntax.py".to_owned(),
            line("py_flat", "bad_syntax.py", "def broken"),
            Some("invalid-syntax".to_owned())
        )]
    );
    let f = classified("ruff_format_check");
    assert_eq!(
        located(&f),
        vec![(FailureKind::Lint, "bad_format.py".to_owned(), Some(1), Some("unformatted".to_owned()))]
    );
    // JSON: ruff's `code` is `invalid-syntax` for a syntax error.
    let json = std::fs::read_to_string(testdata().join("wide/out/ruff_check_all.ruff.json")).unwrap();
    let run = RunOutput::from_text("ruff check --output-format=json .", 1, json, "");
    let c = AutoClassifier::new().classify(&run, &WorkspaceProfile::new(testdata().join("wide/py_flat")));
    let kinds: BTreeSet<FailureKind> = c.failures.iter().map(|f| f.kind).collect();
    assert_eq!(kinds, BTreeSet::from([FailureKind::Lint, FailureKind::Syntax]));
}

#[test]
fn mypy_tells_an_absent_third_party_module_from_the_projects_own_import() {
    let c = classified("mypy_import");
    let at = |needle| line("py_flat", "bad_import.py", needle);
    let mut want = vec![
        (
            FailureKind::MissingDependency,
            "bad_import.py".to_owned(),
            at("import orbitalmechanics"),
            Some("import-not-found".to_owned()),
        ),
        (
            FailureKind::UnresolvedImport,
            "bad_import.py".to_owned(),
            at("from good import median"),
            Some("attr-defined".to_owned()),
        ),
    ];
    want.sort();
    assert_eq!(located(&c), want);
    assert_eq!(located(&classified("mypy_import_json")), want);
    // The same message for the project's own package (src layout) is an unresolved import,
    // and for a package the project declares, one missing from this environment.
    for (module, kind) in
        [("inventory.reports", FailureKind::UnresolvedImport), ("orbitalmechanics", FailureKind::MissingDependency)]
    {
        let out = format!(
            "tests/x.py:1: error: Cannot find implementation or library stub for module named \"{module}\"  [import-not-found]\n"
        );
        let run = RunOutput::from_text("mypy tests", 1, out, "");
        let c = AutoClassifier::new().classify(&run, &WorkspaceProfile::new(testdata().join("wide/py_src")));
        assert_eq!(c.failures[0].kind, kind, "{module}");
    }
}

#[test]
fn go_build_of_a_package_under_the_main_module_is_an_unresolved_import() {
    let own = classified("go_build_broken_import");
    assert_eq!(own.failures.len(), 1);
    assert_eq!(own.failures[0].kind, FailureKind::UnresolvedImport);
    let dep = classified("go_build_broken_dep");
    assert_eq!(dep.failures.len(), 1);
    assert_eq!(dep.failures[0].kind, FailureKind::MissingDependency);
    let go_mod = std::fs::read_to_string(testdata().join("wide/go_mod/go.mod")).unwrap();
    assert!(own.failures[0].message.contains(go_mod.lines().next().unwrap().trim_start_matches("module ")));
}

#[test]
fn a_parametrized_pytest_failure_is_named_once_with_its_parameters() {
    let c = classified("pytest_param");
    let names: Vec<&str> = c.failures.iter().filter_map(|f| f.test_name.as_deref()).collect();
    assert_eq!(names, ["tests/test_param.py::test_discounted[10.0-15-8.0]"]);
    assert_eq!(c.failures[0].kind, FailureKind::TestAssertion);
    assert_eq!(c.failures[0].file.as_deref(), Some(Path::new("tests/test_param.py")));
}

#[test]
fn vitest_json_names_a_timed_out_test_a_timeout() {
    let c = classified("vitest_json_fail");
    let timeouts: Vec<&str> = c
        .failures
        .iter()
        .filter(|f| f.kind == FailureKind::TestTimeout)
        .filter_map(|f| f.test_name.as_deref())
        .collect();
    // The test written with a 300 ms timeout around a 2 s wait.
    assert_eq!(timeouts, ["fetches rates in time"]);
}

#[test]
fn a_name_error_in_a_test_and_a_file_vite_cannot_parse_are_what_they_are() {
    let c = classified("pytest_name");
    assert_eq!(
        located(&c),
        vec![(
            FailureKind::UnresolvedName,
            "tests_extra/test_name.py".to_owned(),
            line("py_src", "tests_extra/test_name.py", "expected_total(s)"),
            Some("NameError".to_owned())
        )]
    );
    let v = classified("vitest_syntax");
    assert_eq!(v.failures.len(), 1);
    assert_eq!(v.failures[0].kind, FailureKind::Syntax);
    assert_eq!(v.failures[0].file.as_deref(), Some(Path::new("test/syntax.test.js")));
}

#[test]
fn vitest_workspace_failures_are_located_in_their_projects_folder() {
    // The JSON report names files by absolute path; the text by the path in the project.
    let json = located(&classified("vitest_mono_json"));
    assert_eq!(
        json.iter().map(|f| f.1.as_str()).collect::<Vec<_>>(),
        ["packages/core/test/units.test.js", "packages/web/src/label.js"]
    );
    assert_eq!(located(&classified("vitest_mono_text")), json);
    assert_eq!(located(&classified("vitest_mono_verbose")), json);
}

#[test]
fn jest_projects_with_a_display_name_give_what_one_project_gives() {
    // The same tests, run as one project and as one jest project per package.
    for (projects, single) in [("jest_projects_plain", "jest_plain_all"), ("jest_projects_verbose", "jest_verbose_all")]
    {
        assert_eq!(located(&classified(projects)), located(&classified(single)), "{projects}");
        let files: BTreeSet<String> = classified(projects)
            .failures
            .iter()
            .filter_map(|f| f.file.as_ref().map(|p| p.display().to_string()))
            .collect();
        assert!(files.iter().all(|f| f.starts_with("packages/")), "{files:?}");
    }
}

#[test]
fn configuration_that_does_not_load_is_config_at_the_configuration_file() {
    for (case, file) in [
        ("mypy_config", "bad_mypy.ini"),
        ("vitest_config", "vitest.broken.config.js"),
        ("tsc_badjson", "tsconfig.badjson.json"),
        ("tsc_broken", "tsconfig.broken.json"),
    ] {
        let c = classified(case);
        assert_eq!(c.failures.len(), 1, "{case}: {:?}", c.failures);
        assert_eq!(c.failures[0].kind, FailureKind::Config, "{case}");
        assert_eq!(c.failures[0].file.as_deref(), Some(Path::new(file)), "{case}");
        assert!(!c.passed(), "{case}");
    }
}

/// A host may hand in the text alone, stdout then stderr, with no command: the tool is
/// recognised from the output and the kinds are the same.
#[test]
fn every_case_handed_in_as_text_alone_gives_its_kinds() {
    let wrong = score(&manifest(), Via::TextOnly).mistakes;
    assert!(wrong.is_empty(), "{} wrong:\n{}", wrong.len(), wrong.join("\n"));
}
