//! The tests gate on a real two-crate cargo workspace whose crates both hold
//! `tests::it_works`: a change that swaps which one passes is a regression,
//! named with its crate, through the gate's production path (real cargo).

use agent_core::gate::GateContext;
use agent_core::{Gate, WorkspaceOracle};
use agent_gates::TestsGate;
use agent_sandbox::ProcessExecutor;
use std::path::Path;
use std::sync::Arc;

fn write(root: &Path, file: &str, text: &str) {
    std::fs::create_dir_all(root.join(file).parent().unwrap()).unwrap();
    std::fs::write(root.join(file), text).unwrap();
}

/// A crate whose `tests::it_works` passes when `answer` is `1 + 1`.
fn lib(answer: &str) -> String {
    format!(
        "//! Fixture.\n\n/// The value under test.\npub fn answer() -> i32 {{\n    {answer}\n}}\n\n\
         #[cfg(test)]\nmod tests {{\n    #[test]\n    fn it_works() {{\n        assert_eq!(super::answer(), 2);\n    }}\n}}\n"
    )
}

#[tokio::test]
async fn the_tests_gate_sees_a_regression_in_one_crate_hidden_behind_the_same_test_name_in_another() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "Cargo.toml", "[workspace]\nmembers = [\"crate_a\", \"crate_b\"]\nresolver = \"2\"\n");
    for c in ["crate_a", "crate_b"] {
        write(
            root,
            &format!("{c}/Cargo.toml"),
            &format!("[package]\nname = \"{c}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n"),
        );
    }
    write(root, "crate_a/src/lib.rs", &lib("1 + 1"));
    write(root, "crate_b/src/lib.rs", &lib("1 + 2"));
    let profile = agent_oracles::default_oracle().inspect(root).await.unwrap();
    let gate = TestsGate::new(Arc::new(ProcessExecutor::new()));
    let baseline = gate.baseline(root, &profile).await.unwrap();
    let scoped: Vec<_> =
        baseline.outcomes.iter().filter(|o| o.name == "tests::it_works").map(|o| o.scope.as_deref()).collect();
    assert_eq!(scoped, [Some("crate_a"), Some("crate_b")], "{baseline:?}");

    let cx = GateContext::new(root, profile, "fix crate_b", vec![])
        .with_test_baseline(baseline)
        .with_named_tests(vec!["crate_b::tests::it_works".into()]);
    // The change fixes crate_b and breaks crate_a.
    write(root, "crate_a/src/lib.rs", &lib("1 + 2"));
    write(root, "crate_b/src/lib.rs", &lib("1 + 1"));
    let report = gate.check(&cx).await.unwrap();
    assert!(!report.passed, "{report:?}");
    assert_eq!(
        report.findings,
        ["regression: `tests::it_works` (crate_a) passed before the change and failed after it"]
    );

    // Both pass: the named test is fixed and nothing regressed.
    write(root, "crate_a/src/lib.rs", &lib("1 + 1"));
    let report = gate.check(&cx).await.unwrap();
    assert!(report.passed, "{report:?}");
}
