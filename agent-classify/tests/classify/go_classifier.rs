//! The go classifier on real go output captured in `tests/testdata/go/out`
//! (see `tests/testdata/go/README.md`).

use crate::python_classifiers::captured_in;
use crate::support::{line_of, testdata};
use agent_classify::{GoClassifier, classifier_for, detect_tool};
use agent_core::FailureClassifier;
use agent_core::exec::RunOutput;
use agent_core::failure::{Classification, FailureCategory, FailureKind, TestCounts, Tier};
use agent_core::workspace::WorkspaceProfile;
use std::path::{Path, PathBuf};

fn go_dir() -> PathBuf {
    testdata().join("go")
}

fn classify(name: &str, project: &str) -> Classification {
    GoClassifier::new().classify(&captured_in(&go_dir(), name), &WorkspaceProfile::new(go_dir().join(project)))
}

fn src_line(project: &str, file: &str, needle: &str) -> u32 {
    line_of(&go_dir().join(project).join(file), needle)
}

#[test]
fn go_test_failures_are_assertions_named_by_test_with_the_logged_line() {
    for name in ["test_failing", "test_failing_json"] {
        let c = classify(name, "failing");
        assert_eq!(c.tool, "go");
        assert!(c.valid_run, "{name}: {:?}", c.notes);
        assert_eq!(c.tier, Tier::Code);
        // The parent TestTable failed only through TestTable/two: reported once, as the subtest.
        assert_eq!(c.failures.len(), 2, "{name}: {:#?}", c.failures);
        let f = &c.failures[0];
        assert_eq!(f.test_name.as_deref(), Some("TestAddFails"), "{name}");
        assert_eq!(f.kind, FailureKind::TestAssertion);
        assert_eq!(f.category, FailureCategory::Test);
        assert_eq!(f.file.as_deref(), Some(Path::new("calc_test.go")));
        assert_eq!(f.line, Some(src_line("failing", "calc_test.go", "t.Errorf(\"Add(2, 2)")));
        assert!(f.message.contains("Add(2, 2) = 4, want 5"), "{}", f.message);
        assert!(f.snippet.as_deref().unwrap_or_default().contains("t.Errorf"));
        let f = &c.failures[1];
        assert_eq!(f.test_name.as_deref(), Some("TestTable/two"), "{name}");
        assert_eq!(f.kind, FailureKind::TestAssertion);
        assert_eq!(f.line, Some(src_line("failing", "calc_test.go", "t.Fatalf(")));
    }
    // -json has every test's result: TestAddPasses, TestTable/one pass; TestAddFails, TestTable, TestTable/two fail; TestSkipped skips.
    assert_eq!(classify("test_failing_json", "failing").tests, Some(TestCounts { passed: 2, failed: 3, ignored: 1 }));
    // Text without -v lists only the failures.
    assert_eq!(classify("test_failing", "failing").tests, Some(TestCounts { passed: 0, failed: 3, ignored: 0 }));
}

#[test]
fn go_panic_is_a_test_panic_at_the_first_project_frame() {
    for name in ["test_panic", "test_panic_json"] {
        let c = classify(name, "panicking");
        assert!(c.valid_run, "{name}: {:?}", c.notes);
        assert_eq!(c.failures.len(), 1, "{name}: {:#?}", c.failures);
        let f = &c.failures[0];
        assert_eq!(f.kind, FailureKind::TestPanic, "{name}");
        assert_eq!(f.test_name.as_deref(), Some("TestAtOutOfRange"));
        assert!(f.message.contains("index out of range [5] with length 2"), "{}", f.message);
        // The first frame outside runtime/testing is At in index.go, not the test.
        assert_eq!(f.file.as_deref(), Some(Path::new("index.go")), "{name}");
        assert_eq!(f.line, Some(src_line("panicking", "index.go", "return xs[i]")));
        assert!(f.snippet.as_deref().unwrap_or_default().contains("return xs[i]"));
    }
}

