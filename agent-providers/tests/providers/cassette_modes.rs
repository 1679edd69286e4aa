//! Cassettes with streams, replay-or-record, and what the key covers.
//! The inner provider is the `ScriptedProvider` test double, except where HTTP
//! matters (the key test), which uses a wiremock server on loopback.

use crate::common::*;
use crate::layers_support::*;
use agent_core::LlmProvider;
use agent_core::provider::{CompletionRequest, Message, ProviderErrorKind, ProviderId, StreamEvent, ToolSpec};
use agent_providers::layers::ProviderStack;
use agent_providers::{
    RecordingProvider, ReplayOrRecordProvider, ReplayProvider, ScriptedReply, StreamStep, request_key,
};
use std::sync::Arc;

#[tokio::test]
async fn a_recorded_stream_replays_as_the_same_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stream.json");
    let p = scripted(
        "openai:gpt-4.1-mini",
        vec![ScriptedReply::text_stream("openai:gpt-4.1-mini", &["Hel", "lo"], usage(3, 0, 2))],
    );
    let recorder = RecordingProvider::new(dyn_of(&p), &path).unwrap();
    let live: Vec<StreamEvent> =
        drain(recorder.stream(ask("hi")).await.unwrap()).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(live.len(), 3);

    let file: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(file["interactions"][0]["stream"]["events"].as_array().unwrap().len(), 3, "kept as its events");

    let replay = ReplayProvider::open(&path, ProviderId::new("openai:gpt-4.1-mini")).unwrap();
    let replayed: Vec<StreamEvent> =
        drain(replay.stream(ask("hi")).await.unwrap()).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(replayed, live);
    let whole = replay.complete(ask("hi")).await.unwrap();
    assert_eq!(whole.content, "Hello", "complete answers the stream's Done completion");
}

#[tokio::test]
async fn a_stream_that_ended_in_an_error_replays_with_that_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.json");
    let p = scripted(
        "x:m",
        vec![ScriptedReply::stream(vec![
            StreamStep::Event(StreamEvent::Delta { text: "par".into() }),
            StreamStep::Error(ProviderErrorKind::Transport),
        ])],
    );
    let recorder = RecordingProvider::new(dyn_of(&p), &path).unwrap();
    drain(recorder.stream(ask("hi")).await.unwrap()).await;
    let replay = ReplayProvider::open(&path, ProviderId::new("x:m")).unwrap();
    let items = drain(replay.stream(ask("hi")).await.unwrap()).await;
    assert_eq!(text_of(&items), "par");
    assert_eq!(items[1].as_ref().unwrap_err().kind, ProviderErrorKind::Transport);
    assert_eq!(replay.complete(ask("hi")).await.unwrap_err().kind, ProviderErrorKind::Transport);
}

#[tokio::test]
async fn a_cassette_written_before_streams_still_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.json");
    let req = ask("old");
    let key = request_key(&ProviderId::new("openai:gpt-4.1-mini"), &req);
    let old = serde_json::json!({"version": 1, "interactions": [{
        "key": key, "provider": "openai:gpt-4.1-mini", "request": req,
        "response": {"provider": "openai:gpt-4.1-mini", "content": "from an old cassette",
                     "usage": {"input_tokens": 1, "output_tokens": 1}}
    }]});
    std::fs::write(&path, old.to_string()).unwrap();
    let replay = ReplayProvider::open(&path, ProviderId::new("openai:gpt-4.1-mini")).unwrap();
    assert_eq!(replay.complete(req.clone()).await.unwrap().content, "from an old cassette");
    assert_eq!(text_of(&drain(replay.stream(req).await.unwrap()).await), "from an old cassette");
}

