//! `agentctl task retry|reimplement|cancel|show` on a SQLite store, as a
//! black box: exit codes and JSON; a running task cancelled under the real
//! `agentctl worker` (scripted model on loopback, real git fixture) is
//! stopped with its worktree restored byte for byte; a reimplemented task
//! is restored to its state before its first attempt and runs again; a
//! retried failed task runs again under a real worker, keeping its first
//! attempt and verdict.

use crate::support::{agentctl, fixture, manifest, openai_tool_call as tool_call, repo, stdout_json as json};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const STATS_GOAL: &str = "Make the failing tests pass: mean must return the arithmetic mean.";

fn store_url(dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("store.db").display())
}

fn task(args: &[&str]) -> Output {
    agentctl().arg("task").args(args).output().unwrap()
}

fn enqueue(store: &str, work: &Path, id: &str) {
    let out = agentctl()
        .args(["enqueue", "--store", store, "--dir", work.to_str().unwrap(), "--goal", STATS_GOAL, "--id", id])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Answers the Nth request with the Nth body; past the script, either holds
/// the request open (the run waits on the model) or answers `fallback`.
struct Script {
    bodies: Vec<Value>,
    fallback: Option<Value>,
    seen: Arc<Mutex<usize>>,
}

impl Respond for Script {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        let mut seen = self.seen.lock().unwrap();
        *seen += 1;
        match (self.bodies.get(*seen - 1), &self.fallback) {
            (Some(body), _) | (None, Some(body)) => ResponseTemplate::new(200).set_body_json(body.clone()),
            (None, None) => ResponseTemplate::new(500).set_delay(Duration::from_secs(600)),
        }
    }
}

async fn serve(bodies: Vec<Value>, fallback: Option<Value>) -> (MockServer, Arc<Mutex<usize>>) {
    let server = MockServer::start().await;
    let seen = Arc::new(Mutex::new(0));
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(Script { bodies, fallback, seen: seen.clone() })
        .mount(&server)
        .await;
    (server, seen)
}

#[test]
fn task_controls_exit_0_when_applied_1_with_the_reason_when_refused_and_2_for_an_unknown_task_or_url() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_url(dir.path());
    enqueue(&store, dir.path(), "t1");

    // Queued: a retry is refused by the state machine, with the reason.
    let refused = task(&["retry", "t1", "--store", &store, "--json"]);
    assert_eq!(refused.status.code(), Some(1));
    let doc = json(&refused);
    assert_eq!((doc["applied"].clone(), doc["action"].clone()), (json!(false), json!("retry")));
    assert_eq!(doc["refused"]["state"], "queued");
    assert_eq!(doc["refused"]["reason"], "it is already queued");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("it is already queued"));

    let cancelled = task(&["cancel", "t1", "--store", &store, "--by", "alice", "--json"]);
    assert_eq!(cancelled.status.code(), Some(0), "{}", String::from_utf8_lossy(&cancelled.stderr));
    let doc = json(&cancelled);
    assert_eq!(
        (doc["applied"].clone(), doc["from_state"].clone(), doc["to_state"].clone()),
        (json!(true), json!("queued"), json!("cancelled"))
    );
    // Finished: a second cancel is refused; a retry queues it again.
    assert_eq!(task(&["cancel", "t1", "--store", &store]).status.code(), Some(1));
    assert_eq!(json(&task(&["retry", "t1", "--store", &store, "--json"]))["to_state"], "queued");

    let shown = task(&["show", "t1", "--store", &store, "--json"]);
    assert_eq!(shown.status.code(), Some(0));
    let doc = json(&shown);
    assert_eq!(doc["task"]["state"], "queued");
    assert_eq!(doc["task"]["max_attempts"], 6, "a retry allows one more claim");
    let controls: Vec<(String, String, Value)> = doc["controls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["action"].as_str().unwrap().into(), c["by"].as_str().unwrap().into(), c["to_state"].clone()))
        .collect();
    assert_eq!(
        controls,
        [
            ("retry".into(), "agentctl".into(), Value::Null),
            ("cancel".into(), "alice".into(), json!("cancelled")),
            ("cancel".into(), "agentctl".into(), Value::Null),
            ("retry".into(), "agentctl".into(), json!("queued")),
        ],
        "every control is journaled, refused ones with no new state"
    );

    assert_eq!(task(&["show", "nope", "--store", &store]).status.code(), Some(2), "an unknown task is bad input");
    assert_eq!(task(&["reimplement", "nope", "--store", &store]).status.code(), Some(2));
    assert_eq!(task(&["show", "t1", "--store", "mysql://x"]).status.code(), Some(2), "a bad URL is bad input");
}

