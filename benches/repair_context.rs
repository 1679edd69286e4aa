//! Repair-context measurement: how many tokens the classified failures cost
//! in a repair prompt, against the raw output they were classified from, on
//! every captured fixture in `agent-oracles/tests/testdata`.
//!
//! For each fixture (cargo `captured/NAME.MODE.*`, `js/PROJECT/MODE.*`, and
//! any `*/out/NAME.*` of other ecosystems) the bench detects the tool with
//! `detect_tool`, classifies the output with `classifier_for`, renders the
//! failures section as `agent-core`'s repair prompt does (status line, then
//! per failure: kind, `file:line:col`, code, test, message, snippet; at most
//! 8 failures, 6 context lines: the `RepairConfig` defaults), and counts
//! tokens of raw stdout+stderr and of the rendered context with tiktoken's
//! `o200k_base`. It checks that every failing location (`file:line`) of the
//! classification appears in the context.
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
//! Target: context tokens ≤ 20 % of raw tokens, every failing location kept.

use agent_core::{Classification, Failure, FailureKind, RunOutput, WorkspaceProfile};
use agent_oracles::{classifier_for, detect_tool};
use serde_json::Value;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Lines of source on each side of a failure (`RepairConfig::default().context_lines`).
const CONTEXT_LINES: u32 = 6;
/// Failures shown in one prompt (`RepairConfig::default().max_failures_in_prompt`).
const MAX_FAILURES: usize = 8;
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
    // Other ecosystems' captures: `ECO/out/NAME.{stdout,stderr,exit}`, sources under `ECO/`.
    for eco in ["python", "go"] {
        let base = testdata.join(eco);
        let outdir = base.join("out");
        let expected = json(&outdir.join("expected.json"));
        for stem in stems(&outdir) {
            let Some(run) = run_of(&outdir, &stem, None) else { continue };
            let exp = expected.as_ref().and_then(|v| v.get(&stem).cloned());
            out.push(Fixture { name: format!("{eco}/{stem}"), run, root: base.clone(), expected: exp });
        }
    }
    out
}

// ---- rendering, mirroring agent-core/src/repair/prompt.rs (its functions are crate-private) ----

fn status_line(c: &Classification) -> String {
    let mut line = match c.tests {
        Some(t) => format!("{} passed, {} failed, {} ignored", t.passed, t.failed, t.ignored),
        None => "no test summary (the build may have failed)".to_owned(),
    };
    if !c.valid_run {
        line.push_str("; the run is not valid");
        if !c.notes.is_empty() {
            let _ = write!(line, " ({})", c.notes.join("; "));
        }
    }
    line
}

fn read_around(root: &Path, f: &Failure, context: u32) -> Option<String> {
    let file = f.file.as_ref()?;
    let line = f.line? as usize;
    let text = std::fs::read_to_string(root.join(file)).ok()?;
    let lines: Vec<&str> = text.lines().collect();
    if line == 0 || line > lines.len() {
        return None;
    }
    let from = line.saturating_sub(context as usize).max(1);
    let to = (line + context as usize).min(lines.len());
    let mut out = String::new();
    for n in from..=to {
        let mark = if n == line { '>' } else { ' ' };
        let _ = writeln!(out, "{mark}{n:>5} | {}", lines[n - 1]);
    }
    Some(out)
}

fn describe_failure(out: &mut String, index: usize, f: &Failure, root: &Path, snippets: bool) {
    let _ = write!(out, "{}. [{}]", index + 1, f.kind.name());
    if let Some(file) = &f.file {
        let _ = write!(out, " {}", file.display());
        if let Some(line) = f.line {
            let _ = write!(out, ":{line}");
            if let Some(col) = f.column {
                let _ = write!(out, ":{col}");
            }
        }
    }
    if let Some(code) = &f.code {
        let _ = write!(out, " {code}");
    }
    if let Some(test) = &f.test_name {
        let _ = write!(out, " in test `{test}`");
    }
    out.push('\n');
    for line in f.message.lines().take(20) {
        let _ = writeln!(out, "   {line}");
    }
    let snippet = if snippets { f.snippet.clone().or_else(|| read_around(root, f, CONTEXT_LINES)) } else { None };
    if let Some(snippet) = snippet {
        out.push_str("   ```\n");
        for line in snippet.lines().take(2 * CONTEXT_LINES as usize + 8) {
            let _ = writeln!(out, "   {line}");
        }
        out.push_str("   ```\n");
    }
}

