//! Property tests: classifiers and tool detection never panic, whatever the input.

use agent_classify::{AutoClassifier, CargoClassifier, GenericClassifier, JestClassifier, detect_tool, test_outcomes};
use agent_core::FailureClassifier;
use agent_core::exec::{RunOutput, TimeoutKind};
use agent_core::workspace::WorkspaceProfile;
use proptest::prelude::*;

/// Fragments of real cargo output, so random text also reaches the deep parser paths.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("error[E0308]: mismatched types\n".to_owned()),
        Just(" --> src/lib.rs:5:18\n".to_owned()),
        Just("  |\n5 |     let n: u32 = \"three\";\n".to_owned()),
        Just("test tests::a ... FAILED\n".to_owned()),
        Just("---- tests::a stdout ----\n".to_owned()),
        Just("thread 'tests::a' panicked at src/lib.rs:14:9:\n".to_owned()),
        Just("thread 'tests::a' panicked at '".to_owned()),
        Just("', src/lib.rs:1:1\n".to_owned()),
        Just("test result: FAILED. 1 passed; 1 failed; 1 ignored;\n".to_owned()),
        Just("{\"reason\":\"compiler-message\",\"message\":{\"level\":\"error\",\"spans\":[{}]}}\n".to_owned()),
        Just("src/lib.rs - f (line 0)".to_owned()),
        Just("failures:\n".to_owned()),
        Just("error: linker `cc` not found\n".to_owned()),
        ".{0,40}",
        "[\\n: 0-9a-z'|>-]{0,40}",
    ]
}

/// Fragments of jest's and vitest's text reporters, so random text reaches their parsers'
/// nesting, headings and file lines.
fn js_fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("PASS src/a.test.js\n".to_owned()),
        Just("FAIL src/b.test.js (5.2 s)\n".to_owned()),
        Just("  describe block\n".to_owned()),
        Just("    ✓ adds (3 ms)\n".to_owned()),
        Just("      ✕ fails\n".to_owned()),
        Just("  ○ skipped later\n".to_owned()),
        Just("  ✎ todo soon\n".to_owned()),
        Just("  ● math › adds\n".to_owned()),
        Just("  ● Test suite failed to run\n".to_owned()),
        Just(" RUN  v3.2.7 /w\n".to_owned()),
        Just(" ❯ t/a.test.js (2 tests | 1 failed) 5ms\n".to_owned()),
        Just("   × s > bad 2ms\n".to_owned()),
        Just(" ✓ t/a.test.js > s > ok 1ms\n".to_owned()),
        Just(" ↓ t/a.test.js > \n".to_owned()),
        Just(" FAIL  t/a.test.js > s > bad\n".to_owned()),
        Just(" Test Files  1 failed (1)\n".to_owned()),
        Just("\n".to_owned()),
        "[ ✓✕×↓❯○✎●›>()a-z0-9./|]{0,30}",
    ]
}

/// The per-test outcomes and the jest/vitest classifications of `text`: no panic, and
/// every test named.
fn js_all(text: &str, exit: i32) {
    for o in test_outcomes(text) {
        assert!(!o.name.trim().is_empty(), "an outcome without a name: {o:?}");
    }
    let ws = WorkspaceProfile::new(env!("CARGO_MANIFEST_DIR"));
    for (command, classifier) in
        [("npx jest --verbose", JestClassifier::jest()), ("npx vitest run", JestClassifier::vitest())]
    {
        let run = RunOutput::from_text(command, exit, text.to_owned(), text.to_owned());
        let _ = classifier.classify(&run, &ws);
        let _ = AutoClassifier::new().test_outcomes(&run);
    }
}

fn classify_all(stdout: String, stderr: String, exit: i32, timed_out: bool) {
    let mut run = RunOutput::from_text("cargo test", exit, stdout.clone(), stderr.clone());
    if timed_out {
        run.timed_out = Some(TimeoutKind::Wall);
    }
    let ws = WorkspaceProfile::new(env!("CARGO_MANIFEST_DIR"));
    let c = CargoClassifier::new().classify(&run, &ws);
    if exit != 0 || timed_out {
        assert!(!c.failures.is_empty(), "a failed run always has a failure to show");
    }
    let _ = GenericClassifier::new().classify(&run, &ws);
    let _ = detect_tool(&stdout);
    let _ = detect_tool(&stderr);
}

proptest! {
    #[test]
    fn classifiers_never_panic_on_arbitrary_text(stdout in ".{0,400}", stderr in ".{0,400}", exit in any::<i32>(), timed_out in any::<bool>()) {
        classify_all(stdout, stderr, exit, timed_out);
    }

    #[test]
    fn classifiers_never_panic_on_arbitrary_bytes(stdout in proptest::collection::vec(any::<u8>(), 0..400), stderr in proptest::collection::vec(any::<u8>(), 0..400), exit in any::<i32>()) {
        classify_all(String::from_utf8_lossy(&stdout).into_owned(), String::from_utf8_lossy(&stderr).into_owned(), exit, false);
    }

    #[test]
    fn classifiers_never_panic_on_shuffled_cargo_fragments(parts in proptest::collection::vec(fragment(), 0..30), exit in any::<i32>(), timed_out in any::<bool>()) {
        let text = parts.concat();
        classify_all(text.clone(), text, exit, timed_out);
    }

    #[test]
    fn js_text_outcomes_never_panic_on_arbitrary_text(text in ".{0,400}", exit in any::<i32>()) {
        js_all(&text, exit);
    }

    #[test]
    fn js_text_outcomes_never_panic_on_shuffled_reporter_fragments(parts in proptest::collection::vec(js_fragment(), 0..40), exit in any::<i32>()) {
        js_all(&parts.concat(), exit);
    }
}
