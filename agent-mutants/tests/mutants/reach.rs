//! Test selection reaches every test that can run the mutated code: a
//! mutant caught only by the tests of another package (Go) or of a module
//! that imports the mutated one through another module (Python) is caught.
//! Real `go` and real pytest, through agent-sandbox's `ProcessExecutor`.

use crate::support::dump;
use agent_mutants::{MutantOutcome, MutationConfig, MutationReport, MutationRunner};
use agent_sandbox::{DirSnapshotter, ProcessExecutor};
use std::sync::Arc;
use std::time::Duration;

async fn mutate(fixture: &str) -> (tempfile::TempDir, MutationReport) {
    let (tmp, root) = crate::support::copy_fixture(&crate::support::testdata().join("mutate").join(fixture));
    let cache = tmp.path().join("cache");
    let runner =
        MutationRunner::new(Arc::new(ProcessExecutor::new()), Arc::new(DirSnapshotter::new(cache.join("snapshots"))));
    let config = MutationConfig::default().jobs(2).cache_dir(&cache).min_timeout(Duration::from_secs(10));
    let report = runner.run(&root, &config).await.unwrap();
    (tmp, report)
}

/// The outcomes of the mutants of `file`; at least one must exist.
fn outcomes_of<'a>(report: &'a MutationReport, file: &str) -> Vec<(&'a str, &'a str, MutantOutcome)> {
    let found: Vec<_> = report
        .mutants
        .iter()
        .filter(|r| r.mutant.file == file)
        .map(|r| (r.mutant.original.as_str(), r.mutant.replacement.as_str(), r.outcome))
        .collect();
    assert!(!found.is_empty(), "no mutant of {file}:\n{}", dump(report));
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_a_mutant_caught_only_by_a_transitive_importers_tests_is_caught() {
    // internal/money has no tests; cart imports it and its test never
    // reaches the discount; cmd/checkout imports cart and its test does.
    let (_tmp, report) = mutate("go-reach").await;
    let money = outcomes_of(&report, "internal/money/money.go");
    // Every mutant of money is caught by cmd/checkout's test (the body
    // replacements too: they are checked by `go vet -unreachable=false`),
    // and both arithmetic flips are among them.
    for (original, replacement, outcome) in &money {
        assert_eq!(*outcome, MutantOutcome::Caught, "{original:?} -> {replacement:?}:\n{}", dump(&report));
    }
    for (from, to) in [("*", "/"), ("/", "*")] {
        let caught = money.iter().filter(|(o, r, out)| *o == from && *r == to && *out == MutantOutcome::Caught).count();
        assert_eq!(caught, 1, "`{from}` -> `{to}` is caught:\n{}", dump(&report));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_a_mutant_caught_only_through_an_importing_module_is_caught() {
    // tests/test_pricing.py imports shop.pricing but never reaches the
    // discount; tests/test_receipt.py imports shop.receipt, which imports
    // shop.cart, which imports shop.pricing, and checks a discounted total.
    let (_tmp, report) = mutate("python-reach").await;
    let pricing = outcomes_of(&report, "shop/pricing.py");
    let discount: Vec<_> = pricing.iter().filter(|(o, _, _)| o.contains("cents * 10") || *o == "*").collect();
    assert!(!discount.is_empty(), "a mutant of the discount line:\n{}", dump(&report));
    for (original, replacement, outcome) in &discount {
        assert_eq!(*outcome, MutantOutcome::Caught, "{original:?} -> {replacement:?}:\n{}", dump(&report));
    }
    let arith = pricing.iter().filter(|(o, r, out)| *o == "*" && *r == "/" && *out == MutantOutcome::Caught).count();
    assert_eq!(arith, 1, "`*` -> `/` on the discount is caught:\n{}", dump(&report));
}
