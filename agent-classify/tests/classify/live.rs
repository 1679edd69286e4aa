//! The cargo classifier on output of real `cargo` runs made during the test,
//! on copies of the fixture crates in temporary directories (offline, no dependencies).

use crate::support::{copy_fixture, crate_dir, line_of};
use agent_classify::CargoClassifier;
use agent_core::FailureClassifier;
use agent_core::exec::RunOutput;
use agent_core::failure::{FailureKind, Tier};
use agent_core::workspace::WorkspaceProfile;
use std::path::{Path, PathBuf};

/// Runs cargo with `args` in a copy of fixture `name`; the target directory is inside the copy.
fn run_cargo(
    name: &str,
    args: &[&str],
    extra_env: &[(&str, &str)],
) -> (tempfile::TempDir, WorkspaceProfile, RunOutput) {
    let (tmp, dir) = copy_fixture(&crate_dir(name));
    let mut cmd = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    cmd.args(args).current_dir(&dir).env("CARGO_TARGET_DIR", dir.join("target")).env("CARGO_TERM_COLOR", "never");
    cmd.env_remove("RUSTFLAGS").env_remove("CARGO_BUILD_RUSTFLAGS");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let run = RunOutput::from_text(
        format!("cargo {}", args.join(" ")),
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    (tmp, WorkspaceProfile::new(&dir), run)
}

#[test]
fn live_cargo_test_with_a_failing_assert_is_a_located_test_assertion() {
    let (_tmp, ws, run) = run_cargo("failing_assert", &["test", "--offline", "--no-fail-fast"], &[]);
    let c = CargoClassifier::new().classify(&run, &ws);
    assert_eq!(run.exit_code, Some(101), "{}", run.stderr.text());
    assert!(c.valid_run, "{:?}", c.notes);
    assert_eq!(c.failures.len(), 1, "{:#?}", c.failures);
    let f = &c.failures[0];
    assert_eq!(f.kind, FailureKind::TestAssertion);
    assert_eq!(f.test_name.as_deref(), Some("tests::adds_small_numbers"));
    assert_eq!(f.file.as_deref(), Some(Path::new("src/lib.rs")));
    let line = line_of(&crate_dir("failing_assert").join("src/lib.rs"), "assert_eq!(add(1, 2), 3);");
    assert_eq!(f.line, Some(line));
    assert!(f.snippet.as_deref().unwrap().contains("assert_eq!(add(1, 2), 3);"));
    let counts = c.tests.unwrap();
    assert_eq!((counts.passed, counts.failed, counts.ignored), (1, 1, 1));
}

#[test]
fn live_cargo_test_json_with_a_type_error_is_one_type_failure() {
    let (_tmp, ws, run) =
        run_cargo("type_error", &["test", "--offline", "--no-fail-fast", "--message-format=json"], &[]);
    let c = CargoClassifier::new().classify(&run, &ws);
    assert!(c.valid_run, "{:?}", c.notes);
    assert_eq!(c.failures.len(), 1, "{:#?}", c.failures);
    let f = &c.failures[0];
    assert_eq!(f.kind, FailureKind::Type);
    assert_eq!(f.code.as_deref(), Some("E0308"));
    assert_eq!(f.line, Some(line_of(&crate_dir("type_error").join("src/lib.rs"), "\"three\"")));
    assert_eq!(c.tier, Tier::Code);
}

#[test]
fn live_cargo_test_on_a_passing_crate_is_a_valid_pass() {
    let (_tmp, ws, run) = run_cargo("passing", &["test", "--offline", "--no-fail-fast"], &[]);
    let c = CargoClassifier::new().classify(&run, &ws);
    assert!(c.passed(), "{:#?}", c);
    assert_eq!(c.tests.unwrap().passed, 3);
}

#[test]
fn live_missing_linker_is_an_infrastructure_failure() {
    let (_tmp, ws, run) = run_cargo(
        "passing",
        &["test", "--offline", "--no-fail-fast"],
        &[("RUSTFLAGS", "-C linker=agent-oracles-no-such-linker")],
    );
    let c = CargoClassifier::new().classify(&run, &ws);
    assert_ne!(run.exit_code, Some(0));
    assert_eq!(c.tier, Tier::Infrastructure, "{:#?}\n{}", c, run.stderr.text());
    assert_eq!(c.failures[0].kind, FailureKind::Environment);
}

/// rustup's `cargo` proxy, beside `rustup` on `PATH` (how the project's CI
/// installs Rust; `CARGO` under `cargo test` is the toolchain's own binary).
fn rustup_cargo_proxy() -> PathBuf {
    let path = std::env::var_os("PATH").expect("PATH");
    std::env::split_paths(&path)
        .map(|d| d.join("cargo"))
        .find(|c| c.with_file_name("rustup").is_file() && c.exists())
        .expect("this suite runs where rustup installed Rust (.ci/run)")
}

#[test]
fn live_cargo_with_no_rustup_toolchain_is_an_infrastructure_failure() {
    let (_tmp, dir) = copy_fixture(&crate_dir("passing"));
    let rustup_home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(rustup_cargo_proxy())
        .args(["test", "--offline"])
        .current_dir(&dir)
        .env("RUSTUP_HOME", rustup_home.path())
        .env_remove("RUSTUP_TOOLCHAIN")
        .output()
        .unwrap();
    let run = RunOutput::from_text(
        "cargo test --offline",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_ne!(run.exit_code, Some(0), "{}", run.stderr.text());
    let c = CargoClassifier::new().classify(&run, &WorkspaceProfile::new(&dir));
    assert_eq!(c.tier, Tier::Infrastructure, "{:#?}\n{}", c, run.stderr.text());
    assert_eq!(c.failures.len(), 1, "{c:#?}");
    assert_eq!(c.failures[0].kind, FailureKind::Environment);
    assert!(c.failures[0].message.contains("no Rust toolchain"), "{c:#?}");
}
