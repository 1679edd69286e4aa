//! SIGINT and SIGTERM delivered to a real `agentctl repair` run at several
//! points: the run is cancelled, its workspace restored byte for byte (the
//! manifest: every file, the index, HEAD, refs and `git status`), and a
//! report saying it was interrupted is printed with exit code 1.
//!
//! The model is a scripted OpenAI-compatible server on loopback (a test
//! double): it answers the scripted tool calls, then holds one request open
//! so the run is waiting on the model at a known point.

use crate::support::{agentctl, fixture, manifest, openai_tool_call as tool_call};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Answers the Nth request with the Nth body; past the script, holds the
/// request open (the run waits on the model until it is interrupted).
struct Script {
    bodies: Vec<Value>,
    seen: Arc<Mutex<usize>>,
}

impl Respond for Script {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        let mut seen = self.seen.lock().unwrap();
        *seen += 1;
        match self.bodies.get(*seen - 1) {
            Some(body) => ResponseTemplate::new(200).set_body_json(body.clone()),
            None => ResponseTemplate::new(500).set_delay(Duration::from_secs(600)),
        }
    }
}

fn wrong_edit(n: usize) -> Value {
    tool_call(
        n,
        "edit_file",
        json!({
            "path": "src/lib.rs",
            "old": "    Some(sum / (values.len() as i64 - 1))",
            "new": "    Some(sum * 2)"
        }),
    )
}

/// Waits (polling, without a deadline of its own: nextest's timeout bounds it) until `ready`.
async fn until(mut ready: impl FnMut() -> bool) {
    while !ready() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts `agentctl repair` on `work` against a server scripted with
/// `bodies`, waits until `at(work, requests_seen)` holds, sends `signal`,
/// and returns the exit code and the printed report.
async fn interrupt_at(
    work: &Path,
    bodies: Vec<Value>,
    signal: &str,
    at: impl Fn(&Path, usize) -> bool,
) -> (Option<i32>, Value) {
    let server = MockServer::start().await;
    let seen = Arc::new(Mutex::new(0));
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(Script { bodies, seen: seen.clone() })
        .mount(&server)
        .await;
    let spec = format!("openai:gpt-4.1-mini@{}/v1", server.uri());
    let child = agentctl()
        .env("OPENAI_API_KEY", "sk-test")
        .args(["repair", &work.display().to_string(), "--goal", "Make the failing tests pass."])
        .args(["--provider", &spec, "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    until(|| at(work, *seen.lock().unwrap())).await;
    let sent = std::process::Command::new("kill").args(["-s", signal, &pid]).status().unwrap();
    assert!(sent.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()).await.unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("not JSON ({e}): {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    (out.status.code(), doc)
}

fn assert_interrupted(code: Option<i32>, doc: &Value, signal: &str, restored: bool) {
    assert_eq!(code, Some(1), "{doc:#}");
    assert_eq!(doc["outcome"], "interrupted", "{doc:#}");
    assert_eq!(doc["signal"], signal);
    assert_eq!(doc["restored"], restored, "{doc:#}");
    assert_eq!(doc["verdict"]["verdict"], "needs_human");
    assert!(doc["verdict"]["reason"].as_str().unwrap().contains(signal), "{doc:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_while_the_first_model_call_waits_restores_an_untouched_tree() {
    let (_dir, work) = fixture("buggy-stats");
    let before = manifest(&work);
    // The first request (after the snapshot and the baseline run) is held open.
    let (code, doc) = interrupt_at(&work, vec![], "INT", |_, seen| seen >= 1).await;
    assert_interrupted(code, &doc, "SIGINT", true);
    assert_eq!(manifest(&work), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_after_an_edit_while_the_model_is_asked_again_restores_the_tree_byte_for_byte() {
    let (_dir, work) = fixture("buggy-stats");
    let before = manifest(&work);
    let edited = |work: &Path, seen: usize| {
        seen >= 2 && std::fs::read_to_string(work.join("src/lib.rs")).unwrap().contains("Some(sum * 2)")
    };
    let (code, doc) = interrupt_at(&work, vec![wrong_edit(1)], "INT", edited).await;
    assert_interrupted(code, &doc, "SIGINT", true);
    assert_eq!(manifest(&work), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_command_after_an_edit_restores_the_tree_byte_for_byte() {
    let (_dir, work) = fixture("buggy-stats");
    let before = manifest(&work);
    // The edit, then a command that leaves a file in the tree and keeps running.
    let slow = tool_call(
        2,
        "run_command",
        json!({ "program": "sh", "args": ["-c", "echo started > started.marker; sleep 600"] }),
    );
    let started = |work: &Path, _: usize| work.join("started.marker").is_file();
    let (code, doc) = interrupt_at(&work, vec![wrong_edit(1), slow], "TERM", started).await;
    assert_interrupted(code, &doc, "SIGTERM", true);
    assert_eq!(manifest(&work), before);
}
