//! The runner on real git repositories and real pytest runs: gold patches,
//! invalid instances, the failures one instance can have without stopping
//! the others, quoting of test names, reruns, and the agent path with a
//! scripted stand-in model (a test double: its replies are written here,
//! everything it drives is real).

use agent_core::LlmProvider;
use agent_core::provider::{ProviderId, Usage};
use agent_providers::{ScriptedProvider, ScriptedReply};
use agent_swe::{
    AgentSolver, InstanceReport, InstanceStatus, PlanSource, RepoSpecs, Solver, SweConfig, SweInstance, SweReport,
    SweRunner,
};
use agent_testkit::{git, write};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PYTEST: &str = "python3 -m pytest -rA -p no:cacheprovider {tests}";

const CALC_GOOD: &str = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n";
const CALC_BUGGY: &str = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n";
const TESTS_BASE: &str = "from calc import add, mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n\n\ndef test_add_zero():\n    assert add(4, 0) == 4\n";
const TESTS_FIX: &str = "from calc import add, mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n\n\ndef test_add_zero():\n    assert add(4, 0) == 4\n\n\ndef test_add():\n    assert add(2, 3) == 5\n";

/// A folder of mirrors with `acme/calc`: a good commit, a commit that
/// breaks `add` (the base), and a fix commit with a new test. Returns the
/// folder, the base commit, the gold patch and the test patch.
struct Calc {
    _tmp: tempfile::TempDir,
    repos: PathBuf,
    base: String,
    patch: String,
    test_patch: String,
}

fn calc() -> Calc {
    let tmp = tempfile::tempdir().expect("temp dir");
    let repos = tmp.path().join("repos");
    let repo = repos.join("acme__calc");
    std::fs::create_dir_all(&repo).expect("mkdir");
    git(&repo, &["init", "-q"]);
    write(&repo, ".gitignore", b"__pycache__/\n");
    write(&repo, "calc.py", CALC_GOOD.as_bytes());
    write(&repo, "tests/test_calc.py", TESTS_BASE.as_bytes());
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "calc"]);
    write(&repo, "calc.py", CALC_BUGGY.as_bytes());
    git(&repo, &["commit", "-qam", "refactor add"]);
    let base = git(&repo, &["rev-parse", "HEAD"]).trim().to_owned();
    write(&repo, "calc.py", CALC_GOOD.as_bytes());
    write(&repo, "tests/test_calc.py", TESTS_FIX.as_bytes());
    git(&repo, &["commit", "-qam", "fix add"]);
    let patch = git(&repo, &["diff", &base, "HEAD", "--", "calc.py"]);
    let test_patch = git(&repo, &["diff", &base, "HEAD", "--", "tests"]);
    git(&repo, &["checkout", "-q", &base]);
    Calc { _tmp: tmp, repos, base, patch, test_patch }
}

fn instance(c: &Calc, id: &str, extra: serde_json::Value) -> SweInstance {
    let mut doc = json!({
        "instance_id": id,
        "repo": "acme/calc",
        "base_commit": c.base,
        "patch": c.patch,
        "test_patch": c.test_patch,
        "problem_statement": "add(2, 3) returns -1 instead of 5.",
        "FAIL_TO_PASS": ["tests/test_calc.py::test_add"],
        "PASS_TO_PASS": ["tests/test_calc.py::test_mul", "tests/test_calc.py::test_add_zero"],
        "setup": [],
        "test_cmd": PYTEST,
    });
    if let (Some(map), serde_json::Value::Object(extra)) = (doc.as_object_mut(), extra) {
        for (k, v) in extra {
            if v.is_null() {
                map.remove(&k);
            } else {
                map.insert(k, v);
            }
        }
    }
    SweInstance::from_json(&doc.to_string()).expect("a valid instance")
}

async fn run(repos: &Path, out: &Path, solver: Solver, instances: Vec<SweInstance>) -> SweReport {
    SweRunner::new(SweConfig::new(repos, out).with_jobs(2), solver).run(instances).await.expect("the run completes")
}

fn entry<'a>(report: &'a SweReport, id: &str) -> &'a InstanceReport {
    report.instances.get(id).unwrap_or_else(|| panic!("{id} is in the report: {report:#?}"))
}

