//! `agentctl repair` against a scripted OpenAI-compatible server on
//! loopback, the way tests outside the project drive it: the server (a test
//! double standing in for the model) answers each Chat Completions request
//! in turn with tool calls in the real wire format, agentctl speaks real
//! HTTP to it, and the tools, the test runs and the git repository are real.

use crate::support::{agentctl, fixture, openai_tool_call as tool_call};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Answers the Nth request with the Nth scripted body and keeps every request body.
struct Script {
    bodies: Vec<Value>,
    seen: Arc<Mutex<Vec<Value>>>,
}

impl Respond for Script {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut seen = self.seen.lock().unwrap();
        seen.push(serde_json::from_slice(&request.body).unwrap());
        match self.bodies.get(seen.len() - 1) {
            Some(body) => ResponseTemplate::new(200).set_body_json(body.clone()),
            None => ResponseTemplate::new(500).set_body_string("script exhausted"),
        }
    }
}

fn text_answer(n: usize, text: &str) -> Value {
    json!({
        "id": format!("chatcmpl-{n}"), "object": "chat.completion", "model": "gpt-4.1-mini",
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": text }, "finish_reason": "stop" }],
        "usage": { "prompt_tokens": 900, "completion_tokens": 30, "total_tokens": 930 }
    })
}

async fn serve(bodies: Vec<Value>) -> (MockServer, Arc<Mutex<Vec<Value>>>) {
    let server = MockServer::start().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(Script { bodies, seen: seen.clone() })
        .mount(&server)
        .await;
    (server, seen)
}

async fn repair(work: &std::path::Path, server: &MockServer, extra: &[&str]) -> (Option<i32>, Value) {
    let spec = format!("openai:gpt-4.1-mini@{}/v1", server.uri());
    let mut args: Vec<String> =
        vec!["repair".into(), work.display().to_string(), "--goal".into(), "Make the failing tests pass.".into()];
    args.extend(["--provider".into(), spec, "--json".into()]);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let out =
        tokio::task::spawn_blocking(move || agentctl().env("OPENAI_API_KEY", "sk-test").args(&args).output().unwrap())
            .await
            .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("not JSON ({e}): {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    (out.status.code(), doc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_tool_calls_from_an_openai_compatible_server_repair_a_python_repository() {
    let (_dir, work) = fixture("py-slugify");
    let edit = json!({
        "path": "slugkit/slug.py",
        "old": "    slug = _NOT_WORD.sub(\"-\", title)",
        "new": "    slug = _NOT_WORD.sub(\"-\", title.lower())"
    });
    let (server, seen) = serve(vec![
        tool_call(1, "read_file", json!({ "path": "slugkit/slug.py" })),
        tool_call(2, "edit_file", edit),
        tool_call(3, "run_tests", json!({})),
        tool_call(4, "finish", json!({ "summary": "Lower-case first." })),
    ])
    .await;
    let (code, doc) = repair(&work, &server, &[]).await;
    assert_eq!(code, Some(0), "{doc:#}");
    assert_eq!(doc["outcome"], "accepted");
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 4);
    // Every request offers the contract's tools by name.
    let names: Vec<&str> =
        requests[0]["tools"].as_array().unwrap().iter().map(|t| t["function"]["name"].as_str().unwrap()).collect();
    for tool in [
        "list_files",
        "read_file",
        "search",
        "edit_file",
        "write_file",
        "delete_file",
        "run_tests",
        "run_command",
        "finish",
    ] {
        assert!(names.contains(&tool), "{tool} missing from {names:?}");
    }
    // The second request carries the first call and its observation, tied by the call id.
    let messages = requests[1]["messages"].as_array().unwrap();
    let result = messages.iter().find(|m| m["role"] == "tool").unwrap();
    assert_eq!(result["tool_call_id"], "call_1");
    assert!(result["content"].as_str().unwrap().contains("def slugify"), "{result:#}");
    // The run_tests observation is the classified result, not pytest's raw log.
    let after_tests =
        requests[3]["messages"].as_array().unwrap().last().unwrap()["content"].as_str().unwrap().to_owned();
    assert!(!after_tests.contains("short test summary info"), "{after_tests}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_without_tool_calling_works_through_the_json_fallback() {
    let (_dir, work) = fixture("js-median");
    let edit = json!({ "tool": "edit_file", "arguments": {
        "path": "median.js",
        "old": "const sorted = [...values].sort();",
        "new": "const sorted = [...values].sort((a, b) => a - b);"
    }});
    let (server, seen) = serve(vec![
        text_answer(1, "```json\n{\"tool\": \"read_file\", \"arguments\": {\"path\": \"median.js\"}}\n```"),
        text_answer(2, &edit.to_string()),
        text_answer(3, "{\"tool\": \"finish\", \"arguments\": {\"summary\": \"Sort numerically.\"}}"),
    ])
    .await;
    let (code, doc) = repair(&work, &server, &["--tool-calling", "json"]).await;
    assert_eq!(code, Some(0), "{doc:#}");
    assert_eq!(doc["outcome"], "accepted");
    let requests = seen.lock().unwrap().clone();
    assert!(requests[0].get("tools").is_none_or(|t| t.as_array().is_none_or(|a| a.is_empty())), "no native tools sent");
    let system = requests[0]["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("edit_file") && system.contains("\"tool\""), "the tools are described in the prompt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_malformed_calls_from_the_server_end_the_task_needing_a_human_and_change_nothing() {
    let (_dir, work) = fixture("go-wordfreq");
    let before = std::fs::read_to_string(work.join("wordfreq.go")).unwrap();
    let (server, _seen) = serve(vec![
        tool_call(1, "no_such_tool", json!({})),
        tool_call(2, "read_file", json!({ "file": "wordfreq.go" })),
        tool_call(3, "edit_file", json!({ "path": "wordfreq.go", "old": 5 })),
    ])
    .await;
    let (code, doc) = repair(&work, &server, &[]).await;
    assert_eq!(code, Some(1), "{doc:#}");
    assert_eq!(doc["outcome"], "needs_human");
    assert!(doc["verdict"]["reason"].as_str().unwrap().contains("invalid tool calls"), "{doc:#}");
    assert_eq!(std::fs::read_to_string(work.join("wordfreq.go")).unwrap(), before);
}
