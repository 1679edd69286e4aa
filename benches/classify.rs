//! Classifier throughput on real captured output: pytest text
//! (`agent-classify/tests/testdata/python/out/pytest_ra.stdout`, `-rA`, 3 failures,
//! a collection-free run) and cargo `--message-format=json` output (every
//! `agent-classify/tests/testdata/captured/*.json.stdout`), each repeated to about
//! 10 MB and classified whole, against the floor of `str::lines().count()` over
//! the same text. `pytest_text_distinct` repeats the pytest output with the
//! test names of each copy made unique, so every failure block is new work
//! (the plain repetition lets the classifier skip blocks identical to an
//! earlier one).
//!
//! ```sh
//! cargo bench --bench classify
//! ```
//!
//! After criterion's figures, the bench prints MB/s (10^6 bytes per second) and
//! the ratio to the baseline from the medians of interleaved runs.
#![allow(missing_docs)] // criterion's macros generate undocumented items

use agentkit::classify::{CargoClassifier, PytestClassifier};
use agentkit::core::FailureClassifier;
use agentkit::core::exec::RunOutput;
use agentkit::core::workspace::WorkspaceProfile;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const TARGET_BYTES: usize = 10_000_000;
const RUNS: usize = 11;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("agent-classify/tests/testdata")
}

/// `unit` repeated until the text is about [`TARGET_BYTES`] long.
fn repeat_to_target(unit: &str) -> String {
    let copies = TARGET_BYTES.div_ceil(unit.len().max(1));
    unit.repeat(copies)
}

fn pytest_text() -> String {
    let unit = std::fs::read_to_string(testdata().join("python/out/pytest_ra.stdout")).expect("captured pytest output");
    repeat_to_target(&unit)
}

/// The pytest unit repeated with the test names of each copy made unique
/// (`test_add_fails_17`), so no failure repeats an earlier one: what a large
/// suite with many distinct failures costs, with no help from deduplication.
fn pytest_text_distinct() -> String {
    let unit = std::fs::read_to_string(testdata().join("python/out/pytest_ra.stdout")).expect("captured pytest output");
    let copies = TARGET_BYTES.div_ceil(unit.len().max(1));
    let mut out = String::with_capacity(TARGET_BYTES + unit.len() * 2);
    for i in 0..copies {
        let mut copy = unit.clone();
        for name in ["test_add_fails", "test_parse_raises", "test_add_param", "test_add_passes"] {
            copy = copy.replace(name, &format!("{name}_{i}"));
        }
        out.push_str(&copy);
    }
    out
}

fn cargo_json() -> String {
    let dir = testdata().join("captured");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("captured cargo output")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".json.stdout"))
        .collect();
    names.sort();
    let unit: String = names.iter().map(|p| std::fs::read_to_string(p).expect("readable")).collect();
    repeat_to_target(&unit)
}

struct Case {
    name: &'static str,
    text: String,
    classifier: Box<dyn FailureClassifier>,
    command: &'static str,
    ws: WorkspaceProfile,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "pytest_text",
            text: pytest_text(),
            classifier: Box::new(PytestClassifier::new()),
            command: "python -m pytest -rA",
            ws: WorkspaceProfile::new(testdata().join("python/proj")),
        },
        Case {
            name: "pytest_text_distinct",
            text: pytest_text_distinct(),
            classifier: Box::new(PytestClassifier::new()),
            command: "python -m pytest -rA",
            ws: WorkspaceProfile::new(testdata().join("python/proj")),
        },
        Case {
            name: "cargo_json",
            text: cargo_json(),
            classifier: Box::new(CargoClassifier::new()),
            command: "cargo test --message-format=json",
            ws: WorkspaceProfile::new(testdata().join("crates")),
        },
    ]
}

fn classify(case: &Case, run: &RunOutput) -> usize {
    case.classifier.classify(run, &case.ws).failures.len()
}

fn bench(c: &mut Criterion) {
    let cases = cases();
    let mut group = c.benchmark_group("classify");
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    for case in &cases {
        let run = RunOutput::from_text(case.command, 1, case.text.clone(), "");
        group.throughput(Throughput::Bytes(case.text.len() as u64));
        group.bench_function(case.name, |b| b.iter(|| black_box(classify(case, black_box(&run)))));
        group.bench_function(format!("{}_lines_count_baseline", case.name), |b| {
            b.iter(|| black_box(black_box(case.text.as_str()).lines().count()))
        });
    }
    group.finish();
    for case in &cases {
        let run = RunOutput::from_text(case.command, 1, case.text.clone(), "");
        let mut ours = Vec::with_capacity(RUNS);
        let mut base = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let t = Instant::now();
            black_box(classify(case, black_box(&run)));
            ours.push(t.elapsed());
            let t = Instant::now();
            black_box(black_box(case.text.as_str()).lines().count());
            base.push(t.elapsed());
        }
        ours.sort();
        base.sort();
        let mb = case.text.len() as f64 / 1e6;
        let (o, b) = (ours[RUNS / 2].as_secs_f64(), base[RUNS / 2].as_secs_f64());
        println!(
            "{}: {:.1} MB, classify {:.1} MB/s ({:.1} ms), lines().count() {:.1} MB/s ({:.2} ms), ratio {:.1}x slower than the baseline",
            case.name,
            mb,
            mb / o,
            o * 1e3,
            mb / b,
            b * 1e3,
            o / b
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
