//! Repair-context measurement: how many tokens the classified failures cost
//! in a repair prompt, against the raw output they were classified from, on
//! every captured fixture in `agent-classify/tests/testdata`.
//!
//! For each fixture (cargo `captured/NAME.MODE.*`, `js/PROJECT/MODE.*`, and
//! any `*/out/NAME.*` of other ecosystems) the bench detects the tool with
//! `detect_tool`, classifies the output with `classifier_for`, renders the
//! failure section with the two public renderers — agent-classify's
//! `RepairContextBuilder` (root causes, enclosing functions, token budget;
//! its defaults) and, for comparison, agent-core's `PlainContext` (one entry
//! per failure, at most 8, 6 context lines: the `RepairConfig` defaults) —
//! and counts tokens of raw stdout+stderr and of each context with
//! tiktoken's `o200k_base`. It checks that every failing location
//! (`file:line`) of the classification appears in the builder's context.
//!
//! `grouping/*` are the repair-context fixtures (`testdata/repair_context`:
//! one bug failing many tests); the last totals line leaves them out, for
//! comparison with figures measured before they existed.
//!
//! `REPAIR_CONTEXT_SHOW=SUBSTRING` prints both contexts of the fixtures
//! whose name contains SUBSTRING.
//!
//! Where a fixture has hand-written expectations (`expected.json` beside a
//! JS project, `expected/cargo/NAME.json` for cargo), it also counts true
//! and false positives: a classified failure is right when an expected one
//! has the same kind, file and line (and test name, when one is expected).
//! Failures without a file of kind `unknown` or `environment` (what the
//! valid-run rules add when nothing could be parsed) are not counted; the
//! expected `valid_run` is compared instead.
//!
//! ```sh
//! cargo bench --bench repair_context
//! ```
//!
//! Target: context tokens ≤ 20 % of raw tokens (aim: 15 %) on failing
//! fixtures, every failing location kept.

use agent_classify::{RepairContextBuilder, RootCause, classifier_for, detect_tool};
use agent_core::ContextRenderer;
use agent_core::exec::RunOutput;
use agent_core::failure::{Classification, Failure, FailureKind};
use agent_core::workspace::WorkspaceProfile;
use agent_loop::PlainContext;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Where `testdata/{python,go}/capture.sh` ran (the testdata directory of the capturing checkout).
const ECO_CAPTURE_ROOT: &str = "/work/main/agent-oracles/tests/testdata";
/// Where `testdata/js/capture.sh` ran the tools.
const JS_CAPTURE_ROOT: &str = "/tmp/agent-oracles-js-capture";

/// One captured run and what is known about it.
struct Fixture {
    name: String,
    run: RunOutput,
    root: PathBuf,
    expected: Option<Value>,
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn run_of(base: &Path, stem: &str, from: Option<(&str, &str)>) -> Option<RunOutput> {
    let file = |ext: &str| base.join(format!("{stem}.{ext}"));
    if !file("stdout").exists() && !file("stderr").exists() {
        return None;
    }
    let fix = |s: String| match from {
        Some((a, b)) => s.replace(a, b),
        None => s,
    };
    let exit: i32 = read(&file("exit")).trim().parse().ok()?;
    let command = read(&file("cmd"));
    let command = if command.trim().is_empty() { stem.to_owned() } else { command.trim().to_owned() };
    Some(RunOutput::from_text(command, exit, fix(read(&file("stdout"))), fix(read(&file("stderr")))))
}

fn stems(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".exit")).map(str::to_owned))
        .collect();
    out.sort();
    out
}

