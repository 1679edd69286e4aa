//! Property tests: the Python and Go classifiers never panic, whatever the input,
//! and a failed run always has a failure to show.

use agent_classify::{GoClassifier, MypyClassifier, PytestClassifier, RuffClassifier, detect_tool};
use agent_core::FailureClassifier;
use agent_core::exec::{RunOutput, TimeoutKind};
use agent_core::workspace::WorkspaceProfile;
use proptest::prelude::*;

/// Fragments of real pytest, mypy, ruff and go output, so random text reaches the deep parser paths.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("=================================== FAILURES ===================================\n".to_owned()),
        Just("==================================== ERRORS ====================================\n".to_owned()),
        Just("________________________________ test_add_fails ________________________________\n".to_owned()),
        Just("_______________________ ERROR collecting test_imports.py _______________________\n".to_owned()),
        Just("E       assert 4 == 5\n".to_owned()),
        Just("E   ModuleNotFoundError: No module named 'x'\n".to_owned()),
        Just("E     File \"/x/test_syntax.py\", line 2\n".to_owned()),
        Just("tests/test_calc.py:11: AssertionError\n".to_owned()),
        Just("FAILED tests/test_calc.py::test_add_fails - assert 4 == 5\n".to_owned()),
        Just("PASSED tests/test_calc.py::test_a\n".to_owned()),
        Just("============== 3 failed, 2 passed, 1 skipped, 1 xfailed in 0.06s ===============\n".to_owned()),
        Just("no tests ran in 0.01s\n".to_owned()),
        Just("rootdir: /x\n".to_owned()),
        Just("app.py:1:1: error: Cannot find module  [import-not-found]\n".to_owned()),
        Just("{\"file\": \"a.py\", \"line\": -1, \"column\": -5, \"message\": \"m\", \"code\": null, \"severity\": \"error\"}\n".to_owned()),
        Just("[{\"code\":null,\"message\":\"m\",\"filename\":\"a.py\",\"location\":{\"row\":-1,\"column\":0}}]".to_owned()),
        Just("mod.py:1:8: F401 [*] `os` imported but unused\n".to_owned()),
        Just("F401 x\n --> mod.py:0:0\n".to_owned()),
        Just("--- FAIL: TestX (0.00s)\n".to_owned()),
        Just("    --- FAIL: TestX/a (0.00s)\n".to_owned()),
        Just("    calc_test.go:13: message\n".to_owned()),
        Just("panic: runtime error: index out of range [recovered]\n".to_owned()),
        Just("goroutine 1 [running]:\nexample.com/p.F(...)\n\t/x/p.go:5 +0x1d\n".to_owned()),
        Just("FAIL\texample.com/p\t0.002s\n".to_owned()),
        Just("ok  \texample.com/p\t0.002s\n".to_owned()),
        Just("FAIL\texample.com/p [build failed]\n".to_owned()),
        Just("./calc.go:8:17: undefined: offset\n".to_owned()),
        Just("{\"Action\":\"fail\",\"Package\":\"p\",\"Test\":\"TestX\"}\n".to_owned()),
        Just("{\"Action\":\"output\",\"Package\":\"p\",\"Test\":\"TestX\",\"Output\":\"panic: x\\n\"}\n".to_owned()),
        Just("{\"Action\":\"build-fail\",\"ImportPath\":\"p [p.test]\"}\n".to_owned()),
        Just("go: cannot find main module\n".to_owned()),
        ".{0,40}",
        "[\\n\\t: 0-9a-zE_=.\\[\\]-]{0,40}",
    ]
}

fn classify_all(stdout: &str, stderr: &str, exit: i32, timed_out: bool) {
    let ws = WorkspaceProfile::new(env!("CARGO_MANIFEST_DIR"));
    let classifiers: [(&str, &dyn FailureClassifier); 4] = [
        ("pytest", &PytestClassifier::new()),
        ("mypy .", &MypyClassifier::new()),
        ("ruff check", &RuffClassifier::new()),
        ("go test ./...", &GoClassifier::new()),
    ];
    for (command, c) in classifiers {
        let mut run = RunOutput::from_text(command, exit, stdout.to_owned(), stderr.to_owned());
        if timed_out {
            run.timed_out = Some(TimeoutKind::Wall);
        }
        let out = c.classify(&run, &ws);
        if exit != 0 || timed_out {
            assert!(!out.failures.is_empty(), "{command}: a failed run always has a failure to show");
            assert!(!out.passed());
        }
    }
    let _ = detect_tool(stdout);
    let _ = detect_tool(stderr);
}

proptest! {
    #[test]
    fn python_and_go_classifiers_never_panic_on_arbitrary_text(stdout in ".{0,400}", stderr in ".{0,400}", exit in any::<i32>(), timed_out in any::<bool>()) {
        classify_all(&stdout, &stderr, exit, timed_out);
    }

    #[test]
    fn python_and_go_classifiers_never_panic_on_output_fragments(
        out in proptest::collection::vec(fragment(), 0..30),
        err in proptest::collection::vec(fragment(), 0..10),
        exit in prop_oneof![Just(0), Just(1), Just(2), Just(5), any::<i32>()],
        timed_out in any::<bool>(),
    ) {
        classify_all(&out.concat(), &err.concat(), exit, timed_out);
    }
}