/// Runs `agentctl worker --drain` on `store` with a model that only talks
/// (one attempt of two turns, so each run ends without a change); returns
/// its output and how many requests the model saw.
async fn talking_worker(store: &str) -> (Output, Arc<Mutex<usize>>) {
    let talk = json!({
        "id": "chatcmpl-t", "object": "chat.completion", "model": "gpt-4.1-mini",
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": "I will not change anything." },
                      "finish_reason": "stop" }],
        "usage": { "prompt_tokens": 900, "completion_tokens": 10, "total_tokens": 910 }
    });
    let (server, seen) = serve(vec![], Some(talk)).await;
    let spec = format!("openai:gpt-4.1-mini@{}/v1", server.uri());
    let url = store.to_owned();
    let out = tokio::task::spawn_blocking(move || {
        agentctl()
            .env("OPENAI_API_KEY", "sk-test")
            .args(["worker", "--store", &url, "--drain", "--provider", &spec])
            .args(["--max-attempts", "1", "--max-turns", "2", "--json"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    drop(server);
    (out, seen)
}

/// Waits (polling; nextest's timeout bounds it) until `ready`.
async fn until(mut ready: impl FnMut() -> bool) {
    while !ready() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_task_the_worker_is_running_stops_it_restores_its_worktree_byte_for_byte_and_ends_it_cancelled() {
    let (dir, work) = fixture("buggy-stats");
    let store = store_url(dir.path());
    enqueue(&store, &work, "long");
    let before = manifest(&work);
    // The model edits the file, then the next request is held open: the
    // run is mid-task, its worktree changed.
    let wrong_edit = tool_call(
        1,
        "edit_file",
        json!({ "path": "src/lib.rs", "old": "    Some(sum / (values.len() as i64 - 1))", "new": "    Some(sum * 2)" }),
    );
    let (server, seen) = serve(vec![wrong_edit], None).await;
    let spec = format!("openai:gpt-4.1-mini@{}/v1", server.uri());
    let worker = agentctl()
        .env("OPENAI_API_KEY", "sk-test")
        .args(["worker", "--store", &store, "--drain", "--lease", "5s", "--provider", &spec, "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    until(|| {
        *seen.lock().unwrap() >= 2
            && std::fs::read_to_string(work.join("src/lib.rs")).unwrap().contains("Some(sum * 2)")
    })
    .await;
    let cancel = task(&["cancel", "long", "--store", &store, "--json"]);
    assert_eq!(cancel.status.code(), Some(0), "{}", String::from_utf8_lossy(&cancel.stderr));
    let doc = json(&cancel);
    assert_eq!((doc["to_state"].clone(), doc["cancel_requested"].clone()), (json!("running"), json!(true)));

    let out = tokio::task::spawn_blocking(move || worker.wait_with_output().unwrap()).await.unwrap();
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(report["stats"]["cancelled"], 1, "{report:#}");
    assert_eq!(report["tasks"][0]["outcome"], "cancelled");
    assert_eq!(manifest(&work), before, "the worktree is restored byte for byte");

    let shown = json(&task(&["show", "long", "--store", &store, "--json"]));
    assert_eq!(shown["task"]["state"], "cancelled");
    assert_eq!(shown["attempts"][0]["result"], "cancelled");
    assert_eq!(shown["controls"][0]["action"], "cancel");
    assert_eq!(shown["controls"][0]["from_state"], "running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reimplemented_task_is_restored_to_its_state_before_its_first_attempt_and_runs_again() {
    let (dir, work) = fixture("buggy-stats");
    let store = store_url(dir.path());
    enqueue(&store, &work, "redo");
    let before = manifest(&work);
    // The first run fixes the bug (from the recorded cassette) and is accepted.
    let cassette = repo().join("examples/cassettes/buggy-stats.json");
    let first = agentctl()
        .args(["worker", "--store", &store, "--drain", "--mode", "plan", "--provider", "openai:gpt-4.1-mini"])
        .args(["--replay", cassette.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", String::from_utf8_lossy(&first.stderr));
    assert_eq!(json(&first)["tasks"][0]["outcome"], "accepted");
    assert_ne!(manifest(&work), before, "the accepted change is in the worktree");
    let done = json(&task(&["show", "redo", "--store", &store, "--json"]));
    let base = done["task"]["base_snapshot"].as_str().expect("the first worker recorded the base").to_owned();

    // Done but not merged: reimplemented, then run again by a worker whose
    // model only talks, so the run ends rolled back to where it started.
    let redo = task(&["reimplement", "redo", "--store", &store, "--json"]);
    assert_eq!(redo.status.code(), Some(0), "{}", String::from_utf8_lossy(&redo.stderr));
    assert_eq!(json(&redo)["from_state"], "done");
    let (second, seen) = talking_worker(&store).await;
    let report = json(&second);
    assert_eq!(report["stats"]["completed"], 1, "{report:#}");
    assert_ne!(report["tasks"][0]["outcome"], "accepted", "{report:#}");
    assert!(*seen.lock().unwrap() >= 1, "the task ran again: the model was asked");
    // Restored to the base before the run; the run's own rollback returns there.
    assert_eq!(manifest(&work), before, "the worktree is as it was before the first attempt");

    let shown = json(&task(&["show", "redo", "--store", &store, "--json"]));
    assert_eq!(shown["task"]["generation"], 1);
    assert_eq!(shown["task"]["reimplement"], false, "the marker ends with the run");
    assert_eq!(shown["attempts"].as_array().unwrap().len(), 2, "the first attempt stays in the record");
    let restored_base = shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["type"] == "snapshot_restored" && e["id"] == base.as_str());
    assert!(restored_base, "the worker journaled the restore of the base {base}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_failed_task_runs_again_under_a_real_worker_and_keeps_its_first_attempt() {
    let (dir, work) = fixture("buggy-stats");
    let store = store_url(dir.path());
    enqueue(&store, &work, "again");
    // The first worker's model only talks: the run ends without a fix.
    let (first, _seen) = talking_worker(&store).await;
    assert_ne!(json(&first)["tasks"][0]["outcome"], "accepted");
    assert_eq!(json(&task(&["show", "again", "--store", &store, "--json"]))["task"]["state"], "failed");

    let retried = task(&["retry", "again", "--store", &store, "--json"]);
    assert_eq!(retried.status.code(), Some(0), "{}", String::from_utf8_lossy(&retried.stderr));
    assert_eq!(
        (json(&retried)["from_state"].clone(), json(&retried)["to_state"].clone()),
        (json!("failed"), json!("queued"))
    );

    // The retry runs under a worker whose model fixes the bug (the recorded cassette).
    let cassette = repo().join("examples/cassettes/buggy-stats.json");
    let second = agentctl()
        .args(["worker", "--store", &store, "--drain", "--mode", "plan", "--provider", "openai:gpt-4.1-mini"])
        .args(["--replay", cassette.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(0), "{}", String::from_utf8_lossy(&second.stderr));
    assert_eq!(json(&second)["tasks"][0]["outcome"], "accepted");

    let shown = json(&task(&["show", "again", "--store", &store, "--json"]));
    assert_eq!(shown["task"]["state"], "done");
    assert_eq!(shown["task"]["generation"], 0, "a retry is no new generation");
    let results: Vec<&str> =
        shown["attempts"].as_array().unwrap().iter().map(|a| a["result"].as_str().unwrap()).collect();
    assert_eq!(results, ["completed", "completed"], "the first attempt stays in the history");
    let verdicts: Vec<&str> =
        shown["verdicts"].as_array().unwrap().iter().map(|v| v["verdict"].as_str().unwrap()).collect();
    assert_eq!(verdicts.len(), 2, "both runs' verdicts are kept: {verdicts:?}");
    assert_ne!(verdicts[0], "approve");
    assert_eq!(verdicts[1], "approve");
    assert_eq!(shown["controls"][0]["action"], "retry");
    assert_eq!(shown["controls"][0]["from_state"], "failed");
}
