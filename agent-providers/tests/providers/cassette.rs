//! Record/replay through cassette files.

use crate::common::*;
use agent_core::LlmProvider;
use agent_core::provider::{CompletionRequest, Message, ProviderErrorKind, ProviderId, Role};
use agent_providers::{CassetteError, RecordingProvider, ReplayProvider, request_key};
use proptest::prelude::*;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use wiremock::{Request, Respond, ResponseTemplate};

fn openai_id() -> ProviderId {
    ProviderId::new("openai:gpt-4.1-mini")
}

fn cassette_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("cassettes").join("calls.json")
}

/// Answers "answer 1", "answer 2", … in turn.
struct Counting(AtomicUsize);

impl Respond for Counting {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(200).set_body_json(chat_body(&format!("answer {n}"), 10, 0, 2))
    }
}

#[tokio::test]
async fn recorded_completion_replays_identically_without_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let path = cassette_in(&dir);
    let server = server_with(ok("recorded answer")).await;
    let recorder = RecordingProvider::new(provider_for(&server), &path).unwrap();
    let live = recorder.complete(ask("what is 2+2?")).await.unwrap();
    drop(server);

    let replay = ReplayProvider::open(&path, openai_id()).unwrap();
    let replayed = replay.complete(ask("what is 2+2?")).await.unwrap();
    assert_eq!(replayed, live);
    assert_eq!(replayed.content, "recorded answer");
    assert_eq!(replay.interaction_count(), 1);
}

#[tokio::test]
async fn replayed_completion_names_the_replay_provider() {
    let dir = tempfile::tempdir().unwrap();
    let path = cassette_in(&dir);
    let server = server_with(ok("x")).await;
    let recorder = RecordingProvider::new(provider_for(&server).with_id("ollama:qwen2.5:7b".into()), &path).unwrap();
    recorder.complete(ask("hi")).await.unwrap();
    let replay = ReplayProvider::open(&path, ProviderId::new("ollama:qwen2.5:7b")).unwrap();
    assert_eq!(replay.complete(ask("hi")).await.unwrap().provider.as_str(), "ollama:qwen2.5:7b");
}

#[tokio::test]
async fn cassette_file_has_the_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    let path = cassette_in(&dir);
    let server = server_with(ok("shape")).await;
    let recorder = RecordingProvider::new(provider_for(&server), &path).unwrap();
    let req = ask("shape?");
    recorder.complete(req.clone()).await.unwrap();

    let file: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(file["version"], 1);
    let interaction = &file["interactions"][0];
    assert_eq!(interaction["key"], request_key(&openai_id(), &req));
    assert_eq!(interaction["provider"], "openai:gpt-4.1-mini");
    assert_eq!(interaction["request"]["messages"][0]["content"], "shape?");
    assert_eq!(interaction["response"]["content"], "shape");
    assert!(interaction.get("error").is_none());
}

#[tokio::test]
async fn request_not_in_the_cassette_is_not_recorded_and_names_the_request() {
    let dir = tempfile::tempdir().unwrap();
    let path = cassette_in(&dir);
    let server = server_with(ok("x")).await;
    RecordingProvider::new(provider_for(&server), &path).unwrap().complete(ask("recorded prompt")).await.unwrap();

    let long_prompt = format!("please refactor the parser {}", "and keep going ".repeat(30));
    let req = CompletionRequest::new(vec![
        Message::system("system prompt"),
        Message::user(long_prompt.clone()),
        Message::assistant("an earlier answer"),
    ]);
    let replay = ReplayProvider::open(&path, openai_id()).unwrap();
    let err = replay.complete(req.clone()).await.unwrap_err();

    let key = request_key(&openai_id(), &req);
    assert_eq!(err.kind, ProviderErrorKind::NotRecorded { request_hash: key.clone() });
    assert!(!err.kind.is_transient());
    let msg = &err.message;
    assert!(msg.contains(&long_prompt[..100]), "quotes the last user message: {msg}");
    assert!(!msg.contains(long_prompt.trim_end()), "quotes only the start of a long message: {msg}");
    assert!(msg.contains(&key), "names the key: {msg}");
    assert!(msg.contains(&path.display().to_string()), "names the cassette: {msg}");
    assert!(msg.contains("1 interaction"), "says how many interactions it holds: {msg}");
}

