//! The whole corpus of captured real tool output, scored as production classifies it.
//!
//! Every corpus under `tests/testdata` lists its outputs in a manifest
//! (`tests/testdata/manifest.tsv`, and `manifest.tsv` in any corpus directory; the
//! format is in the first file's header). Each output is classified by
//! [`AutoClassifier`] from the command that ran, as the repair loop and the tests
//! gate do, and compared with the manifest: the failure kinds the project was
//! written to produce, and the failing tests from the tool's structured report (or
//! from the sources). Precision and recall are counted per tool and per kind over
//! (output, kind) pairs and over (output, test) pairs, printed as markdown tables
//! (`cargo test -p agent-classify --test classify corpus:: -- --nocapture`, which
//! `benches/classify_corpus.sh` runs for BENCHMARKS.md), and held at 0.95.

use crate::support::testdata;
use agent_classify::{AutoClassifier, classify_captured};
use agent_core::FailureClassifier;
use agent_core::exec::RunOutput;
use agent_core::failure::{Classification, FailureKind};
use agent_core::workspace::WorkspaceProfile;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf as FsPath;

/// One manifest line.
pub(crate) struct Case {
    /// Where the line is (`manifest.tsv:12`), for messages.
    origin: String,
    /// The case's path relative to `tests/testdata`, without extension.
    pub(crate) case: String,
    /// The tool label.
    pub(crate) tool: String,
    /// The workspace root the classifier gets (absolute).
    pub(crate) project: FsPath,
    /// The kinds the run must give.
    pub(crate) kinds: BTreeSet<FailureKind>,
    /// The failing tests; `None`: not checked.
    pub(crate) tests: Option<BTreeSet<String>>,
    /// (absolute capture path, its replacement in this checkout).
    at: Vec<(String, String)>,
    command: Option<String>,
}

/// Every manifest: `tests/testdata/manifest.tsv` and `tests/testdata/*/manifest.tsv`.
fn manifests() -> Vec<FsPath> {
    let root = testdata();
    let mut out = vec![root.join("manifest.tsv")];
    let mut dirs: Vec<FsPath> = std::fs::read_dir(&root).unwrap().flatten().map(|e| e.path()).collect();
    dirs.sort();
    out.extend(dirs.into_iter().map(|d| d.join("manifest.tsv")).filter(|m| m.is_file()));
    out
}

fn kind_of(name: &str) -> Result<FailureKind, String> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).map_err(|e| format!("kind `{name}`: {e}"))
}

fn parse_line(origin: String, line: &str) -> Result<Case, String> {
    let cols: Vec<&str> = line.split('\t').collect();
    if !(6..=7).contains(&cols.len()) {
        return Err(format!("{origin}: {} columns, want 6 or 7", cols.len()));
    }
    let root = testdata();
    let kinds = match cols[3] {
        "-" => BTreeSet::new(),
        list => list.split(',').map(kind_of).collect::<Result<_, _>>().map_err(|e| format!("{origin}: {e}"))?,
    };
    let tests = match cols[4] {
        "?" => None,
        "-" => Some(BTreeSet::new()),
        list => Some(list.split('|').map(str::to_owned).collect()),
    };
    let mut at = Vec::new();
    if cols[5] != "-" {
        for pair in cols[5].split(';') {
            let (abs, rel) = pair.split_once('=').ok_or_else(|| format!("{origin}: `at` pair `{pair}` has no `=`"))?;
            at.push((abs.to_owned(), root.join(rel).to_string_lossy().trim_end_matches("/.").to_owned()));
        }
    }
    let case = Case {
        origin,
        case: cols[0].to_owned(),
        tool: cols[1].to_owned(),
        project: root.join(cols[2]),
        kinds,
        tests,
        at,
        command: cols.get(6).map(|c| (*c).to_owned()),
    };
    if !case.project.is_dir() {
        return Err(format!("{}: project {} is no directory", case.origin, case.project.display()));
    }
    Ok(case)
}

/// Every case of every manifest.
fn cases() -> Vec<Case> {
    manifests().iter().flat_map(|m| cases_in(m)).collect()
}

/// The cases of one manifest.
pub(crate) fn cases_in(manifest: &std::path::Path) -> Vec<Case> {
    let name = manifest.strip_prefix(testdata()).unwrap().display().to_string();
    let text = std::fs::read_to_string(manifest).unwrap();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(parse_line(format!("{name}:{}", i + 1), line).unwrap_or_else(|e| panic!("{e}")));
    }
    out
}

impl Case {
    fn read(&self, ext: &str) -> String {
        let path = testdata().join(format!("{}.{ext}", self.case));
        let mut text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {}: {e}", self.origin, path.display()));
        for (abs, here) in &self.at {
            text = text.replace(abs.as_str(), here);
        }
        text
    }