#[test]
fn go_build_failures_in_a_test_package_and_go_build_give_compiler_kinds() {
    let expected = [
        (FailureKind::Lint, "\"strings\"", 8),
        (FailureKind::Type, "var s string = a", 17),
        (FailureKind::UnresolvedName, "+ offset", 17),
    ];
    for name in ["test_buildfail", "test_buildfail_json", "build_fail"] {
        let c = classify(name, "buildfail");
        assert!(c.valid_run, "{name}: {:?}", c.notes);
        assert_eq!(c.tier, Tier::Code);
        assert_eq!(c.failures.len(), 3, "{name}: {:#?}", c.failures);
        for (f, (kind, needle, col)) in c.failures.iter().zip(expected) {
            assert_eq!(f.kind, kind, "{name} {needle}");
            assert_eq!(f.category, FailureCategory::Build);
            assert_eq!(f.file.as_deref(), Some(Path::new("calc.go")), "{name}");
            assert_eq!(f.line, Some(src_line("buildfail", "calc.go", needle)), "{name}");
            assert_eq!(f.column, Some(col), "{name} {needle}");
        }
        assert_eq!(c.failures[2].message, "undefined: offset");
        if name != "build_fail" {
            assert!(c.notes.iter().any(|n| n.contains("build failed: example.com/buildfail")), "{name}: {:?}", c.notes);
        }
    }
}

#[test]
fn go_json_build_fail_events_of_newer_go_are_build_failures() {
    // The event shapes of Go 1.24+ (`build-output`, `build-fail`, `FailedBuild`), as in
    // golang/go src/cmd/go/testdata/script/test_json_build.txt; Go 1.19 here cannot produce them.
    let stdout = concat!(
        "{\"ImportPath\":\"example.com/buildfail [example.com/buildfail.test]\",\"Action\":\"build-output\",\"Output\":\"# example.com/buildfail [example.com/buildfail.test]\\n\"}\n",
        "{\"ImportPath\":\"example.com/buildfail [example.com/buildfail.test]\",\"Action\":\"build-output\",\"Output\":\"./calc.go:8:17: undefined: offset\\n\"}\n",
        "{\"ImportPath\":\"example.com/buildfail [example.com/buildfail.test]\",\"Action\":\"build-fail\"}\n",
        "{\"Action\":\"start\",\"Package\":\"example.com/buildfail\"}\n",
        "{\"Action\":\"output\",\"Package\":\"example.com/buildfail\",\"Output\":\"FAIL\\texample.com/buildfail [build failed]\\n\"}\n",
        "{\"Action\":\"fail\",\"Package\":\"example.com/buildfail\",\"Elapsed\":0,\"FailedBuild\":\"example.com/buildfail [example.com/buildfail.test]\"}\n",
    );
    let run = RunOutput::from_text("go test -json ./...", 1, stdout, "");
    let c = GoClassifier::new().classify(&run, &WorkspaceProfile::new(go_dir().join("buildfail")));
    assert!(c.valid_run, "{:?}", c.notes);
    assert_eq!(c.failures.len(), 1, "{:#?}", c.failures);
    assert_eq!(c.failures[0].kind, FailureKind::UnresolvedName);
    assert_eq!(c.failures[0].line, Some(src_line("buildfail", "calc.go", "+ offset")));
    assert!(c.notes.iter().any(|n| n.contains("build failed")), "{:?}", c.notes);
}

#[test]
fn go_vet_findings_are_lint() {
    let c = classify("vet", "vet");
    assert!(c.valid_run, "{:?}", c.notes);
    assert_eq!(c.failures.len(), 1, "{:#?}", c.failures);
    let f = &c.failures[0];
    assert_eq!(f.kind, FailureKind::Lint);
    assert_eq!(f.category, FailureCategory::Lint);
    assert_eq!(f.file.as_deref(), Some(Path::new("vet.go")));
    assert_eq!(f.line, Some(src_line("vet", "vet.go", "Sprintf")));
    assert!(f.message.contains("wrong type int"));
}

#[test]
fn go_missing_module_is_a_missing_dependency() {
    for name in ["build_missingdep", "build_missingdep_modmod"] {
        let c = classify(name, "missingdep");
        assert!(c.valid_run, "{name}: {:?}", c.notes);
        assert_eq!(c.failures.len(), 1, "{name}: {:#?}", c.failures);
        let f = &c.failures[0];
        assert_eq!(f.kind, FailureKind::MissingDependency, "{name}");
        assert_eq!(f.file.as_deref(), Some(Path::new("dep.go")));
        assert_eq!(f.line, Some(src_line("missingdep", "dep.go", "github.com/example/notthere")));
    }
}