#[tokio::test]
async fn same_request_to_another_provider_id_is_a_miss() {
    let dir = tempfile::tempdir().unwrap();
    let path = cassette_in(&dir);
    let server = server_with(ok("x")).await;
    RecordingProvider::new(provider_for(&server), &path).unwrap().complete(ask("hi")).await.unwrap();
    let replay = ReplayProvider::open(&path, ProviderId::new("openai:gpt-4o")).unwrap();
    let err = replay.complete(ask("hi")).await.unwrap_err();
    assert!(matches!(err.kind, ProviderErrorKind::NotRecorded { .. }));
}

#[tokio::test]
async fn api_key_sent_to_the_server_never_reaches_the_cassette() {
    let dir = tempfile::tempdir().unwrap();
    let path = cassette_in(&dir);
    let key = "sk-proj-SECRETSECRET0123456789";
    let server = server_with(ok("fine")).await;
    let recorder = RecordingProvider::new(provider_for(&server).with_api_key(Some(key.to_owned())), &path).unwrap();
    recorder.complete(ask("hello")).await.unwrap();

    let received = server.received_requests().await.unwrap();
    let sent = received[0].headers.get("authorization").unwrap().to_str().unwrap();
    assert!(sent.contains(key), "the key did reach the server");
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(!written.contains(key), "cassette leaks the key:\n{written}");
    assert!(!written.contains("SECRETSECRET"), "cassette leaks part of the key:\n{written}");
    assert!(!written.to_ascii_lowercase().contains("authorization"));
}

#[tokio::test]
async fn redacted_strings_never_reach_the_cassette_yet_the_request_still_replays() {
    let dir = tempfile::tempdir().unwrap();
    let path = cassette_in(&dir);
    let server = server_with(ok("the password hunter2 is weak")).await;
    let recorder =
        RecordingProvider::new(provider_for(&server), &path).unwrap().with_redactions(vec!["hunter2".to_owned()]);
    let req = ask("is hunter2 a good password?");
    let live = recorder.complete(req.clone()).await.unwrap();
    assert_eq!(live.content, "the password hunter2 is weak", "the caller gets the real answer");

    let written = std::fs::read_to_string(&path).unwrap();
    assert!(!written.contains("hunter2"), "{written}");
    assert!(written.contains("[REDACTED]"));

    let replay = ReplayProvider::open(&path, openai_id()).unwrap();
    assert_eq!(replay.complete(req).await.unwrap().content, "the password [REDACTED] is weak");
}

#[tokio::test]
async fn repeated_identical_requests_replay_in_recorded_order_then_the_last_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let path = cassette_in(&dir);
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(Counting(AtomicUsize::new(0)))
        .mount(&server)
        .await;
    let recorder = RecordingProvider::new(provider_for(&server), &path).unwrap();
    assert_eq!(recorder.complete(ask("same")).await.unwrap().content, "answer 1");
    assert_eq!(recorder.complete(ask("same")).await.unwrap().content, "answer 2");

    let replay = ReplayProvider::open(&path, openai_id()).unwrap();
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(replay.complete(ask("same")).await.unwrap().content);
    }
    assert_eq!(answers, ["answer 1", "answer 2", "answer 2"]);
}

#[tokio::test]
async fn recorded_error_replays_as_that_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = cassette_in(&dir);
    let body = error_body("Rate limit reached. Please try again in 6ms.", "tokens", Some("rate_limit_exceeded"));
    let server =
        server_with(ResponseTemplate::new(429).insert_header("x-request-id", "req_429").set_body_string(&body)).await;
    let recorder = RecordingProvider::new(provider_for(&server), &path).unwrap();
    let live = recorder.complete(ask("hi")).await.unwrap_err();

    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(written["interactions"][0].get("error").is_some());
    assert!(written["interactions"][0].get("response").is_none());

    let replayed = ReplayProvider::open(&path, openai_id()).unwrap().complete(ask("hi")).await.unwrap_err();
    assert_eq!(replayed.kind, ProviderErrorKind::RateLimited { retry_after_ms: Some(6) });
    assert_eq!(replayed.kind, live.kind);
    assert_eq!(replayed.status, Some(429));
    assert_eq!(replayed.request_id.as_deref(), Some("req_429"));
    assert_eq!(replayed.raw_body.as_deref(), Some(body.as_str()));
}