fn predictions(out: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out.join("predictions.jsonl"))
        .expect("predictions.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gold_patch_resolves_and_the_prediction_is_the_fix_without_the_test_patch() {
    let c = calc();
    let out = tempfile::tempdir().expect("out");
    let report = run(&c.repos, out.path(), Solver::Gold, vec![instance(&c, "acme__calc-1", json!({}))]).await;
    let e = entry(&report, "acme__calc-1");
    assert_eq!(e.status, InstanceStatus::Resolved, "{e:#?}");
    assert!(e.resolved);
    assert_eq!(e.validation["FAIL_TO_PASS"].failure, ["tests/test_calc.py::test_add"]);
    assert_eq!(e.validation["PASS_TO_PASS"].success.len(), 2);
    assert_eq!(e.tests_status["FAIL_TO_PASS"].success, ["tests/test_calc.py::test_add"]);
    assert_eq!(e.env_source, Some(PlanSource::Instance));
    assert_eq!(report.summary_line(), "resolved 1 of 1");
    let preds = predictions(out.path());
    assert_eq!(preds.len(), 1);
    assert_eq!(preds[0]["instance_id"], "acme__calc-1");
    assert_eq!(preds[0]["model_name_or_path"], "gold");
    let patch = preds[0]["model_patch"].as_str().expect("a patch");
    assert!(patch.contains("diff --git a/calc.py b/calc.py"), "{patch}");
    assert!(patch.contains("-    return a - b\n+    return a + b"), "{patch}");
    assert!(!patch.contains("tests/test_calc.py"), "the test patch is not part of the prediction: {patch}");
    // The report on disk is the one returned.
    let on_disk: SweReport =
        serde_json::from_slice(&std::fs::read(out.path().join("report.json")).expect("report.json")).expect("json");
    assert_eq!(on_disk.summary, report.summary);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_does_not_hold_before_the_change_is_invalid_and_not_scored() {
    let c = calc();
    let out = tempfile::tempdir().expect("out");
    let already_passing = instance(&c, "acme__calc-2", json!({ "FAIL_TO_PASS": ["tests/test_calc.py::test_mul"] }));
    let broken_p2p = instance(&c, "acme__calc-3", json!({ "PASS_TO_PASS": ["tests/test_calc.py::test_add"] }));
    let good = instance(&c, "acme__calc-4", json!({}));
    let report = run(&c.repos, out.path(), Solver::Gold, vec![already_passing, broken_p2p, good]).await;
    let e = entry(&report, "acme__calc-2");
    assert_eq!(e.status, InstanceStatus::Invalid);
    assert!(e.verdict.contains("already pass") && e.verdict.contains("test_mul"), "{}", e.verdict);
    let e = entry(&report, "acme__calc-3");
    assert_eq!(e.status, InstanceStatus::Invalid);
    assert!(e.verdict.contains("PASS_TO_PASS") && e.verdict.contains("test_add"), "{}", e.verdict);
    assert_eq!(entry(&report, "acme__calc-4").status, InstanceStatus::Resolved);
    assert_eq!((report.summary.invalid, report.summary.scored), (2, 1));
    assert_eq!(report.summary_line(), "resolved 1 of 1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_that_breaks_a_passing_test_or_changes_nothing_is_unresolved() {
    let c = calc();
    let out = tempfile::tempdir().expect("out");
    // Fixes add, breaks mul.
    let wrong = format!(
        "{}--- a/calc.py\n+++ b/calc.py\n@@ -5,2 +5,2 @@\n def mul(a, b):\n-    return a * b\n+    return a + b\n",
        c.patch
    );
    let breaks = instance(&c, "acme__calc-5", json!({ "patch": wrong }));
    let empty = instance(&c, "acme__calc-6", json!({ "patch": "" }));
    let report = run(&c.repos, out.path(), Solver::Gold, vec![breaks, empty]).await;
    let e = entry(&report, "acme__calc-5");
    assert_eq!(e.status, InstanceStatus::Unresolved, "{e:#?}");
    assert_eq!(e.tests_status["FAIL_TO_PASS"].success, ["tests/test_calc.py::test_add"]);
    assert_eq!(e.tests_status["PASS_TO_PASS"].failure, ["tests/test_calc.py::test_mul"]);
    assert!(e.verdict.contains("PASS_TO_PASS broken: tests/test_calc.py::test_mul"), "{}", e.verdict);
    let e = entry(&report, "acme__calc-6");
    assert_eq!(e.status, InstanceStatus::Unresolved);
    assert!(e.patch_is_empty);
    assert_eq!(report.summary_line(), "resolved 0 of 2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_instance_failing_in_any_way_does_not_stop_the_others() {
    let c = calc();
    let out = tempfile::tempdir().expect("out");
    let no_mirror = instance(&c, "acme__gone-1", json!({ "repo": "acme/gone" }));
    let bad_test_patch =
        instance(&c, "acme__calc-7", json!({ "test_patch": "--- a/nope.py\n+++ b/nope.py\n@@ -1 +1 @@\n-x\n+y\n" }));
    let bad_setup = instance(&c, "acme__calc-8", json!({ "setup": ["echo preparing", "echo broken >&2; exit 3"] }));
    let bad_gold = instance(
        &c,
        "acme__calc-9",
        json!({ "patch": "--- a/calc.py\n+++ b/calc.py\n@@ -1 +1 @@\n-nothing like this\n+x\n" }),
    );
    let good = instance(&c, "acme__calc-10", json!({}));
    let report =
        run(&c.repos, out.path(), Solver::Gold, vec![no_mirror, bad_test_patch, bad_setup, bad_gold, good]).await;
    let e = entry(&report, "acme__gone-1");
    assert_eq!(e.status, InstanceStatus::Error);
    assert!(e.verdict.contains("no mirror of acme/gone") && e.verdict.contains("acme__gone"), "{}", e.verdict);
    let e = entry(&report, "acme__calc-7");
    assert_eq!(e.status, InstanceStatus::Error);
    assert!(e.verdict.contains("test patch does not apply"), "{}", e.verdict);
    let e = entry(&report, "acme__calc-8");
    assert_eq!(e.status, InstanceStatus::Error);
    assert!(
        e.verdict.contains("exit 3") && e.verdict.contains("exited with 3") && e.verdict.contains("broken"),
        "{}",
        e.verdict
    );
    let e = entry(&report, "acme__calc-9");
    assert_eq!(e.status, InstanceStatus::Error);
    assert!(e.verdict.contains("gold patch does not apply"), "{}", e.verdict);
    assert_eq!(entry(&report, "acme__calc-10").status, InstanceStatus::Resolved);
    assert_eq!((report.summary.error, report.summary.resolved, report.summary.scored), (4, 1, 5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_past_its_wall_clock_limit_is_a_timeout_and_the_next_one_runs() {
    let c = calc();
    let out = tempfile::tempdir().expect("out");
    let hangs = instance(&c, "acme__calc-11", json!({ "test_cmd": "sleep 600 # {tests}" }));
    let good = instance(&c, "acme__calc-12", json!({}));
    // The limit must leave the good instance (setup, baseline, the gold
    // patch's test run) room on a loaded 2-core machine; 3 s did not.
    let config = SweConfig::new(&c.repos, out.path()).with_jobs(1).with_instance_timeout(Duration::from_secs(20));
    let report = SweRunner::new(config, Solver::Gold).run(vec![hangs, good]).await.expect("run");
    let e = entry(&report, "acme__calc-11");
    assert_eq!(e.status, InstanceStatus::Timeout, "{e:#?}");
    assert!(e.verdict.contains("limit of 20s"), "{}", e.verdict);
    assert_eq!(entry(&report, "acme__calc-12").status, InstanceStatus::Resolved);
    assert_eq!(report.summary.timeout, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_names_with_spaces_quotes_and_shell_syntax_reach_the_runner_as_they_are() {
    // A stand-in runner prints pytest's -rA lines for exactly the arguments it got:
    // passing once the fix created `fixed`, and failing everything if a name ran as shell code.
    let c = calc();
    let repo = c.repos.join("acme__calc");
    git(&repo, &["checkout", "-q", "main"]);
    write(
        &repo,
        "runner.py",
        b"import os, sys\nok = os.path.exists('fixed') and not os.path.exists('pwned')\nfor name in sys.argv[1:]:\n    print(('PASSED ' if ok else 'FAILED ') + name)\nprint('%d tests' % (len(sys.argv) - 1))\nsys.exit(0 if ok else 1)\n",
    );
    git(&repo, &["add", "runner.py"]);
    git(&repo, &["commit", "-qm", "runner"]);
    let base = git(&repo, &["rev-parse", "HEAD"]).trim().to_owned();
    let names = [
        "t.py::test[two words]",
        "t.py::test[it's]",
        "t.py::test[\"quoted\"]",
        "t.py::test[$(touch pwned)]",
        "t.py::test[`touch pwned`; touch pwned]",
        "t.py::test[a\\b*?]",
    ];
    let fixed = "diff --git a/fixed b/fixed\nnew file mode 100644\nindex 0000000..e69de29\n";
    let inst = instance(
        &c,
        "acme__calc-13",
        json!({
            "base_commit": base, "test_patch": "", "patch": fixed,
            "FAIL_TO_PASS": names, "PASS_TO_PASS": [],
            "test_cmd": "python3 runner.py {tests}",
        }),
    );
    let out = tempfile::tempdir().expect("out");
    let report = run(&c.repos, out.path(), Solver::Gold, vec![inst]).await;
    let e = entry(&report, "acme__calc-13");
    assert_eq!(e.status, InstanceStatus::Resolved, "{e:#?}");
    assert_eq!(e.tests_status["FAIL_TO_PASS"].success, names);
    assert_eq!(e.validation["FAIL_TO_PASS"].failure, names);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_skips_reported_instances_unless_asked_and_keeps_the_report() {
    let c = calc();
    let out = tempfile::tempdir().expect("out");
    let first = run(&c.repos, out.path(), Solver::Gold, vec![instance(&c, "acme__calc-14", json!({}))]).await;
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen2 = seen.clone();
    let runner = SweRunner::new(SweConfig::new(&c.repos, out.path()), Solver::Gold)
        .with_progress(Arc::new(move |r| seen2.lock().expect("lock").push(r.instance_id.clone())));
    let two = vec![instance(&c, "acme__calc-14", json!({})), instance(&c, "acme__calc-15", json!({}))];
    let second = runner.run(two.clone()).await.expect("run");
    assert_eq!(*seen.lock().expect("lock"), ["acme__calc-15"], "only the new instance ran");
    assert_eq!(entry(&second, "acme__calc-14"), entry(&first, "acme__calc-14"));
    assert_eq!(second.summary.total, 2);
    assert_eq!(predictions(out.path()).len(), 2);
    seen.lock().expect("lock").clear();
    let seen3 = seen.clone();
    SweRunner::new(SweConfig::new(&c.repos, out.path()).with_rerun(true), Solver::Gold)
        .with_progress(Arc::new(move |r| seen3.lock().expect("lock").push(r.instance_id.clone())))
        .run(two)
        .await
        .expect("run");
    assert_eq!(seen.lock().expect("lock").len(), 2, "--rerun runs both again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_specs_entry_sets_the_test_command_of_instances_without_their_own() {
    let c = calc();
    let out = tempfile::tempdir().expect("out");
    let inst = instance(&c, "acme__calc-16", json!({ "setup": null, "test_cmd": null }));
    let specs = RepoSpecs::from_json(&json!({ "acme/calc": { "setup": ["true"], "test_cmd": PYTEST } }).to_string())
        .expect("specs");
    let config = SweConfig::new(&c.repos, out.path()).with_specs(specs);
    let report = SweRunner::new(config, Solver::Gold).run(vec![inst]).await.expect("run");
    let e = entry(&report, "acme__calc-16");
    assert_eq!(e.status, InstanceStatus::Resolved, "{e:#?}");
    assert_eq!(e.env_source, Some(PlanSource::Specs));
    assert_eq!(e.setup_commands, ["sh -c true"]);
    assert!(e.test_command.starts_with("sh -c"), "{}", e.test_command);
}

fn scripted(replies: Vec<ScriptedReply>) -> Solver {
    let replies = Mutex::new(Some(replies));
    let factory = move |_: &SweInstance| -> Result<Arc<dyn LlmProvider>, String> {
        let script = replies.lock().expect("lock").take().ok_or("one instance only")?;
        Ok(Arc::new(ScriptedProvider::new(ProviderId::new("openai:gpt-4.1-mini"), script)))
    };
    Solver::agent(AgentSolver::new("scripted", Arc::new(factory)))
}

fn call(name: &str, args: serde_json::Value) -> ScriptedReply {
    ScriptedReply::call(name, args, Usage::new(1000, 50))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_path_resolves_with_a_scripted_model_that_edits_through_the_tools() {
    let c = calc();
    let out = tempfile::tempdir().expect("out");
    let solver = scripted(vec![
        call("read_file", json!({ "path": "calc.py" })),
        call("edit_file", json!({ "path": "calc.py", "old": "    return a - b\n", "new": "    return a + b\n" })),
        call("run_tests", json!({})),
        call("finish", json!({ "summary": "add adds" })),
    ]);
    let report = run(&c.repos, out.path(), solver, vec![instance(&c, "acme__calc-17", json!({}))]).await;
    let e = entry(&report, "acme__calc-17");
    assert_eq!(e.status, InstanceStatus::Resolved, "{e:#?}");
    assert_eq!(e.outcome.as_deref(), Some("accepted"));
    assert_eq!((e.turns, e.tool_calls), (4, 4));
    assert_eq!(e.tokens.input, 4000);
    assert!(e.journal.as_deref().is_some_and(|j| Path::new(j).is_file()));
    let preds = predictions(out.path());
    assert_eq!(preds[0]["model_name_or_path"], "scripted");
    let patch = preds[0]["model_patch"].as_str().expect("patch");
    assert!(patch.contains("+    return a + b") && !patch.contains("test_calc"), "{patch}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_that_changes_nothing_leaves_the_instance_unresolved_with_an_empty_patch() {
    let c = calc();
    let out = tempfile::tempdir().expect("out");
    let solver = scripted(vec![
        call("finish", json!({ "summary": "nothing to do" })),
        call("finish", json!({ "summary": "nothing to do" })),
        call("finish", json!({ "summary": "nothing to do" })),
    ]);
    let report = run(&c.repos, out.path(), solver, vec![instance(&c, "acme__calc-18", json!({}))]).await;
    let e = entry(&report, "acme__calc-18");
    assert_eq!(e.status, InstanceStatus::Unresolved, "{e:#?}");
    assert_eq!(e.outcome.as_deref(), Some("rolled_back"));
    assert!(e.patch_is_empty);
    assert_eq!(e.tests_status["FAIL_TO_PASS"].failure, ["tests/test_calc.py::test_add"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_while_running_one_instance_is_reported_and_the_others_finish() {
    let c = calc();
    let out = tempfile::tempdir().expect("out");
    let factory = |instance: &SweInstance| -> Result<Arc<dyn LlmProvider>, String> {
        if instance.instance_id.ends_with("-19") {
            panic!("a host's provider factory panicked");
        }
        let script = vec![
            call("edit_file", json!({ "path": "calc.py", "old": "    return a - b\n", "new": "    return a + b\n" })),
            call("finish", json!({ "summary": "add adds" })),
        ];
        Ok(Arc::new(ScriptedProvider::new(ProviderId::new("openai:gpt-4.1-mini"), script)))
    };
    let solver = Solver::agent(AgentSolver::new("scripted", Arc::new(factory)));
    let insts = vec![instance(&c, "acme__calc-19", json!({})), instance(&c, "acme__calc-20", json!({}))];
    let report = run(&c.repos, out.path(), solver, insts).await;
    let e = entry(&report, "acme__calc-19");
    assert_eq!(e.status, InstanceStatus::Error);
    assert!(e.verdict.contains("panicked"), "{}", e.verdict);
    assert_eq!(e.repo, "acme/calc");
    assert_eq!(entry(&report, "acme__calc-20").status, InstanceStatus::Resolved);
}
