//! Requests with content parts (text, images, reasoning, cache breakpoints)
//! through the layers: every layer passes them on unchanged, a cassette keeps
//! them and the reasoning of the answer, and a plain request keeps the key it
//! had before parts existed. Providers are the `ScriptedProvider` test double.

use crate::layers_support::*;
use agent_core::LlmProvider;
use agent_core::budget::Budget;
use agent_core::event::TaskId;
use agent_core::provider::{
    Completion, CompletionRequest, ContentPart, Message, ProviderId, Reasoning, ReasoningEffort, ReasoningRequest,
    Role, StreamEvent, ToolCall,
};
use agent_loop::MemoryJournal;
use agent_providers::layers::{Cascade, CascadeEntry, PriceTable, ProviderStack, RetryPolicy, SharedBudget};
use agent_providers::{ReplayProvider, ScriptedReply, StreamStep, request_key};
use std::sync::Arc;
use std::time::Duration;

/// A request with every kind of part, tool results (one failed), reasoning
/// controls and extra body fields.
fn rich_request() -> CompletionRequest {
    let mut assistant = Message::with_parts(
        Role::Assistant,
        vec![
            ContentPart::Reasoning(
                Reasoning::new("anthropic", "Check the file first.").with_signature(Some("sig-abc".into())),
            ),
            ContentPart::text("Reading it."),
        ],
    );
    assistant.tool_calls = vec![ToolCall::new("call_1", "read_file", r#"{"path":"a.rs"}"#)];
    CompletionRequest::new(vec![
        Message::system("You fix code.").with_cache_breakpoint(),
        Message::with_parts(
            Role::User,
            vec![ContentPart::text("What is wrong here?"), ContentPart::image_bytes("image/png", b"\x89PNG...")],
        ),
        assistant,
        Message::tool_error("call_1", "permission denied"),
        Message::user("Try again.").with_cache_breakpoint(),
    ])
    .with_reasoning(ReasoningRequest::effort(ReasoningEffort::High))
    .with_extra_body("service_tier", serde_json::json!("flex"))
    .with_max_tokens(4_096)
}

#[tokio::test(start_paused = true)]
async fn a_request_with_content_parts_passes_every_layer_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let p = scripted("anthropic:claude-sonnet-4-5", vec![ScriptedReply::text("ok"), ScriptedReply::text("ok")]);
    let member = ProviderStack::new(dyn_of(&p))
        .idle_timeout(Duration::from_secs(60))
        .record(dir.path().join("parts.json"))
        .cost_meter(PriceTable::builtin(), Arc::new(MemoryJournal::default()), TaskId::new("t"))
        .build()
        .unwrap();
    let cascade = Arc::new(Cascade::new(vec![(member, CascadeEntry::new())]));
    let stack = ProviderStack::new(cascade)
        .budget(SharedBudget::new(Budget::unlimited()))
        .retry(RetryPolicy::default())
        .build()
        .unwrap();
    let req = rich_request().with_extra_header("x-trace", "1");
    stack.complete(req.clone()).await.unwrap();
    drain(stack.stream(req.clone()).await.unwrap()).await;
    assert_eq!(p.requests(), [req.clone(), req], "parts, reasoning controls, extra body and headers arrive as sent");
}

#[tokio::test]
async fn a_cassette_keeps_content_parts_and_the_reasoning_of_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reasoning.json");
    let id = ProviderId::new("anthropic:claude-sonnet-4-5");
    let thought = Reasoning::new("anthropic", "Weighing it.").with_signature(Some("sig-xyz".into()));
    let answer = Completion::new(id.clone(), "Done.").with_reasoning(vec![thought.clone()]);
    let p = scripted(
        id.as_str(),
        vec![ScriptedReply::stream(vec![
            StreamStep::Event(StreamEvent::ReasoningDelta { text: "Weighing it.".into() }),
            StreamStep::Event(StreamEvent::Delta { text: "Done.".into() }),
            StreamStep::Event(StreamEvent::Done { completion: answer }),
        ])],
    );
    let recorder = ProviderStack::new(dyn_of(&p)).record(&path).build().unwrap();
    let live = drain(recorder.stream(rich_request()).await.unwrap()).await;

    let replay = ReplayProvider::open(&path, id).unwrap();
    let replayed = drain(replay.stream(rich_request()).await.unwrap()).await;
    assert_eq!(format!("{replayed:?}"), format!("{live:?}"), "the reasoning progress replays too");
    let whole = replay.complete(rich_request()).await.unwrap();
    assert_eq!(whole.reasoning, [thought]);
    let next = Message::from_completion(&whole);
    assert_eq!(next.reasoning().next().and_then(|r| r.signature.as_deref()), Some("sig-xyz"));
}

#[test]
fn a_plain_request_keeps_the_key_it_had_before_content_parts() {
    let id = ProviderId::new("openai:gpt-4.1-mini");
    let plain =
        CompletionRequest::new(vec![Message::system("You are terse."), Message::user("hi")]).with_max_tokens(64);
    // Pinned: the SHA-256 of the canonical JSON a request without parts,
    // reasoning or extra fields had before they existed:
    // {"provider":"openai:gpt-4.1-mini","request":{"max_tokens":64,"messages":[
    //   {"content":"You are terse.","role":"system"},{"content":"hi","role":"user"}]}}
    assert_eq!(request_key(&id, &plain), "f91eaa5bea4b43175c7b71e9a35bb5fe180f1b3181f88554f02434141ec5364c");
    let headers_only = plain.clone().with_extra_header("authorization", "Bearer sk-secret");
    assert_eq!(request_key(&id, &headers_only), request_key(&id, &plain), "headers never reach the key");
    let with_parts = CompletionRequest::new(vec![
        Message::system("You are terse."),
        Message::with_parts(Role::User, vec![ContentPart::text("hi"), ContentPart::CacheBreakpoint]),
    ])
    .with_max_tokens(64);
    assert_ne!(request_key(&id, &with_parts), request_key(&id, &plain), "a part changes the request");
}