fn json(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn fixtures(testdata: &Path) -> Vec<Fixture> {
    let mut out = Vec::new();
    let captured = testdata.join("captured");
    for stem in stems(&captured) {
        let crate_name = stem.split('.').next().unwrap_or(&stem).to_owned();
        let mode = stem.rsplit('.').next().unwrap_or("").to_owned();
        let Some(run) = run_of(&captured, &stem, None) else { continue };
        let expected = json(&testdata.join("expected").join("cargo").join(format!("{crate_name}.json")))
            .and_then(|v| v.get(&mode).cloned());
        out.push(Fixture {
            name: format!("cargo/{stem}"),
            run,
            root: testdata.join("crates").join(crate_name),
            expected,
        });
    }
    let js = testdata.join("js");
    let mut projects: Vec<PathBuf> = std::fs::read_dir(&js)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    projects.sort();
    for dir in projects {
        let project = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let from = format!("{JS_CAPTURE_ROOT}/{project}");
        let to = dir.to_string_lossy().into_owned();
        let expected = json(&dir.join("expected.json"));
        for mode in stems(&dir) {
            let Some(run) = run_of(&dir, &mode, Some((&from, &to))) else { continue };
            let exp = expected.as_ref().and_then(|v| v.get(&mode).cloned());
            out.push(Fixture { name: format!("js/{project}/{mode}"), run, root: dir.clone(), expected: exp });
        }
    }
    // The repair-context fixtures (one bug failing many tests): `repair_context/NAME.*`, crate `NAME/`.
    let grouping = testdata.join("repair_context");
    for stem in stems(&grouping) {
        let Some(run) = run_of(&grouping, &stem, None) else { continue };
        out.push(Fixture { name: format!("grouping/{stem}"), run, root: grouping.join(&stem), expected: None });
    }
    // Other ecosystems' captures: `ECO/out/NAME.{stdout,stderr,exit}`, sources under `ECO/`.
    for eco in ["python", "go"] {
        let base = testdata.join(eco);
        let outdir = base.join("out");
        let expected = json(&outdir.join("expected.json"));
        // The captures ran inside this checkout at /work/main: map that path to this one.
        let here = testdata.to_string_lossy().into_owned();
        for stem in stems(&outdir) {
            let Some(run) = run_of(&outdir, &stem, Some((ECO_CAPTURE_ROOT, &here))) else { continue };
            let exp = expected.as_ref().and_then(|v| v.get(&stem).cloned());
            // Each expectation names the project directory the command ran in.
            let root =
                exp.as_ref().and_then(|e| e.get("root")).and_then(Value::as_str).map_or(base.clone(), |r| base.join(r));
            out.push(Fixture { name: format!("{eco}/{stem}"), run, root, expected: exp });
        }
    }
    out
}

// ---- precision / recall ----

/// Whether a failure counts for precision/recall (run-level placeholders do not).
fn counted(f: &Failure) -> bool {
    f.file.is_some() || !matches!(f.kind, FailureKind::Unknown | FailureKind::Environment)
}

/// (true positives, classified, expected, valid_run matches) for one fixture.
fn score(c: &Classification, expected: &Value) -> (usize, usize, usize, Option<bool>) {
    let mut wanted: Vec<&Value> =
        expected.get("failures").and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default();
    let n_expected = wanted.len();
    let got: Vec<&Failure> = c.failures.iter().filter(|f| counted(f)).collect();
    let mut tp = 0;
    for f in &got {
        let hit = wanted.iter().position(|w| {
            w.get("kind").and_then(Value::as_str) == Some(f.kind.name())
                && w.get("file").and_then(Value::as_str).map(PathBuf::from) == f.file
                && w.get("line").and_then(Value::as_u64) == f.line.map(u64::from)
                && w.get("test").and_then(Value::as_str).is_none_or(|t| f.test_name.as_deref() == Some(t))
        });
        if let Some(i) = hit {
            wanted.remove(i);
            tp += 1;
        }
    }
    let valid = expected.get("valid_run").and_then(Value::as_bool).map(|v| v == c.valid_run);
    (tp, got.len(), n_expected, valid)
}

/// Classifies a fixture with the workspace root its failures' paths are
/// relative to: the fixture's root, or the first subdirectory of it (Python
/// and Go captures ran inside one project directory) where every located
/// failure's file exists, so both renderers can read the source.
fn classify_in_project(classifier: &dyn agent_core::FailureClassifier, fx: &Fixture) -> (PathBuf, Classification) {
    let c = classifier.classify(&fx.run, &WorkspaceProfile::new(&fx.root));
    let files: Vec<&Path> = c.failures.iter().filter_map(|f| f.file.as_deref()).filter(|p| p.is_relative()).collect();
    let resolves = |root: &Path| !files.is_empty() && files.iter().all(|f| root.join(f).is_file());
    if files.is_empty() || resolves(&fx.root) {
        return (fx.root.clone(), c);
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&fx.root)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    match dirs.into_iter().find(|d| resolves(d)) {
        Some(dir) => {
            let c = classifier.classify(&fx.run, &WorkspaceProfile::new(&dir));
            (dir, c)
        }
        None => (fx.root.clone(), c),
    }
}

/// Running totals over a set of fixtures.
#[derive(Default)]
struct Totals {
    raw: usize,
    built: usize,
    plain: usize,
}

impl Totals {
    fn add(&mut self, raw: usize, built: usize, plain: usize) {
        self.raw += raw;
        self.built += built;
        self.plain += plain;
    }
}

fn pct(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { 100.0 * a as f64 / b as f64 }
}

fn main() {
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("agent-classify/tests/testdata");
    let bpe = match tiktoken_rs::o200k_base() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("cannot load the o200k_base tokenizer: {e}");
            std::process::exit(1);
        }
    };
    let tokens = |s: &str| bpe.encode_with_special_tokens(s).len();
    let show = std::env::var("REPAIR_CONTEXT_SHOW").ok();
    let builder = RepairContextBuilder::new();
    let plain = PlainContext::default();
    println!(
        "{:<40} {:>7} {:>5} {:>6} {:>6} {:>7} {:>7} {:>7} {:>7} {:>5} {:>9} {:>6}",
        "fixture",
        "tool",
        "fails",
        "causes",
        "raw",
        "builder",
        "ratio",
        "plain",
        "ratio",
        "locs",
        "tp/got/exp",
        "valid"
    );
    let (mut all, mut failing, mut failing_before) = (Totals::default(), Totals::default(), Totals::default());
    let (mut tp_all, mut got_all, mut exp_all) = (0usize, 0usize, 0usize);
    let (mut valid_ok, mut valid_n) = (0usize, 0usize);
    let (mut missing_locs, mut skipped, mut over_budget) = (Vec::new(), Vec::new(), Vec::new());
    let mut over_target = Vec::new();
    let (mut n_failures, mut n_causes) = (0usize, 0usize);
    for fx in fixtures(&testdata) {
        let stdout = fx.run.stdout.text();
        let stderr = fx.run.stderr.text();
        let Some(tool) = detect_tool(&format!("{stdout}\n{stderr}")) else {
            skipped.push(format!("{} (no tool detected)", fx.name));
            continue;
        };
        let Some(classifier) = classifier_for(tool) else {
            skipped.push(format!("{} (no classifier for {tool})", fx.name));
            continue;
        };
        let (root, c) = classify_in_project(classifier.as_ref(), &fx);
        let causes = RootCause::group(&c.failures).len();
        let built_text = builder.render(&root, &c);
        let plain_text = plain.render(&root, &c);
        if show.as_deref().is_some_and(|s| fx.name.contains(s)) {
            println!(
                "---- {} ({tool}): RepairContextBuilder\n{built_text}---- PlainContext\n{plain_text}----",
                fx.name
            );
        }
        let raw = tokens(&stdout) + tokens(&stderr);
        let built = tokens(&built_text);
        let plain_tokens = tokens(&plain_text);
        if built > builder.budget() {
            over_budget.push(format!("{} ({built} tokens)", fx.name));
        }
        let mut locs = 0;
        for f in &c.failures {
            if let (Some(file), Some(line)) = (&f.file, f.line) {
                locs += 1;
                let loc = format!("{}:{line}", file.display());
                if !built_text.contains(&loc) {
                    missing_locs.push(format!("{}: {loc}", fx.name));
                }
            }
        }
        all.add(raw, built, plain_tokens);
        if !c.failures.is_empty() {
            failing.add(raw, built, plain_tokens);
            if !fx.name.starts_with("grouping/") {
                failing_before.add(raw, built, plain_tokens);
            }
            n_failures += c.failures.len();
            n_causes += causes;
        }
        let ratio = pct(built, raw);
        if !c.failures.is_empty() && ratio > 20.0 {
            over_target.push(format!("{} ({ratio:.0}%)", fx.name));
        }
        let (score_text, valid_text) = match &fx.expected {
            Some(exp) => {
                let (tp, got, n, valid) = score(&c, exp);
                tp_all += tp;
                got_all += got;
                exp_all += n;
                if let Some(v) = valid {
                    valid_n += 1;
                    valid_ok += usize::from(v);
                }
                (
                    format!("{tp}/{got}/{n}"),
                    valid.map_or("-".to_owned(), |v| if v { "ok".into() } else { "WRONG".into() }),
                )
            }
            None => ("-".to_owned(), "-".to_owned()),
        };
        println!(
            "{:<40} {:>7} {:>5} {:>6} {:>6} {:>7} {:>6.1}% {:>7} {:>6.1}% {:>5} {:>9} {:>6}",
            fx.name,
            tool,
            c.failures.len(),
            causes,
            raw,
            built,
            ratio,
            plain_tokens,
            pct(plain_tokens, raw),
            locs,
            score_text,
            valid_text
        );
    }
    println!();
    println!("tokenizer: o200k_base (tiktoken-rs); builder budget {} tokens", builder.budget());
    for (what, t) in [
        ("all fixtures:    ", &all),
        ("failing fixtures:", &failing),
        ("failing, without grouping/*:", &failing_before),
    ] {
        println!(
            "{what} raw {} tokens; RepairContextBuilder {} tokens ({:.1}%); PlainContext {} tokens ({:.1}%)",
            t.raw,
            t.built,
            pct(t.built, t.raw),
            t.plain,
            pct(t.plain, t.raw)
        );
    }
    println!("root causes on failing fixtures: {n_causes} for {n_failures} failures");
    println!(
        "classification vs expectations: precision {:.1}% ({tp_all}/{got_all}), recall {:.1}% ({tp_all}/{exp_all}), valid_run right {valid_ok}/{valid_n}",
        pct(tp_all, got_all),
        pct(tp_all, exp_all)
    );
    println!("failing locations missing from the builder's context: {}", missing_locs.len());
    for m in &missing_locs {
        println!("  {m}");
    }
    println!("contexts over the builder's budget: {}", over_budget.len());
    for m in &over_budget {
        println!("  {m}");
    }
    println!("failing fixtures over 20% (builder): {}", over_target.len());
    for m in &over_target {
        println!("  {m}");
    }
    if !skipped.is_empty() {
        println!("skipped: {}", skipped.join(", "));
    }
}
