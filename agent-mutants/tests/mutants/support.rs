//! Fixture helpers.

use std::path::{Path, PathBuf};

pub(crate) use agent_testkit::copy_fixture;

/// `agent-mutants/tests/testdata`.
pub(crate) fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("testdata")
}

/// One line per mutant of `report` (file, line, operator, text, outcome), for assertion messages.
pub(crate) fn dump(report: &agent_mutants::MutationReport) -> String {
    let lines: Vec<String> = report
        .mutants
        .iter()
        .map(|r| {
            let m = &r.mutant;
            format!(
                "{}:{} {} {:?} -> {:?}: {:?}",
                m.file,
                m.line,
                m.operator.name(),
                m.original,
                m.replacement,
                r.outcome
            )
        })
        .collect();
    lines.join("\n")
}

/// The outcome of the one mutant of `file` replacing `original` with `replacement`.
pub(crate) fn outcome(
    report: &agent_mutants::MutationReport,
    file: &str,
    original: &str,
    replacement: &str,
) -> agent_mutants::MutantOutcome {
    let found: Vec<_> = report
        .mutants
        .iter()
        .filter(|r| {
            r.mutant.file == file && r.mutant.original.trim() == original && r.mutant.replacement == replacement
        })
        .collect();
    assert_eq!(found.len(), 1, "one mutant {original} -> {replacement} in {file}; report:\n{}", dump(report));
    found[0].outcome
}
