//! Cassettes with streams, replay-or-record, what the key covers, one writer
//! per file with appends, and endpoints. The inner provider is the
//! `ScriptedProvider` test double, except where HTTP matters (the key test),
//! which uses a wiremock server on loopback.

use crate::common::*;
use crate::layers_support::*;
use agent_core::LlmProvider;
use agent_core::provider::{
    Completion, CompletionRequest, Message, ProviderError, ProviderErrorKind, ProviderId, StreamEvent, ToolSpec,
};
use agent_providers::cassette::{Cassette, CassetteWriter, Interaction, RecordedOutcome};
use agent_providers::layers::{Cascade, CascadeEntry, ProviderStack};
use agent_providers::{
    RecordingProvider, ReplayOrRecordProvider, ReplayProvider, ScriptedProvider, ScriptedReply, StreamStep, request_key,
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

// ----- One writer per file, appends, endpoints -----

fn interactions(path: &std::path::Path) -> Vec<serde_json::Value> {
    let file: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    file["interactions"].as_array().unwrap().clone()
}

fn providers_in(path: &std::path::Path) -> Vec<String> {
    interactions(path).iter().map(|i| i["provider"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn two_cascade_members_recording_to_one_file_keep_both_entries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cascade.json");
    let a = scripted("a:one", vec![ScriptedReply::error(ProviderErrorKind::ServerError { status: 500 })]);
    let b = scripted("b:two", vec![ScriptedReply::text("two")]);
    // Both recorders are open before either records (each used to load the
    // empty file, then save only its own call over the other's).
    let member = |p: &Arc<ScriptedProvider>| ProviderStack::new(dyn_of(p)).record(&path).build().unwrap();
    let cascade = Cascade::new(vec![(member(&a), CascadeEntry::new()), (member(&b), CascadeEntry::new())]);
    assert_eq!(cascade.complete(ask("q")).await.unwrap().content, "two");
    assert_eq!(providers_in(&path), ["a:one", "b:two"]);

    let replay = |id: &str| ProviderStack::new(scripted(id, vec![])).replay(&path).build().unwrap();
    let replayed = Cascade::new(vec![(replay("a:one"), CascadeEntry::new()), (replay("b:two"), CascadeEntry::new())]);
    assert_eq!(replayed.complete(ask("q")).await.unwrap().content, "two", "both members replay from the one file");
}

#[tokio::test]
async fn recorders_of_one_file_share_one_writer() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let one = CassetteWriter::shared(dir.path().join("c.json")).unwrap();
    let same = CassetteWriter::shared(dir.path().join("sub/../c.json")).unwrap();
    let other = CassetteWriter::shared(dir.path().join("d.json")).unwrap();
    assert!(Arc::ptr_eq(&one, &same), "one writer per canonical path");
    assert!(!Arc::ptr_eq(&one, &other));
    let own = CassetteWriter::unshared(dir.path().join("c.json")).unwrap();
    assert!(!Arc::ptr_eq(&one, &own));
    assert_eq!(own.path(), one.path());
}

#[tokio::test]
async fn appends_survive_a_second_process_like_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.json");
    let p = scripted("x:m", vec![ScriptedReply::text("first"), ScriptedReply::text("third")]);
    let recorder = RecordingProvider::new(dyn_of(&p), &path).unwrap();
    recorder.complete(ask("one")).await.unwrap();

    // Another process's writer: its own, not the registry's.
    let elsewhere = CassetteWriter::unshared(&path).unwrap();
    let completion = Completion::new(ProviderId::new("y:n"), "second");
    let outside = Interaction::new(ProviderId::new("y:n"), None, ask("two"), RecordedOutcome::Response(completion));
    elsewhere.append(&outside).await.unwrap();

    recorder.complete(ask("three")).await.unwrap();
    assert_eq!(providers_in(&path), ["x:m", "y:n", "x:m"], "nothing recorded by either writer is lost");
    let replay = ReplayProvider::open(&path, ProviderId::new("y:n")).unwrap();
    assert_eq!(replay.complete(ask("two")).await.unwrap().content, "second");
}

#[tokio::test]
async fn an_append_leaves_what_is_written_in_place_and_writes_what_save_would() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pretty.json");
    let p = scripted("x:m", vec![ScriptedReply::text("one"), ScriptedReply::text("two")]);
    let recorder = RecordingProvider::new(dyn_of(&p), &path).unwrap();
    recorder.complete(ask("one")).await.unwrap();
    let before = std::fs::read_to_string(&path).unwrap();
    recorder.complete(ask("two")).await.unwrap();
    let after = std::fs::read_to_string(&path).unwrap();
    let kept = before.trim_end().trim_end_matches('}').trim_end().trim_end_matches(']').trim_end();
    assert!(after.starts_with(kept), "the first interaction is not rewritten");
    let saved = format!("{}\n", serde_json::to_string_pretty(&Cassette::load(&path).unwrap()).unwrap());
    assert_eq!(after, saved, "the file is what Cassette::save writes");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no lock or temporary file is left behind");
}