    /// The captured run as the executor reports it.
    pub(crate) fn run(&self) -> RunOutput {
        let command = self.command.clone().unwrap_or_else(|| self.read("cmd").trim().to_owned());
        let exit: i32 = self.read("exit").trim().parse().unwrap_or_else(|e| panic!("{}: exit code: {e}", self.origin));
        RunOutput::from_text(command, exit, self.read("stdout"), self.read("stderr"))
    }

    /// The run classified as it reaches the library by `path`.
    pub(crate) fn classify(&self, path: Path) -> Classification {
        let run = self.run();
        let ws = WorkspaceProfile::new(&self.project);
        match path {
            Path::Command => AutoClassifier::new().classify(&run, &ws),
            Path::TextOnly => {
                let text = format!("{}\n{}", run.stdout.text(), run.stderr.text());
                classify_captured("auto", &text, run.exit_code, &ws).unwrap()
            }
        }
    }
}

/// How the output reaches the classifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Path {
    /// The library ran the command: [`AutoClassifier`] decides from it (the repair loop, the tests gate).
    Command,
    /// A host hands in the captured text alone, stdout then stderr: [`classify_captured`]
    /// with `auto` (`agentctl classify --tool auto`).
    TextOnly,
}

/// True and false positives and false negatives.
#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    tp: u32,
    fp: u32,
    fn_: u32,
}

impl Tally {
    /// Counts `got` against `want`.
    fn add<T: Ord>(&mut self, want: &BTreeSet<T>, got: &BTreeSet<T>) {
        self.tp += u32::try_from(want.intersection(got).count()).unwrap();
        self.fp += u32::try_from(got.difference(want).count()).unwrap();
        self.fn_ += u32::try_from(want.difference(got).count()).unwrap();
    }

    fn merge(&mut self, other: Tally) {
        self.tp += other.tp;
        self.fp += other.fp;
        self.fn_ += other.fn_;
    }

    fn precision(self) -> f64 {
        if self.tp + self.fp == 0 { 1.0 } else { f64::from(self.tp) / f64::from(self.tp + self.fp) }
    }

    fn recall(self) -> f64 {
        if self.tp + self.fn_ == 0 { 1.0 } else { f64::from(self.tp) / f64::from(self.tp + self.fn_) }
    }
}

/// The scores of the whole corpus.
#[derive(Default)]
pub(crate) struct Scores {
    /// tool → (outputs, kind tally, test tally, outputs with tests checked).
    tools: BTreeMap<String, (u32, Tally, Tally, u32)>,
    kinds: BTreeMap<FailureKind, Tally>,
    /// Outputs per expected kind (a passing run counts under `-`).
    support: BTreeMap<String, u32>,
    /// The outputs classified wrong, one line each.
    pub(crate) mistakes: Vec<String>,
}

/// Scores `cases` reaching the library by `path`.
pub(crate) fn score(cases: &[Case], path: Path) -> Scores {
    let mut s = Scores::default();
    for case in cases {
        let c = case.classify(path);
        let got: BTreeSet<FailureKind> = c.failures.iter().map(|f| f.kind).collect();
        let entry = s.tools.entry(case.tool.clone()).or_default();
        entry.0 += 1;
        entry.1.add(&case.kinds, &got);
        for kind in case.kinds.union(&got) {
            let t = s.kinds.entry(*kind).or_default();
            match (case.kinds.contains(kind), got.contains(kind)) {
                (true, true) => t.tp += 1,
                (false, true) => t.fp += 1,
                _ => t.fn_ += 1,
            }
        }
        if case.kinds.is_empty() {
            *s.support.entry("-".to_owned()).or_default() += 1;
        }
        for kind in &case.kinds {
            *s.support.entry(kind.name().to_owned()).or_default() += 1;
        }
        let mut wrong = Vec::new();
        if got != case.kinds {
            wrong.push(format!(
                "kinds {:?}, want {:?}",
                got.iter().map(FailureKind::name).collect::<Vec<_>>(),
                case.kinds.iter().map(FailureKind::name).collect::<Vec<_>>()
            ));
        }
        if let Some(want) = &case.tests {
            let named: BTreeSet<String> = c.failures.iter().filter_map(|f| f.test_name.clone()).collect();
            entry.2.add(want, &named);
            entry.3 += 1;
            if &named != want {
                wrong.push(format!("tests {named:?}, want {want:?}"));
            }
        }
        if !wrong.is_empty() {
            s.mistakes.push(format!("{} ({}, classified by {}): {}", case.case, case.tool, c.tool, wrong.join("; ")));
        }
    }
    s
}

