//! Property tests: classifiers and tool detection never panic, whatever the input.

use agent_classify::{CargoClassifier, GenericClassifier, detect_tool};
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
}
