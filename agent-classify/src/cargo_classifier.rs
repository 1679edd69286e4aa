//! [`CargoClassifier`]: structured failures from `cargo build`, `cargo test`
//! and `cargo clippy` output, human or `--message-format=json`.

use crate::common::{Parsed, finish};
use crate::{libtest, rustc};
use agent_core::FailureClassifier;
use agent_core::exec::RunOutput;
use agent_core::failure::{Classification, Failure, FailureCategory, FailureKind, TestCounts};
use agent_core::workspace::WorkspaceProfile;

/// Classifies the output of cargo: rustc diagnostics (JSON lines or human text),
/// clippy lints, cargo's own errors and libtest results (human text, or JSON
/// events from `cargo test -- -Z unstable-options --format json`).
///
/// - Compiler errors become [`FailureCategory::Build`](agent_core::failure::FailureCategory::Build)
///   failures with file, line, column, code and snippet; warnings are ignored.
/// - Clippy and rustc lints denied by `-D warnings` become
///   [`FailureKind::Lint`](agent_core::failure::FailureKind::Lint).
/// - Failed tests become test failures with the panic location, the panic
///   message and the source lines around it (read from the workspace).
/// - Environment problems (missing linker, full disk, no network, …) put the
///   classification in [`Tier::Infrastructure`](agent_core::failure::Tier::Infrastructure).
/// - `valid_run` is true only when the output agrees with the exit code.
///
/// ```
/// use agent_core::FailureClassifier;
/// use agent_core::failure::FailureKind;
/// use agent_core::exec::RunOutput;
/// use agent_core::workspace::WorkspaceProfile;
/// use agent_classify::CargoClassifier;
///
/// let stdout = "\nrunning 1 test\ntest tests::adds ... FAILED\n\nfailures:\n\n\
///     ---- tests::adds stdout ----\n\
///     thread 'tests::adds' panicked at src/lib.rs:14:9:\n\
///     assertion `left == right` failed\n  left: 4\n right: 3\n\n\
///     failures:\n    tests::adds\n\n\
///     test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s\n";
/// let run = RunOutput::from_text("cargo test", 101, stdout, "");
/// let c = CargoClassifier::new().classify(&run, &WorkspaceProfile::default());
/// assert!(c.valid_run);
/// assert_eq!(c.failures[0].kind, FailureKind::TestAssertion);
/// assert_eq!(c.failures[0].test_name.as_deref(), Some("tests::adds"));
/// assert_eq!(c.tests.unwrap().failed, 1);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct CargoClassifier;

impl CargoClassifier {
    /// The tool name in every [`Classification`] this classifier makes.
    pub const TOOL: &'static str = "cargo";

    /// A cargo classifier.
    pub fn new() -> Self {
        Self
    }
}

/// Whether the command line runs tests (`cargo test`, `cargo nextest run`).
fn is_test_command(command: &str) -> bool {
    command.split_whitespace().any(|w| w == "test" || w == "nextest" || w == "t")
}

/// Sums two optional counts.
fn sum(a: Option<TestCounts>, b: Option<TestCounts>) -> Option<TestCounts> {
    match (a, b) {
        (Some(a), Some(b)) => Some(TestCounts {
            passed: a.passed.saturating_add(b.passed),
            failed: a.failed.saturating_add(b.failed),
            ignored: a.ignored.saturating_add(b.ignored),
        }),
        (a, b) => a.or(b),
    }
}

impl FailureClassifier for CargoClassifier {
    fn test_outcomes(&self, run: &RunOutput) -> Vec<agent_core::failure::TestOutcome> {
        crate::outcomes::of_run(run)
    }

    fn classify(&self, run: &RunOutput, ws: &WorkspaceProfile) -> Classification {
        let root = ws.root.as_path();
        let stdout = crate::common::text(&run.stdout);
        let stderr = crate::common::text(&run.stderr);
        let timed_out = run.timed_out.is_some();
        let mut parsed = Parsed::default();
        let mut json_tests = crate::nextest::JsonReport::default();
        parsed.failures = json_tests.read(&stdout, &stderr, root);
        // cargo prints to stderr; a host may hand in both streams as one (stdout).
        let mut manifest = Vec::new();
        for stream in [&stderr, &stdout] {
            let found = manifest_errors(stream);
            // rustc's parser sees the same `error:` header without a Rust location: keep cargo's reading.
            parsed.failures.extend(
                rustc::human(stream, root)
                    .into_iter()
                    .filter(|f| !(f.kind == FailureKind::Unknown && found.iter().any(|m| m.message == f.message))),
            );
            manifest.extend(found);
        }
        parsed.failures.splice(0..0, manifest);
        let out = libtest::parse(&stdout, root, timed_out);
        let err = libtest::parse(&stderr, root, timed_out);
        parsed.failures.extend(out.failures);
        parsed.failures.extend(err.failures);
        parsed.tests = sum(sum(out.counts, err.counts), json_tests.counts());
        parsed.failures.extend(json_tests.failures);
        parsed.test_run = is_test_command(&run.command)
            || out.saw_running
            || err.saw_running
            || json_tests.saw_events
            || parsed.tests.is_some();
        finish(Self::TOOL, run, parsed, "cargo")
    }
}

/// cargo's own errors in a manifest or its configuration: `error: <message>` followed by
/// ` --> Cargo.toml:5:14` (a TOML parse error) or `error: failed to parse manifest at `…``
/// → [`FailureKind::Config`] at the file.
fn manifest_errors(output: &str) -> Vec<Failure> {
    let lines: Vec<&str> = output.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(message) = line.strip_prefix("error: ") else { continue };
        let Some(at) = lines.get(i + 1).and_then(|l| l.trim_start().strip_prefix("--> ")) else { continue };
        let Some((file, n, col)) = crate::common::parse_location(at) else { continue };
        let name = std::path::Path::new(&file).file_name().and_then(|f| f.to_str()).unwrap_or_default();
        if !matches!(name, "Cargo.toml" | "config.toml" | "Cargo.lock" | "rust-toolchain.toml") {
            continue;
        }
        let mut f = Failure::new(FailureCategory::Build, FailureKind::Config, message.trim());
        f = f.at(file, Some(n), col);
        out.push(f);
    }
    out
}