#[test]
fn go_passing_runs_are_valid_and_silent_ones_are_not() {
    let c = classify("test_passing_json", "passing");
    assert!(c.passed(), "{:?}", c.notes);
    assert_eq!(c.tests, Some(TestCounts { passed: 1, failed: 0, ignored: 0 }));
    let c = classify("test_passing", "passing");
    assert!(c.passed(), "{:?}", c.notes);
    // Exit 0 from `go test` that printed no package result: nothing demonstrably ran.
    let c =
        GoClassifier::new().classify(&RunOutput::from_text("go test ./...", 0, "", ""), &WorkspaceProfile::default());
    assert!(!c.valid_run);
    // Exit 1 with an `ok` line and nothing failing: the exit code wins, not a pass.
    let c = GoClassifier::new().classify(
        &RunOutput::from_text("go test ./...", 1, "ok  \texample.com/p\t0.01s\n", ""),
        &WorkspaceProfile::default(),
    );
    assert!(!c.valid_run);
    assert!(!c.passed());
}

#[test]
fn a_standard_library_package_newer_than_the_toolchain_is_infrastructure_not_an_import_to_fix() {
    // Go 1.19 on a module that imports `slices` (Go 1.21), captured.
    let c = classify("test_newstd_json", "newstd");
    assert_eq!(c.tier, Tier::Infrastructure, "{c:#?}");
    assert_eq!(c.failures.len(), 1, "{c:#?}");
    let f = &c.failures[0];
    assert_eq!((f.category, f.kind), (FailureCategory::Infrastructure, FailureKind::Environment));
    assert_eq!(f.file.as_deref(), Some(Path::new("sorted.go")));
    assert_eq!(f.line, Some(src_line("newstd", "sorted.go", "\"slices\"")));
    assert!(f.message.contains("`slices` is in the standard library since Go 1.21"), "{f:#?}");
    // A package that never was in the standard library stays an import to fix.
    let run = RunOutput::from_text(
        "go build ./...",
        1,
        "",
        "sorted.go:3:8: package slicez is not in GOROOT (/usr/lib/go-1.19/src/slicez)\n",
    );
    let c = GoClassifier::new().classify(&run, &WorkspaceProfile::new(go_dir().join("newstd")));
    assert_eq!(c.failures[0].kind, FailureKind::UnresolvedImport, "{c:#?}");
    assert_eq!(c.tier, Tier::Code);
}

#[test]
fn a_module_download_with_no_network_is_infrastructure_at_the_import_that_needed_it() {
    // `go build -mod=mod` reaching for proxy.golang.org with no DNS, captured.
    let c = classify("build_missingdep_nonetwork", "missingdep");
    assert_eq!(c.tier, Tier::Infrastructure, "{c:#?}");
    assert_eq!(c.failures.len(), 1, "said once: {c:#?}");
    let f = &c.failures[0];
    assert_eq!((f.category, f.kind), (FailureCategory::Infrastructure, FailureKind::Environment));
    assert_eq!(f.file.as_deref(), Some(Path::new("dep.go")));
    assert_eq!(f.line, Some(src_line("missingdep", "dep.go", "notthere")));
    assert!(
        f.message.starts_with("the network is unavailable (DNS): module github.com/example/notthere/pkg"),
        "{f:#?}"
    );
}

#[test]
fn go_missing_toolchain_is_infrastructure() {
    let run = RunOutput::from_text("go test ./...", 127, "", "sh: 1: go: command not found\n");
    let c = GoClassifier::new().classify(&run, &WorkspaceProfile::default());
    assert_eq!(c.tier, Tier::Infrastructure);
    assert_eq!(c.failures[0].kind, FailureKind::Environment);
}

#[test]
fn go_is_found_by_name_and_detected_from_its_output() {
    assert_eq!(
        classifier_for("go")
            .unwrap()
            .classify(&RunOutput::from_text("go", 0, "", ""), &WorkspaceProfile::default())
            .tool,
        "go"
    );
    for name in [
        "test_failing",
        "test_failing_json",
        "test_panic",
        "test_buildfail",
        "test_buildfail_json",
        "build_fail",
        "vet",
        "build_missingdep",
        "test_passing",
        "test_passing_json",
    ] {
        let run = captured_in(&go_dir(), name);
        assert_eq!(detect_tool(&format!("{}{}", run.stdout.text(), run.stderr.text())), Some("go"), "{name}");
    }
}