#[tokio::test]
async fn an_append_to_a_hand_edited_cassette_keeps_every_interaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edited.json");
    let req = ask("old");
    let key = request_key(&ProviderId::new("x:m"), &req);
    // Keys in another order: the end of the file is not `]` then `}`.
    let edited = serde_json::json!({"interactions": [{"key": key, "provider": "x:m", "request": req,
        "response": {"provider": "x:m", "content": "old", "usage": {"input_tokens": 1, "output_tokens": 1}}}]});
    let text = edited.to_string().trim_end_matches('}').to_owned() + ",\"version\":1}";
    std::fs::write(&path, text).unwrap();
    let p = scripted("x:m", vec![ScriptedReply::text("new")]);
    RecordingProvider::new(dyn_of(&p), &path).unwrap().complete(ask("new")).await.unwrap();
    let replay = ReplayProvider::open(&path, ProviderId::new("x:m")).unwrap();
    assert_eq!(replay.complete(ask("old")).await.unwrap().content, "old");
    assert_eq!(replay.complete(ask("new")).await.unwrap().content, "new");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_from_shared_and_unshared_writers_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.json");
    let mut tasks = Vec::new();
    for i in 0..24 {
        let writer =
            if i % 3 == 0 { CassetteWriter::unshared(&path).unwrap() } else { CassetteWriter::shared(&path).unwrap() };
        tasks.push(tokio::spawn(async move {
            let completion = Completion::new(ProviderId::new("x:m"), format!("answer {i}"));
            let interaction = Interaction::new(
                ProviderId::new("x:m"),
                None,
                ask(&format!("q{i}")),
                RecordedOutcome::Response(completion),
            );
            writer.append(&interaction).await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let cassette = Cassette::load(&path).unwrap();
    assert_eq!(cassette.interactions.len(), 24);
    let replay = ReplayProvider::open(&path, ProviderId::new("x:m")).unwrap();
    for i in 0..24 {
        assert_eq!(replay.complete(ask(&format!("q{i}"))).await.unwrap().content, format!("answer {i}"));
    }
}

#[tokio::test]
async fn the_same_request_to_two_endpoints_records_two_entries_and_each_replays_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("endpoints.json");
    let at = |url: &str, answer: &str| {
        Arc::new(ScriptedProvider::new("openai:gpt-4.1-mini", vec![ScriptedReply::text(answer)]).with_endpoint(url))
    };
    let local = at("http://127.0.0.1:8080/v1", "from llama.cpp");
    let hosted = at("https://api.openai.com/v1", "from OpenAI");
    for p in [&local, &hosted] {
        ProviderStack::new(dyn_of(p)).record(&path).build().unwrap().complete(ask("same question")).await.unwrap();
    }
    let recorded = interactions(&path);
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[0]["key"], recorded[1]["key"], "the key is the request's, as before");
    assert_eq!(recorded[0]["endpoint"], "http://127.0.0.1:8080/v1");
    assert_eq!(recorded[1]["endpoint"], "https://api.openai.com/v1");

    // Each replays its own, in any order, strictly and sequentially.
    for (url, answer) in [("https://api.openai.com/v1/", "from OpenAI"), ("http://127.0.0.1:8080/v1", "from llama.cpp")]
    {
        let replay = ProviderStack::new(at(url, "unused")).replay(&path).build().unwrap();
        assert_eq!(replay.complete(ask("same question")).await.unwrap().content, answer, "{url}");
        assert_eq!(replay.complete(ask("same question")).await.unwrap().content, answer, "{url}, again");
        let sequential = ReplayProvider::open(&path, ProviderId::new("openai:gpt-4.1-mini"))
            .unwrap()
            .with_endpoint(Some(url.to_owned()))
            .sequential();
        assert_eq!(sequential.recorded_turns(), 1);
        assert_eq!(sequential.complete(ask("anything")).await.unwrap().content, answer);
    }
    // A third endpoint has no recording; a replay that knows no endpoint sees both.
    let elsewhere = ProviderStack::new(at("http://10.0.0.1/v1", "unused")).replay(&path).build().unwrap();
    assert!(matches!(
        elsewhere.complete(ask("same question")).await.unwrap_err().kind,
        ProviderErrorKind::NotRecorded { .. }
    ));
    let anywhere = ReplayProvider::open(&path, ProviderId::new("openai:gpt-4.1-mini")).unwrap();
    assert_eq!(anywhere.complete(ask("same question")).await.unwrap().content, "from llama.cpp");
    assert_eq!(anywhere.complete(ask("same question")).await.unwrap().content, "from OpenAI");
}

#[tokio::test]
async fn replay_or_record_keys_hits_with_the_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ror-endpoints.json");
    let at = |url: &str, answers: Vec<ScriptedReply>| {
        Arc::new(ScriptedProvider::new("ollama:qwen3", answers).with_endpoint(url))
    };
    let first = at("http://gpu-1:11434", vec![ScriptedReply::text("gpu-1")]);
    let second = at("http://gpu-2:11434", vec![ScriptedReply::text("gpu-2")]);
    let one = ProviderStack::new(dyn_of(&first)).replay_or_record(&path).build().unwrap();
    let two = ProviderStack::new(dyn_of(&second)).replay_or_record(&path).build().unwrap();
    assert_eq!(one.complete(ask("q")).await.unwrap().content, "gpu-1");
    assert_eq!(two.complete(ask("q")).await.unwrap().content, "gpu-2", "another endpoint's recording is a miss");
    assert_eq!(one.complete(ask("q")).await.unwrap().content, "gpu-1", "a hit");
    assert_eq!((first.requests().len(), second.requests().len()), (1, 1));
    assert_eq!(interactions(&path).len(), 2);
}

#[tokio::test]
async fn committed_cassettes_keep_their_keys_and_replay_at_any_endpoint() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["examples/cassettes", "examples/swe/cassettes"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
        files.extend(entries.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "json")));
    }
    assert!(files.len() >= 5, "the committed cassettes are found: {files:?}");
    let mut checked = 0;
    for file in files {
        let cassette = Cassette::load(&file).unwrap();
        for interaction in &cassette.interactions {
            assert!(interaction.endpoint.is_none(), "{}: written before endpoints", file.display());
            assert_eq!(
                request_key(&interaction.provider, &interaction.request),
                interaction.key,
                "{}: the key of a request is unchanged",
                file.display()
            );
            let replay = ReplayProvider::open(&file, interaction.provider.clone())
                .unwrap()
                .with_endpoint(Some("https://api.openai.com/v1".to_owned()));
            assert!(
                !matches!(
                    replay.complete(interaction.request.clone()).await,
                    Err(ProviderError { kind: ProviderErrorKind::NotRecorded { .. }, .. })
                ),
                "{}: an interaction without an endpoint answers any endpoint",
                file.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 10, "{checked} interactions checked");
}