/// The failures section; `snippets: false` leaves the source lines out (to show their share).
fn render(c: &Classification, root: &Path, snippets: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Test status: {}", status_line(c));
    if c.failures.is_empty() {
        return out;
    }
    let _ = writeln!(out, "Failures ({} in all):", c.failures.len());
    for (i, f) in c.failures.iter().take(MAX_FAILURES).enumerate() {
        describe_failure(&mut out, i, f, root, snippets);
    }
    if c.failures.len() > MAX_FAILURES {
        let _ = writeln!(out, "… and {} more of the same run.", c.failures.len() - MAX_FAILURES);
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

fn main() {
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("agent-oracles/tests/testdata");
    let bpe = match tiktoken_rs::o200k_base() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("cannot load the o200k_base tokenizer: {e}");
            std::process::exit(1);
        }
    };
    let tokens = |s: &str| bpe.encode_with_special_tokens(s).len();
    println!(
        "{:<40} {:>7} {:>6} {:>7} {:>7} {:>7} {:>9} {:>5} {:>9} {:>8}",
        "fixture", "tool", "fails", "raw", "context", "ratio", "no-snip", "locs", "tp/got/exp", "valid"
    );
    let (mut raw_all, mut ctx_all, mut raw_failing, mut ctx_failing) = (0usize, 0usize, 0usize, 0usize);
    let (mut bare_all, mut bare_failing) = (0usize, 0usize);
    let (mut tp_all, mut got_all, mut exp_all) = (0usize, 0usize, 0usize);
    let (mut valid_ok, mut valid_n) = (0usize, 0usize);
    let (mut missing_locs, mut skipped) = (Vec::new(), Vec::new());
    let mut over_target = Vec::new();
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
        let c = classifier.classify(&fx.run, &WorkspaceProfile::new(&fx.root));
        let context = render(&c, &fx.root, true);
        let bare = tokens(&render(&c, &fx.root, false));
        let raw = tokens(&stdout) + tokens(&stderr);
        let ctx = tokens(&context);
        let mut locs = 0;
        for f in &c.failures {
            if let (Some(file), Some(line)) = (&f.file, f.line) {
                locs += 1;
                let loc = format!("{}:{line}", file.display());
                if !context.contains(&loc) {
                    missing_locs.push(format!("{}: {loc}", fx.name));
                }
            }
        }
        raw_all += raw;
        ctx_all += ctx;
        bare_all += bare;
        if !c.failures.is_empty() {
            raw_failing += raw;
            ctx_failing += ctx;
            bare_failing += bare;
        }
        let ratio = if raw == 0 { 0.0 } else { ctx as f64 / raw as f64 };
        if !c.failures.is_empty() && ratio > 0.20 {
            over_target.push(format!("{} ({:.0}%)", fx.name, ratio * 100.0));
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
            "{:<40} {:>7} {:>6} {:>7} {:>7} {:>6.1}% {:>8.1}% {:>5} {:>9} {:>8}",
            fx.name,
            tool,
            c.failures.len(),
            raw,
            ctx,
            ratio * 100.0,
            if raw == 0 { 0.0 } else { 100.0 * bare as f64 / raw as f64 },
            locs,
            score_text,
            valid_text
        );
    }
    let pct = |a: usize, b: usize| if b == 0 { 0.0 } else { 100.0 * a as f64 / b as f64 };
    println!();
    println!("tokenizer: o200k_base (tiktoken-rs)");
    println!("all fixtures:     raw {raw_all} tokens, context {ctx_all} tokens, ratio {:.1}%", pct(ctx_all, raw_all));
    println!(
        "failing fixtures: raw {raw_failing} tokens, context {ctx_failing} tokens, ratio {:.1}%",
        pct(ctx_failing, raw_failing)
    );
    println!(
        "without snippets: all {:.1}% ({bare_all} tokens), failing {:.1}% ({bare_failing} tokens)",
        pct(bare_all, raw_all),
        pct(bare_failing, raw_failing)
    );
    println!(
        "classification vs expectations: precision {:.1}% ({tp_all}/{got_all}), recall {:.1}% ({tp_all}/{exp_all}), valid_run right {valid_ok}/{valid_n}",
        pct(tp_all, got_all),
        pct(tp_all, exp_all)
    );
    println!("failing locations missing from the context: {}", missing_locs.len());
    for m in &missing_locs {
        println!("  {m}");
    }
    println!("failing fixtures over the 20% target: {}", over_target.len());
    for m in &over_target {
        println!("  {m}");
    }
    if !skipped.is_empty() {
        println!("skipped: {}", skipped.join(", "));
    }
}