#[tokio::test]
async fn recording_appends_to_an_existing_cassette() {
    let dir = tempfile::tempdir().unwrap();
    let path = cassette_in(&dir);
    let server = server_with(ok("x")).await;
    RecordingProvider::new(provider_for(&server), &path).unwrap().complete(ask("one")).await.unwrap();
    RecordingProvider::new(provider_for(&server), &path).unwrap().complete(ask("two")).await.unwrap();

    let replay = ReplayProvider::open(&path, openai_id()).unwrap();
    assert_eq!(replay.interaction_count(), 2);
    replay.complete(ask("one")).await.unwrap();
    replay.complete(ask("two")).await.unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary files are left behind");
}

#[test]
fn corrupt_cassette_is_a_parse_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.json");
    std::fs::write(&path, "{\"version\":1,\"interactions\":[{\"key\":").unwrap();
    match ReplayProvider::open(&path, openai_id()) {
        Err(CassetteError::Parse { path: p, .. }) => assert_eq!(p, path),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn cassette_with_a_malformed_interaction_is_a_parse_error_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(&path, r#"{"version":1,"interactions":[{"key":"k","provider":"p","request":{"messages":"no"}}]}"#)
        .unwrap();
    let err = ReplayProvider::open(&path, openai_id()).unwrap_err();
    assert!(matches!(&err, CassetteError::Parse { message, .. } if message.contains("interactions")), "{err}");
}

#[test]
fn cassette_of_another_version_is_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.json");
    std::fs::write(&path, r#"{"version":2,"interactions":[]}"#).unwrap();
    assert!(matches!(
        ReplayProvider::open(&path, openai_id()),
        Err(CassetteError::UnsupportedVersion { version: 2, .. })
    ));
    assert!(matches!(
        RecordingProvider::new(crate::common::provider_for_nowhere(), &path),
        Err(CassetteError::UnsupportedVersion { .. })
    ));
}

#[test]
fn missing_cassette_cannot_be_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let err = ReplayProvider::open(dir.path().join("absent.json"), openai_id()).unwrap_err();
    assert!(matches!(err, CassetteError::Io { .. }), "{err}");
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::System), Just(Role::User), Just(Role::Assistant)]
}

fn messages() -> impl Strategy<Value = Vec<Message>> {
    prop::collection::vec((role(), ".{0,40}"), 1..6)
        .prop_map(|items| items.into_iter().map(|(role, content)| Message::new(role, content)).collect())
}

proptest! {
    #[test]
    fn request_key_is_equal_for_equal_requests(msgs in messages(), max in proptest::option::of(1u32..4096)) {
        let build = |m: Vec<Message>| {
            let req = CompletionRequest::new(m);
            match max { Some(n) => req.with_max_tokens(n), None => req }
        };
        let a = build(msgs.clone());
        let b = build(msgs);
        prop_assert_eq!(request_key(&openai_id(), &a), request_key(&openai_id(), &b));
    }

    #[test]
    fn request_key_differs_when_any_message_content_differs(
        msgs in messages(),
        index in any::<prop::sample::Index>(),
        extra in ".{1,10}",
    ) {
        let original = CompletionRequest::new(msgs.clone());
        let mut changed_msgs = msgs;
        let i = index.index(changed_msgs.len());
        changed_msgs[i].content.push_str(&extra);
        let changed = CompletionRequest::new(changed_msgs);
        prop_assert_ne!(request_key(&openai_id(), &original), request_key(&openai_id(), &changed));
    }
}