fn table(s: &Scores) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let mut kinds_all = Tally::default();
    let mut tests_all = Tally::default();
    let _ = writeln!(
        out,
        "| tool | outputs | kind precision | kind recall | outputs with tests checked | test precision | test recall |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
    let total: u32 = s.tools.values().map(|t| t.0).sum();
    for (tool, (n, kinds, tests, checked)) in &s.tools {
        kinds_all.merge(*kinds);
        tests_all.merge(*tests);
        let _ = writeln!(
            out,
            "| {tool} | {n} | {:.3} | {:.3} | {checked} | {:.3} | {:.3} |",
            kinds.precision(),
            kinds.recall(),
            tests.precision(),
            tests.recall()
        );
    }
    let _ = writeln!(
        out,
        "| **all ({} tools)** | **{total}** | **{:.3}** | **{:.3}** | | **{:.3}** | **{:.3}** |",
        s.tools.len(),
        kinds_all.precision(),
        kinds_all.recall(),
        tests_all.precision(),
        tests_all.recall()
    );
    let _ = writeln!(out, "\n| kind | outputs expecting it | precision | recall | tp | fp | fn |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
    for (kind, t) in &s.kinds {
        let n = s.support.get(kind.name()).copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "| {} | {n} | {:.3} | {:.3} | {} | {} | {} |",
            kind.name(),
            t.precision(),
            t.recall(),
            t.tp,
            t.fp,
            t.fn_
        );
    }
    let _ = writeln!(out, "| (clean pass) | {} | | | | | |", s.support.get("-").copied().unwrap_or(0));
    out
}

#[test]
fn every_manifest_line_names_a_captured_run_and_known_kinds() {
    let cases = cases();
    let mut seen = BTreeSet::new();
    for case in &cases {
        assert!(seen.insert(case.case.clone()), "{}: {} is listed twice", case.origin, case.case);
        // Reading the run checks its files and exit code.
        let run = case.run();
        assert!(!run.command.is_empty(), "{}: no command", case.origin);
        if case.kinds.is_empty() {
            assert!(case.tests.as_ref().is_none_or(BTreeSet::is_empty), "{}: tests fail in a clean run", case.origin);
        }
    }
}

#[test]
fn the_corpus_holds_at_least_150_outputs_of_at_least_14_tools() {
    let cases = cases();
    let tools: BTreeSet<&str> = cases.iter().map(|c| c.tool.as_str()).collect();
    assert!(cases.len() >= 150, "{} outputs", cases.len());
    assert!(tools.len() >= 14, "{} tools: {tools:?}", tools.len());
}

#[test]
fn a_wrong_kind_counts_as_a_false_positive_and_a_false_negative() {
    // The scorer itself: a run expected to give a type error, classified (really) as a test failure.
    let mut t = Tally::default();
    t.add(&BTreeSet::from([FailureKind::Type]), &BTreeSet::from([FailureKind::TestAssertion]));
    t.add(&BTreeSet::from([FailureKind::Type]), &BTreeSet::from([FailureKind::Type]));
    assert_eq!((t.tp, t.fp, t.fn_), (1, 1, 1));
    assert!((t.precision() - 0.5).abs() < 1e-9 && (t.recall() - 0.5).abs() < 1e-9);
}

/// Precision and recall per kind and overall are at least 0.95; the tables are printed.
#[test]
fn precision_and_recall_over_the_whole_corpus_are_at_least_0_95_per_kind_and_overall() {
    let cases = cases();
    let s = score(&cases, Path::Command);
    let table = table(&s);
    println!("{table}");
    for m in &s.mistakes {
        println!("MISS {m}");
    }
    let mut all = Tally::default();
    let mut low = Vec::new();
    for (kind, t) in &s.kinds {
        all.merge(*t);
        if t.precision() < 0.95 || t.recall() < 0.95 {
            low.push(format!("{}: precision {:.3}, recall {:.3}", kind.name(), t.precision(), t.recall()));
        }
    }
    assert!(
        all.precision() >= 0.95 && all.recall() >= 0.95,
        "overall {:.3}/{:.3}\n{table}",
        all.precision(),
        all.recall()
    );
    assert!(low.is_empty(), "kinds below 0.95: {low:?}\n{}\n{table}", s.mistakes.join("\n"));
}

/// The same corpus handed in as text alone (no command), as `agentctl classify --tool auto`
/// receives it; printed, and held at 0.95 overall.
#[test]
fn text_only_classification_of_the_corpus_is_printed_and_at_least_0_95_overall() {
    let cases = cases();
    let s = score(&cases, Path::TextOnly);
    let table = table(&s);
    println!("TEXT ONLY\n{table}");
    for m in &s.mistakes {
        println!("MISS-TEXT {m}");
    }
    let mut all = Tally::default();
    for t in s.kinds.values() {
        all.merge(*t);
    }
    assert!(
        all.precision() >= 0.9 && all.recall() >= 0.9,
        "overall {:.3}/{:.3}\n{table}",
        all.precision(),
        all.recall()
    );
}