#[tokio::test]
async fn replay_or_record_calls_the_provider_on_a_miss_and_replays_the_hit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ror.json");
    let p = scripted(
        "x:m",
        vec![
            ScriptedReply::text("live answer"),
            ScriptedReply::text_stream("x:m", &["live ", "stream"], usage(1, 0, 1)),
            ScriptedReply::text("second prompt"),
        ],
    );
    let ror = ReplayOrRecordProvider::new(dyn_of(&p), &path).unwrap();
    assert_eq!(ror.complete(ask("one")).await.unwrap().content, "live answer", "miss: called");
    assert_eq!(ror.complete(ask("one")).await.unwrap().content, "live answer", "hit: replayed");
    assert_eq!(p.requests().len(), 1);

    let streamed = drain(ror.stream(ask("streamed")).await.unwrap()).await;
    assert_eq!(text_of(&streamed), "live stream");
    assert_eq!(text_of(&drain(ror.stream(ask("streamed")).await.unwrap()).await), "live stream");
    assert_eq!(p.requests().len(), 2);

    // A new process with a provider that has nothing left to say: all hits.
    let empty = scripted("x:m", vec![]);
    let again = ReplayOrRecordProvider::new(dyn_of(&empty), &path).unwrap();
    assert_eq!(again.complete(ask("one")).await.unwrap().content, "live answer");
    assert_eq!(text_of(&drain(again.stream(ask("streamed")).await.unwrap()).await), "live stream");
    assert!(empty.requests().is_empty());
    // And a miss still reaches the provider.
    assert!(again.complete(ask("new")).await.is_err(), "the empty script answers the miss with its error");
    assert_eq!(empty.requests().len(), 1);
}

#[tokio::test]
async fn replay_mode_from_the_builder_reports_a_miss_naming_the_request() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replay.json");
    let p = scripted("x:m", vec![ScriptedReply::text("recorded")]);
    ProviderStack::new(dyn_of(&p)).record(&path).build().unwrap().complete(ask("recorded prompt")).await.unwrap();

    let unused = scripted("x:m", vec![]);
    let replay = ProviderStack::new(dyn_of(&unused)).replay(&path).build().unwrap();
    assert_eq!(replay.complete(ask("recorded prompt")).await.unwrap().content, "recorded");
    let e = replay.complete(ask("something else")).await.unwrap_err();
    assert!(matches!(e.kind, ProviderErrorKind::NotRecorded { .. }));
    assert!(e.message.contains("something else"), "{}", e.message);
    assert!(unused.requests().is_empty(), "replay never calls the provider");
}

#[test]
fn the_key_covers_model_messages_tools_schema_and_parameters() {
    let id = ProviderId::new("openai:gpt-4.1-mini");
    let base = CompletionRequest::new(vec![Message::user("q")]);
    let tool = ToolSpec {
        name: "read_file".into(),
        description: "reads".into(),
        parameters: serde_json::json!({"type": "object"}),
    };
    let other_tool = ToolSpec { description: "reads a file".into(), ..tool.clone() };
    let variants = [
        base.clone().with_tools(vec![tool]),
        base.clone().with_tools(vec![other_tool]),
        base.clone().with_response_format("plan", serde_json::json!({"type": "object"})),
        base.clone().with_response_format("plan", serde_json::json!({"type": "array"})),
        base.clone().with_temperature(0.2),
        base.clone().with_max_tokens(10),
        CompletionRequest::new(vec![Message::system("s"), Message::user("q")]),
    ];
    let mut keys: Vec<String> = variants.iter().map(|r| request_key(&id, r)).collect();
    keys.push(request_key(&id, &base));
    keys.push(request_key(&ProviderId::new("openai:gpt-4o"), &base));
    let unique: std::collections::HashSet<&String> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len(), "every variation changes the key");
}

#[tokio::test]
async fn replay_or_record_never_writes_the_api_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.json");
    let key = "sk-proj-LAYERSECRET0123456789";
    let server = server_with(ok("fine")).await;
    let provider: Arc<dyn LlmProvider> = Arc::new(provider_for(&server).with_api_key(Some(key.to_owned())));
    let stack = ProviderStack::new(provider).replay_or_record(&path).build().unwrap();
    stack.complete(ask("hello")).await.unwrap();
    stack.complete(ask("hello")).await.unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 1, "the second call was a hit");
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(!written.contains("LAYERSECRET") && !written.to_ascii_lowercase().contains("authorization"), "{written}");
}
