//! agentctl driven as a black box: its flags, exit codes and JSON documents.

use crate::support::{agentctl, fixture, manifest, repo};
use serde_json::Value;
use std::io::Write;
use std::process::{Output, Stdio};

const STATS_GOAL: &str = "Make the failing tests pass: mean must return the arithmetic mean.";
const ROMAN_GOAL: &str = "Make to_roman use subtractive notation so that all tests pass.";

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn cassette(name: &str) -> String {
    repo().join("examples/cassettes").join(format!("{name}.json")).display().to_string()
}

#[test]
fn repair_turns_the_buggy_fixture_green_from_the_cassette_and_reports_progress() {
    let (_dir, work) = fixture("buggy-stats");
    let journal = work.parent().unwrap().join("journal.jsonl");
    let out = agentctl()
        .args(["repair", work.to_str().unwrap(), "--goal", STATS_GOAL, "--provider", "openai:gpt-4.1-mini"])
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
}

#[test]
fn repair_that_fails_every_attempt_rolls_back_to_a_byte_identical_tree() {
    let (_dir, work) = fixture("hopeless-roman");
    let before = manifest(&work);
    let out = agentctl()
        .args(["repair", work.to_str().unwrap(), "--goal", ROMAN_GOAL, "--provider", "openai:gpt-4.1-mini"])
        .args(["--replay", &cassette("hopeless-roman"), "--json"])
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
fn repair_with_a_goal_the_cassette_never_saw_fails_loudly_and_restores() {
    let (_dir, work) = fixture("buggy-stats");
    let before = manifest(&work);
    let out = agentctl()
        .args(["repair", work.to_str().unwrap(), "--goal", "A different goal", "--replay", &cassette("buggy-stats")])
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
        .args(["repair", work.to_str().unwrap(), "--goal", STATS_GOAL])
        .args(["--provider", "openai:gpt-4.1-nano", "--provider", "openai:gpt-4.1-mini"])
        .args(["--replay", &cassette("buggy-stats"), "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", String::from_utf8_lossy(&out.stderr));
    let doc = json(&out);
    assert_eq!(doc["outcome"], "accepted");
    assert_eq!(doc["attempts"].as_array().unwrap().len(), 2);
}
