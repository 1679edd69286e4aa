//! agentctl driven as a black box: its flags, exit codes and JSON documents.

use crate::support::{agentctl, fixture, manifest, repo, stdout_json as json};
use serde_json::{Value, json};
use std::io::Write;
use std::process::Stdio;

const STATS_GOAL: &str = "Make the failing tests pass: mean must return the arithmetic mean.";
const ROMAN_GOAL: &str = "Make to_roman use subtractive notation so that all tests pass.";
const TRAP_GOAL: &str = "Make discount_starts_at_one_hundred pass: an order of exactly 100.00 gets the 10% discount.";

fn cassette(name: &str) -> String {
    repo().join("examples/cassettes").join(format!("{name}.json")).display().to_string()
}

#[test]
fn repair_turns_the_buggy_fixture_green_from_the_cassette_and_reports_progress() {
    let (_dir, work) = fixture("buggy-stats");
    let journal = work.parent().unwrap().join("journal.jsonl");
    let out = agentctl()
        .args([
            "repair",
            work.to_str().unwrap(),
            "--mode",
            "plan",
            "--goal",
            STATS_GOAL,
            "--provider",
            "openai:gpt-4.1-mini",
        ])
        .args(["--replay", &cassette("buggy-stats"), "--json", "--journal", journal.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}");
    let doc = json(&out);
    assert_eq!(doc["outcome"], "accepted");
    assert_eq!(doc["verdict"]["verdict"], "approve");
    let attempts = doc["attempts"].as_array().unwrap();
    assert!((1..=3).contains(&attempts.len()));
    assert_eq!(attempts.len(), 2, "the cassette's first plan fails to compile, its repair passes");
    assert_eq!(doc["repairs"], 1);
    assert_eq!(attempts[0]["passed"], false);
    assert_eq!(attempts[0]["classification"]["failures"][0]["kind"], "type");
    assert_eq!(attempts[1]["passed"], true);
    assert!(doc["tokens"]["total"].as_u64().unwrap() > 0);
    assert!(doc["cost_usd"].as_f64().unwrap() > 0.0);
    assert_eq!(doc["journal"], journal.to_str().unwrap());
    // The journal is JSONL, one event per line, and ends with the task's end.
    let lines: Vec<Value> =
        std::fs::read_to_string(&journal).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.iter().filter(|e| e["type"] == "llm_call").count() == 2);
    assert_eq!(lines.last().unwrap()["type"], "task_finished");
    // One progress line per step, as it happened.
    for step in
        ["inspecting", "planning", "applied", "tested (baseline)", "classified", "repair 1 of 2", "outcome: accepted"]
    {
        assert!(stderr.contains(step), "no `{step}` progress line in:\n{stderr}");
    }
    let fixed = std::fs::read_to_string(work.join("src/lib.rs")).unwrap();
    assert!(fixed.contains("Some(sum / values.len() as i64)"));

    // The journal reads back as the task's timeline, with metrics.
    let out = agentctl().args(["timeline", journal.to_str().unwrap(), "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let doc = json(&out);
    assert_eq!(doc["timeline"]["goal"], STATS_GOAL);
    assert_eq!(doc["timeline"]["model_calls"], 2);
    assert_eq!(doc["timeline"]["final_state"], "accepted");
    assert_eq!(doc["timeline"]["verdict"]["verdict"], "approve");
    let tokens = doc["timeline"]["tokens"].as_array().unwrap();
    assert_eq!(tokens[0].as_u64().unwrap() + tokens[1].as_u64().unwrap(), doc_total_tokens(&lines));
    assert_eq!(doc["metrics"]["pass_rate"], 1.0);
    assert_eq!(doc["metrics"]["repairs_per_success"], 1.0);
    let human = agentctl().args(["timeline", journal.to_str().unwrap()]).output().unwrap();
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("state executing -> repairing"), "{text}");
    assert!(text.contains("verdict: approve"), "{text}");
    let bad = agentctl().args(["timeline", journal.to_str().unwrap(), "no-such-task"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// Input plus output tokens of every model call in a journal.
fn doc_total_tokens(events: &[Value]) -> u64 {
    events
        .iter()
        .filter(|e| e["type"] == "llm_call")
        .map(|e| e["input_tokens"].as_u64().unwrap() + e["output_tokens"].as_u64().unwrap())
        .sum()
}

#[test]
fn repair_that_fails_every_attempt_rolls_back_to_a_byte_identical_tree() {
    let (_dir, work) = fixture("hopeless-roman");
    let before = manifest(&work);
    let out = agentctl()
        .args([
            "repair",
            work.to_str().unwrap(),
            "--mode",
            "plan",
            "--goal",
            ROMAN_GOAL,
            "--provider",
            "openai:gpt-4.1-mini",
        ])
        // Sequential replay: the later prompts quote rustc's own error text,
        // which changes between toolchains (`&'static str` became `&str`);
        // what this test checks is the rollback, not the prompt's bytes.
        .args(["--replay", &cassette("hopeless-roman"), "--replay-match", "sequential", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "stderr:\n{}", String::from_utf8_lossy(&out.stderr));
    let doc = json(&out);
    assert_eq!(doc["outcome"], "rolled_back");
    assert_eq!(doc["rolled_back"], true);
    assert_eq!(doc["attempts"].as_array().unwrap().len(), 3);
    assert_eq!(manifest(&work), before);
    assert!(work.join("scratch.txt").is_file(), "the untracked file survived");
}

#[test]
fn a_fix_that_passes_the_named_test_but_breaks_another_is_rolled_back_with_the_regression_named() {
    let (_dir, work) = fixture("regression-trap");
    let before = manifest(&work);
    let out = agentctl()
        .args([
            "repair",
            work.to_str().unwrap(),
            "--mode",
            "plan",
            "--goal",
            TRAP_GOAL,
            "--provider",
            "openai:gpt-4.1-mini",
        ])
        .args(["--test", "discount_starts_at_one_hundred", "--replay", &cassette("regression-trap"), "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "stderr:\n{}", String::from_utf8_lossy(&out.stderr));
    let doc = json(&out);
    assert_eq!(doc["outcome"], "rolled_back");
    let regression = "regression: `tests::no_discount_just_below_one_hundred` (regression_trap) passed before the change and failed after it";
    assert_eq!(doc["verdict"]["verdict"], "changes_requested");
    assert_eq!(doc["verdict"]["items"][0], regression, "{}", doc["verdict"]);
    // Each attempt made the named test pass: only the regression failed it.
    for attempt in doc["attempts"].as_array().unwrap() {
        assert_eq!(attempt["passed"], false);
        let outcomes = attempt["classification"]["outcomes"].as_array().unwrap();
        let status = |name: &str| outcomes.iter().find(|o| o["name"] == name).map(|o| o["status"].clone());
        assert_eq!(status("tests::discount_starts_at_one_hundred"), Some(json!("passed")));
        assert_eq!(status("tests::no_discount_just_below_one_hundred"), Some(json!("failed")));
    }
    assert_eq!(manifest(&work), before, "rolled back to the byte");
}

#[test]
fn repair_with_a_goal_the_cassette_never_saw_fails_loudly_and_restores() {
    let (_dir, work) = fixture("buggy-stats");
    let before = manifest(&work);
    let out = agentctl()
        .args([
            "repair",
            work.to_str().unwrap(),
            "--mode",
            "plan",
            "--goal",
            "A different goal",
            "--replay",
            &cassette("buggy-stats"),
        ])
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    assert_eq!(doc["outcome"], "needs_human");
    let reason = doc["verdict"]["reason"].as_str().unwrap();
    assert!(reason.contains("not_recorded"), "{reason}");
    assert!(reason.contains("A different goal"), "the miss names the request: {reason}");
    assert_eq!(manifest(&work), before);
}

#[test]
fn repair_of_a_missing_directory_is_bad_input() {
    let out = agentctl().args(["repair", "/nonexistent/dir", "--goal", "x", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(json(&out)["error"].as_str().unwrap().contains("not a directory"));
}

#[test]
fn a_reader_that_closes_stdout_early_gets_no_panic_and_the_commands_exit_code() {
    let (_dir, work) = fixture("buggy-stats");
    let mut child = agentctl()
        .args(["inspect", work.to_str().unwrap(), "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Like `agentctl … | head -c 0`: the reader is gone before anything is written.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn inspect_reports_the_cargo_project_and_its_test_command() {
    let (_dir, work) = fixture("buggy-stats");
    let out = agentctl().args(["inspect", work.to_str().unwrap(), "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc = json(&out);
    let project = &doc["projects"][0];
    assert_eq!(project["kinds"][0], "rust");
    assert_eq!(project["build_system"], "cargo");
    assert_eq!(project["primary"], true);
    assert_eq!(project["test"]["program"], "cargo");
    assert_eq!(project["test"]["args"][0], "test");
    assert!(!project["test"]["evidence"].as_array().unwrap().is_empty());
}

#[test]
fn classify_reads_real_cargo_test_output_from_stdin() {
    let (_dir, work) = fixture("buggy-stats");
    let run = std::process::Command::new("cargo").args(["test", "--quiet"]).current_dir(&work).output().unwrap();
    assert_eq!(run.status.code(), Some(101));
    let mut captured = run.stdout.clone();
    captured.extend_from_slice(&run.stderr);
    let mut child = agentctl()
        .args(["classify", "--tool", "cargo", "--exit-code", "101", "--root", work.to_str().unwrap(), "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&captured).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "failures found: exit 1");
    let doc = json(&out);
    assert_eq!(doc["valid_run"], true);
    assert_eq!(doc["tests"]["failed"], 2);
    let names: Vec<&str> = doc["failures"].as_array().unwrap().iter().filter_map(|f| f["test_name"].as_str()).collect();
    assert!(names.contains(&"tests::mean_of_three_values"), "{names:?}");
    assert!(names.contains(&"tests::mean_of_one_value_is_that_value"), "{names:?}");
}

#[test]
fn classify_with_an_unknown_tool_is_bad_input() {
    let mut child = agentctl()
        .args(["classify", "--tool", "nonsense", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"hello").unwrap();
    assert_eq!(child.wait_with_output().unwrap().status.code(), Some(2));
}

#[test]
fn exec_reports_a_wall_timeout_and_exits_1() {
    let out = agentctl().args(["exec", "--timeout", "300ms", "--json", "--", "sleep", "30"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    assert_eq!(doc["timed_out"], "wall");
    assert!(doc["exit_code"].is_null());
}

#[test]
fn exec_captures_output_and_exit_code() {
    let out =
        agentctl().args(["exec", "--json", "--", "sh", "-c", "echo hello; echo oops >&2; exit 3"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    assert_eq!(doc["exit_code"], 3);
    assert_eq!(doc["stdout"]["head"], "hello\n");
    assert_eq!(doc["stderr"]["head"], "oops\n");
}

#[test]
fn exec_under_workspace_write_stops_a_hostile_command_and_tells_the_denial() {
    // The production wiring: agentctl's own executor, its own HOME.
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("repo");
    std::fs::create_dir_all(&work).unwrap();
    assert!(std::process::Command::new("git").args(["init", "-q"]).current_dir(&work).status().unwrap().success());
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::write(home.join(".aws/credentials"), "aws_secret_access_key = SECRET-AWS\n").unwrap();
    let git_config = std::fs::read(work.join(".git/config")).unwrap();
    let script = format!(
        "echo '[core] fsmonitor = /tmp/x' >> .git/config; cat {}/.aws/credentials; echo ok > kept.txt",
        home.display()
    );
    let out = agentctl()
        .current_dir(&work)
        .env("HOME", &home)
        .args(["exec", "--sandbox", "workspace-write", "--json", "--", "sh", "-c", &script])
        .output()
        .unwrap();
    let doc = json(&out);
    assert_eq!(std::fs::read(work.join(".git/config")).unwrap(), git_config, "{doc}");
    assert!(!doc["stdout"]["head"].as_str().unwrap().contains("SECRET"), "{doc}");
    assert_eq!(std::fs::read_to_string(work.join("kept.txt")).unwrap(), "ok\n");
    assert_eq!(doc["sandbox"]["enforced"], true, "{doc}");
    assert!(doc["sandbox"]["denial_suspected"].is_string(), "{doc}");
}

#[test]
fn exec_with_a_bad_duration_is_bad_input() {
    let out = agentctl().args(["exec", "--timeout", "soon", "--json", "--", "true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn snapshot_restore_and_discard_round_trip_through_the_cli() {
    let (_dir, work) = fixture("buggy-stats");
    let before = manifest(&work);
    let out = agentctl().args(["snapshot", work.to_str().unwrap(), "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let id = json(&out)["id"].as_str().unwrap().to_owned();
    std::fs::write(work.join("src/lib.rs"), "garbage").unwrap();
    std::fs::write(work.join("new_file.txt"), "new").unwrap();
    std::fs::remove_file(work.join("scratch.txt")).unwrap();
    let out = agentctl().args(["restore", work.to_str().unwrap(), &id, "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = agentctl().args(["discard", work.to_str().unwrap(), &id, "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(manifest(&work), before);
    let out = agentctl().args(["restore", work.to_str().unwrap(), &id, "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "a discarded snapshot is unknown");
}

#[test]
fn ask_replay_miss_names_the_error_class_of_every_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, r#"{"version":1,"interactions":[]}"#).unwrap();
    let out = agentctl()
        .args(["ask", "--provider", "openai:gpt-4.1-mini", "--provider", "openai:gpt-4.1-nano"])
        .args(["--replay", empty.to_str().unwrap(), "--json", "hello"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    let attempts = doc["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["provider"], "openai:gpt-4.1-mini");
    assert_eq!(attempts[0]["error_class"], "not_recorded");
    assert_eq!(attempts[1]["provider"], "openai:gpt-4.1-nano");
}

#[test]
fn ask_with_a_malformed_provider_spec_is_bad_input() {
    let out = agentctl().args(["ask", "--provider", "nonsense", "--json", "hi"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_records_a_live_exchange_without_the_api_key_then_replays_it_offline() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    let body = serde_json::json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4.1-mini",
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": "pong" }, "finish_reason": "stop" }],
        "usage": { "prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14 }
    });
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let cassette = dir.path().join("ask.json");
    let spec = format!("openai:gpt-4.1-mini@{}/v1", server.uri());
    let secret = "sk-test-very-secret-key-123";
    let out = tokio::task::spawn_blocking({
        let (spec, cassette) = (spec.clone(), cassette.clone());
        move || {
            agentctl()
                .env("OPENAI_API_KEY", secret)
                .args(["ask", "--provider", &spec, "--record", cassette.to_str().unwrap(), "--json", "ping"])
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let doc = json(&out);
    assert_eq!(doc["content"], "pong");
    assert_eq!(doc["usage"]["input_tokens"], 12);
    assert_eq!(doc["attempts"][0]["ok"], true);
    let written = std::fs::read_to_string(&cassette).unwrap();
    assert!(!written.contains(secret), "the API key reached the cassette");
    assert!(!written.to_lowercase().contains("authorization"));
    drop(server);
    // The server is gone: the answer can only come from the cassette.
    let out = agentctl()
        .args(["ask", "--provider", &spec, "--replay", cassette.to_str().unwrap(), "--json", "ping"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json(&out)["content"], "pong");
    // Streamed in human mode, the answer is printed once, as it arrives, then the footer.
    let out = agentctl()
        .args(["ask", "--provider", &spec, "--replay", cassette.to_str().unwrap(), "--stream", "ping"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("pong").count(), 1, "{text}");
    assert!(text.contains("12 in / 2 out tokens"), "{text}");
}

#[test]
fn snapshot_and_restore_of_a_directory_that_is_not_a_repository_use_directory_copies() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("plain");
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(root.join("src/main.c"), "int main(void) { return 0; }\n").unwrap();
    std::fs::write(root.join("README"), "keep me\n").unwrap();
    let out = agentctl().args(["snapshot", root.to_str().unwrap(), "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let doc = json(&out);
    assert_eq!(doc["kind"], "dir");
    let id = doc["id"].as_str().unwrap().to_owned();
    std::fs::write(root.join("src/main.c"), "broken").unwrap();
    std::fs::remove_file(root.join("README")).unwrap();
    std::fs::write(root.join("new.txt"), "new").unwrap();
    let out = agentctl().args(["restore", root.to_str().unwrap(), &id, "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(root.join("src/main.c")).unwrap(), "int main(void) { return 0; }\n");
    assert_eq!(std::fs::read_to_string(root.join("README")).unwrap(), "keep me\n");
    assert!(!root.join("new.txt").exists());
    let out = agentctl().args(["discard", root.to_str().unwrap(), &id, "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn repair_with_several_providers_falls_over_to_the_one_the_cassette_holds() {
    let (_dir, work) = fixture("buggy-stats");
    let out = agentctl()
        .args(["repair", work.to_str().unwrap(), "--mode", "plan", "--goal", STATS_GOAL])
        .args(["--provider", "openai:gpt-4.1-nano", "--provider", "openai:gpt-4.1-mini"])
        .args(["--replay", &cassette("buggy-stats"), "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", String::from_utf8_lossy(&out.stderr));
    let doc = json(&out);
    assert_eq!(doc["outcome"], "accepted");
    assert_eq!(doc["attempts"].as_array().unwrap().len(), 2);
}

/// A copy of agent-mutants' python-small mutation fixture as a git repository
/// with one commit, then line 11 (`if percent > 100:`) edited and committed.
fn mutate_fixture() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("python-small");
    std::fs::create_dir_all(&work).unwrap();
    let src = repo().join("agent-mutants/tests/testdata/mutate/python-small");
    for name in ["pricing.py", "test_pricing.py"] {
        std::fs::copy(src.join(name), work.join(name)).unwrap();
    }
    let git = |args: &[&str]| {
        let status = std::process::Command::new("git")
            .arg("-C")
            .arg(&work)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
            .args(args)
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "fixture"]);
    let pricing = std::fs::read_to_string(work.join("pricing.py")).unwrap();
    assert_eq!(pricing.lines().nth(10), Some("    if percent > 100:"), "the fixture changed");
    std::fs::write(work.join("pricing.py"), pricing.replace("    if percent > 100:\n", "    if 100 < percent:\n"))
        .unwrap();
    git(&["commit", "-q", "-am", "flip the comparison"]);
    (dir, work)
}

#[test]
fn mutate_json_lists_each_mutant_of_the_diff_and_exits_1_when_one_is_missed() {
    let (dir, work) = mutate_fixture();
    let cache = dir.path().join("cache");
    let args = ["mutate", work.to_str().unwrap(), "--in-diff", "HEAD~1", "--jobs", "2"];
    let out = agentctl().args(args).args(["--cache-dir", cache.to_str().unwrap(), "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "stderr:\n{}", String::from_utf8_lossy(&out.stderr));
    let doc = json(&out);
    let mutants = doc["mutants"].as_array().unwrap();
    assert!(!mutants.is_empty());
    for m in mutants {
        assert_eq!(m["file"], "pricing.py");
        assert_eq!(m["line"], 11, "only the changed line: {m}");
        for field in ["operator", "original", "replacement", "outcome"] {
            assert!(m[field].is_string(), "{field} in {m}");
        }
        assert!(m["duration_ms"].is_u64());
    }
    let missed = |m: &&Value| m["outcome"] == "missed";
    // `100 <= percent` caps 100 % to 100 %: no test can tell.
    assert!(mutants.iter().filter(missed).any(|m| m["original"] == "<" && m["replacement"] == "<="), "{doc}");
    assert!(doc["missed"].as_u64().unwrap() >= 1);
    let (caught, missed_n) = (doc["caught"].as_f64().unwrap(), doc["missed"].as_f64().unwrap());
    assert_eq!(doc["score"].as_f64().unwrap(), caught / (caught + missed_n));
    assert!(doc["baseline_ms"].as_u64().unwrap() > 0);

    // The same run again is served from the cache, and the human summary shows missed mutants as diffs.
    let out = agentctl().args(args).args(["--cache-dir", cache.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("{} from cache", mutants.len())), "{text}");
    assert!(text.contains("missed mutants:") && text.contains("-    if 100 < percent:"), "{text}");
    assert!(text.contains("+    if 100 <= percent:"), "{text}");
}

#[test]
fn mutate_progress_prints_a_line_per_mutant_to_stderr_and_leaves_the_json_alone() {
    let (dir, work) = mutate_fixture();
    let cache = dir.path().join("cache");
    let args = ["mutate", work.to_str().unwrap(), "--in-diff", "HEAD~1", "--jobs", "2", "--json"];
    let out = agentctl().args(args).args(["--cache-dir", cache.to_str().unwrap(), "--progress"]).output().unwrap();
    let n = json(&out)["mutants"].as_array().unwrap().len();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(" mutants: ")).collect();
    // One line before the first mutant, then one per mutant, ending at n of n.
    assert_eq!(lines.len(), n + 1, "{stderr}");
    assert!(lines[0].starts_with(&format!("0/{n} mutants: 0 caught, 0 missed")), "{stderr}");
    assert!(lines[n].starts_with(&format!("{n}/{n} mutants: ")) && lines[n].contains("elapsed"), "{stderr}");
    // Not asked for and not a terminal: the same mutants run again (a fresh cache), silently.
    let dir2 = tempfile::tempdir().unwrap();
    let out = agentctl().args(args).args(["--cache-dir", dir2.path().to_str().unwrap()]).output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains(" mutants: "), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn mutate_of_a_missing_directory_or_an_unknown_revision_is_bad_input() {
    let out = agentctl().args(["mutate", "/no/such/dir", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let (dir, work) = mutate_fixture();
    let cache = dir.path().join("cache");
    let out = agentctl()
        .args(["mutate", work.to_str().unwrap(), "--in-diff", "no-such-rev", "--json"])
        .args(["--cache-dir", cache.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(json(&out)["error"].as_str().unwrap().contains("no-such-rev"));
}

#[test]
fn repeated_replayed_runs_of_a_task_leave_the_same_tree_and_report_determinism() {
    let (_dir, work) = fixture("buggy-stats");
    let out = agentctl()
        .args([
            "repair",
            work.to_str().unwrap(),
            "--mode",
            "plan",
            "--goal",
            STATS_GOAL,
            "--provider",
            "openai:gpt-4.1-mini",
        ])
        .args(["--replay", &cassette("buggy-stats"), "--repeat", "2", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", String::from_utf8_lossy(&out.stderr));
    let doc = json(&out);
    assert_eq!(doc["determinism"]["runs"], 2);
    assert_eq!(doc["determinism"]["share"], 1.0);
    let digests = doc["determinism"]["tree_digests"].as_array().unwrap();
    assert_eq!(digests[0], digests[1]);
    assert_eq!(digests[0].as_str().unwrap().len(), 64, "a SHA-256 in hex");
}

#[test]
fn a_worker_drains_an_enqueued_task_from_a_sqlite_store_and_the_costs_are_attributed() {
    let (dir, work) = fixture("buggy-stats");
    let store = format!("sqlite://{}?mode=rwc", dir.path().join("store.db").display());
    let enqueue = agentctl()
        .args(["enqueue", "--store", &store, "--dir", work.to_str().unwrap(), "--goal", STATS_GOAL])
        .args(["--id", "stats-1", "--repo", "demo", "--json"])
        .output()
        .unwrap();
    assert_eq!(enqueue.status.code(), Some(0), "{}", String::from_utf8_lossy(&enqueue.stderr));
    assert_eq!(json(&enqueue)["task"], "stats-1");
    let queued = json(&agentctl().args(["status", "--store", &store, "--json"]).output().unwrap());
    assert_eq!(queued["counts"]["queued"], 1);

    let worker = agentctl()
        .args(["worker", "--store", &store, "--drain", "--mode", "plan", "--provider", "openai:gpt-4.1-mini"])
        .args(["--replay", &cassette("buggy-stats"), "--json"])
        .output()
        .unwrap();
    assert_eq!(worker.status.code(), Some(0), "{}", String::from_utf8_lossy(&worker.stderr));
    let doc = json(&worker);
    assert_eq!(doc["stats"]["completed"], 1);
    assert_eq!(doc["tasks"][0]["task"], "stats-1");
    assert_eq!(doc["tasks"][0]["outcome"], "accepted");
    assert!(std::fs::read_to_string(work.join("src/lib.rs")).unwrap().contains("Some(sum / values.len() as i64)"));

    let status = json(&agentctl().args(["status", "--store", &store, "--json"]).output().unwrap());
    assert_eq!((status["counts"]["done"].clone(), status["counts"]["queued"].clone()), (json!(1), json!(0)));
    let costs = json(&agentctl().args(["costs", "--store", &store, "--by", "repo", "--json"]).output().unwrap());
    assert_eq!(costs["rows"][0]["key"], "demo");
    assert_eq!(costs["rows"][0]["calls"], 2, "the plan and the repair");
    assert!(costs["total_usd"].as_f64().unwrap() > 0.0);
    let bad = agentctl().args(["costs", "--store", &store, "--by", "planet"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_retries_a_server_error_on_the_same_provider_before_answering() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    let answer = serde_json::json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4.1-mini",
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": "pong" }, "finish_reason": "stop" }],
        "usage": { "prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14 }
    });
    let failure = serde_json::json!({ "error": { "message": "The server had an error", "type": "server_error" } });
    // The first request is a 500; the second is answered.
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(500).set_body_json(failure))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .expect(1)
        .mount(&server)
        .await;
    let spec = format!("openai:gpt-4.1-mini@{}/v1", server.uri());
    let out = tokio::task::spawn_blocking(move || {
        agentctl()
            .env("OPENAI_API_KEY", "sk-test")
            .args(["ask", "--provider", &spec, "--json", "ping"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out);
    assert_eq!(doc["content"], "pong");
    // One cascade member, which answered after its own retry.
    assert_eq!(doc["attempts"].as_array().map(Vec::len), Some(1), "{doc}");
    assert_eq!(doc["attempts"][0]["ok"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_sends_an_image_and_a_thinking_budget_to_anthropic_and_reports_the_models_reasoning() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    let answer = serde_json::json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [
            { "type": "thinking", "thinking": "A red square, 2 by 2.", "signature": "sig-abc" },
            { "type": "text", "text": "A red square." }
        ],
        "stop_reason": "end_turn",
        "usage": { "input_tokens": 40, "output_tokens": 12 }
    });
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("square.png");
    let bytes: &[u8] = b"\x89PNG\r\n\x1a\n not really a png";
    std::fs::write(&image, bytes).unwrap();
    let spec = format!("anthropic:claude-sonnet-4-5@{}", server.uri());
    let image_arg = image.to_str().unwrap().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        agentctl()
            .env("ANTHROPIC_API_KEY", "sk-ant-test")
            .args(["ask", "--provider", &spec, "--reasoning", "low", "--image", &image_arg, "--json", "What is it?"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let doc = json(&out);
    assert_eq!(doc["content"], "A red square.");
    assert_eq!(doc["reasoning"][0]["text"], "A red square, 2 by 2.");
    assert_eq!(doc["reasoning"][0]["signature"], "sig-abc");

    // What reached the server: the image as a base64 block after the text,
    // and a thinking budget ("low": 2,048 tokens) with no temperature.
    let sent: serde_json::Value = server.received_requests().await.unwrap()[0].body_json().unwrap();
    let content = &sent["messages"][0]["content"];
    assert_eq!(content[0]["type"], "text");
    assert_eq!(content[0]["text"], "What is it?");
    assert_eq!(content[1]["type"], "image");
    assert_eq!(content[1]["source"]["media_type"], "image/png");
    use base64::Engine;
    assert_eq!(content[1]["source"]["data"], base64::engine::general_purpose::STANDARD.encode(bytes));
    assert_eq!(sent["thinking"]["type"], "enabled");
    assert_eq!(sent["thinking"]["budget_tokens"], 2048);
    assert!(sent.get("temperature").is_none(), "{sent}");

    // A file that is not an image, or a reasoning level that does not exist, is bad input.
    let text_file = dir.path().join("notes.txt");
    std::fs::write(&text_file, "x").unwrap();
    let bad = agentctl().args(["ask", "--image", text_file.to_str().unwrap(), "hi"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2), "{}", String::from_utf8_lossy(&bad.stderr));
    let bad = agentctl().args(["ask", "--reasoning", "extreme", "hi"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2), "{}", String::from_utf8_lossy(&bad.stderr));
}

/// A repository `repo` with `a.txt` on `main` (with an identity in its
/// configuration, which the worktrees share) and a detached worktree `wt` of it.
fn merge_fixture() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    crate::support::git(&repo, &["init", "-q", "-b", "main"]);
    crate::support::git(&repo, &["config", "user.name", "user"]);
    crate::support::git(&repo, &["config", "user.email", "user@example.invalid"]);
    crate::support::git(&repo, &["config", "commit.gpgsign", "false"]);
    std::fs::write(repo.join("a.txt"), "one\ntwo\nthree\n").unwrap();
    crate::support::git(&repo, &["add", "-A"]);
    crate::support::git(&repo, &["commit", "-q", "-m", "base"]);
    let wt = dir.path().join("wt");
    crate::support::git(&repo, &["worktree", "add", "-q", "--detach", wt.to_str().unwrap(), "main"]);
    (dir, repo, wt)
}

#[test]
fn merge_fast_forwards_the_target_to_the_worktrees_change_and_exits_0() {
    let (dir, repo, wt) = merge_fixture();
    std::fs::write(wt.join("b.txt"), "new\n").unwrap();
    let journal = dir.path().join("merge.jsonl");
    let out = agentctl()
        .args(["merge", wt.to_str().unwrap(), "--target", "main", "--gate", "none", "--goal", "add b.txt"])
        .args(["--task", "m1", "--journal", journal.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let doc = json(&out);
    assert_eq!(doc["report"]["outcome"], "merged");
    let main = crate::support::git(&repo, &["rev-parse", "main"]);
    assert_eq!(doc["report"]["commit"].as_str(), Some(main.trim()));
    assert_eq!(crate::support::git(&repo, &["log", "-1", "--format=%s", "main"]).trim(), "add b.txt");
    let events = std::fs::read_to_string(&journal).unwrap();
    assert!(events.contains("\"type\":\"merged\""), "{events}");
}

#[test]
fn merge_of_a_conflict_the_model_does_not_answer_needs_a_human_and_exits_1() {
    let (dir, repo, wt) = merge_fixture();
    std::fs::write(repo.join("a.txt"), "one\ntwo from the target\nthree\n").unwrap();
    crate::support::git(&repo, &["commit", "-q", "-am", "target edits line two"]);
    let before = crate::support::git(&repo, &["rev-parse", "main"]);
    std::fs::write(wt.join("a.txt"), "one\ntwo from the task\nthree\n").unwrap();
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, r#"{"version":1,"interactions":[]}"#).unwrap();
    let out = agentctl()
        .args(["merge", wt.to_str().unwrap(), "--target", "main", "--gate", "none"])
        .args(["--provider", "openai:gpt-4.1-mini", "--replay", empty.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let doc = json(&out);
    assert_eq!(doc["report"]["outcome"], "needs_human");
    assert_eq!(doc["report"]["conflicts"][0]["file"], "a.txt");
    assert_eq!(crate::support::git(&repo, &["rev-parse", "main"]), before, "the target is unchanged");
    assert_eq!(std::fs::read_to_string(wt.join("a.txt")).unwrap(), "one\ntwo from the task\nthree\n");
}

#[test]
fn merge_onto_a_target_that_does_not_exist_is_bad_input() {
    let (_dir, _repo, wt) = merge_fixture();
    std::fs::write(wt.join("b.txt"), "new\n").unwrap();
    let out = agentctl()
        .args(["merge", wt.to_str().unwrap(), "--target", "no-such-branch", "--gate", "none", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(json(&out)["error"].as_str().unwrap().contains("no-such-branch"));
}
