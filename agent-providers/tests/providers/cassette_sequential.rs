//! Sequential replay: calls are matched to recordings by position, and a
//! request that differs from its recording is answered and reported. The
//! recordings are made over the `ScriptedProvider` test double (feature
//! `test-utils`), never a real model.

use crate::layers_support::*;
use agent_core::LlmProvider;
use agent_core::provider::{CompletionRequest, Message, ProviderErrorKind, ProviderId, StreamEvent, ToolCall};
use agent_providers::layers::{AttemptOutcome, Cascade, CascadeEntry, ProviderStack};
use agent_providers::{
    RecordingProvider, ReplayMatch, ReplayMismatchLog, ReplayProvider, ScriptedReply, StreamStep, request_key,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const ID: &str = "openai:gpt-4.1-mini";

/// What the recording machine's tools said.
const RUSTC_THEN: &str = "error[E0308]: mismatched types\n --> src/stats.rs:12:5\n  |\n12 |     total / count\n  |     ^^^^^^^^^^^^^ expected `f64`, found `usize`";
const PYTEST_THEN: &str = "FAILED tests/test_stats.py::test_mean - assert 2 == 2.5";
const GO_THEN: &str = "--- FAIL: TestMean (0.00s)\n    stats_test.go:9: got 2, want 2.5";
/// What a newcomer's tools say instead.
const PYTEST_NOW: &str = "FAILED tests/test_stats.py::test_mean - AssertionError: assert 2 == 2.5";
const GO_NOW: &str = "--- FAIL: TestMean (0.01s)\n    stats_test.go:9: got 2, want 2.5";

/// The request of one agent turn: the task, then one tool call and its observation per earlier turn.
fn turn(observations: &[&str]) -> CompletionRequest {
    let mut messages =
        vec![Message::system("You fix code until the tests pass."), Message::user("make the tests pass")];
    for (i, observation) in observations.iter().enumerate() {
        let call = format!("call_{i}");
        messages.push(Message::assistant_tool_calls("", vec![ToolCall::new(call.clone(), "run_tests", "{}")]));
        messages.push(Message::tool_result(call, *observation));
    }
    CompletionRequest::new(messages)
}

/// The four turns of the recorded task.
fn recorded_turns() -> Vec<CompletionRequest> {
    vec![turn(&[]), turn(&[RUSTC_THEN]), turn(&[RUSTC_THEN, PYTEST_THEN]), turn(&[RUSTC_THEN, PYTEST_THEN, GO_THEN])]
}

/// The same task on a machine whose pytest and go word their failures differently.
fn newcomer_turns() -> Vec<CompletionRequest> {
    vec![turn(&[]), turn(&[RUSTC_THEN]), turn(&[RUSTC_THEN, PYTEST_NOW]), turn(&[RUSTC_THEN, PYTEST_NOW, GO_NOW])]
}

fn id() -> ProviderId {
    ProviderId::new(ID)
}

/// Records `requests` (completions) into `path`, one scripted answer each.
async fn record_task(path: &Path, provider: &str, requests: &[CompletionRequest], answers: &[&str]) {
    let p = scripted(provider, answers.iter().map(|a| ScriptedReply::text(*a)).collect());
    let recorder = RecordingProvider::new(dyn_of(&p), path).unwrap();
    for req in requests {
        recorder.complete(req.clone()).await.unwrap();
    }
}

fn cassette(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("task.json")
}

#[tokio::test]
async fn sequential_replay_answers_changed_requests_in_recorded_order_and_reports_the_changed_turns() {
    let dir = tempfile::tempdir().unwrap();
    let path = cassette(&dir);
    record_task(&path, ID, &recorded_turns(), &["run the tests", "fix the cast", "fix the mean", "done"]).await;

    let replay = ReplayProvider::open(&path, id()).unwrap().sequential();
    assert_eq!(replay.match_mode(), ReplayMatch::Sequential);
    let mut answers = Vec::new();
    for req in newcomer_turns() {
        answers.push(replay.complete(req).await.unwrap().content);
    }
    assert_eq!(answers, ["run the tests", "fix the cast", "fix the mean", "done"]);

    let mismatches = replay.mismatches();
    assert_eq!(replay.mismatch_count(), 2);
    assert_eq!(mismatches.iter().map(|m| m.turn).collect::<Vec<_>>(), [3, 4], "turns 1 and 2 match");
    let (recorded, actual) = (recorded_turns(), newcomer_turns());
    for m in &mismatches {
        assert_eq!(m.provider, id());
        assert_eq!(m.recorded_key, request_key(&id(), &recorded[m.turn - 1]));
        assert_eq!(m.actual_key, request_key(&id(), &actual[m.turn - 1]));
        let d = m.difference.as_ref().unwrap();
        assert_eq!(d.path, "messages[5].content", "the pytest observation is the first difference");
        assert_eq!(d.message_index, Some(5));
        assert_eq!(d.offset, Some("FAILED tests/test_stats.py::test_mean - A".len() - 1));
        assert_eq!(d.recorded.as_deref(), Some(PYTEST_THEN));
        assert_eq!(d.actual.as_deref(), Some(PYTEST_NOW));
        let text = m.to_string();
        assert!(text.contains(&format!("turn {}", m.turn)) && text.contains("messages[5].content"), "{text}");
        assert!(text.contains("AssertionError"), "quotes the actual text: {text}");
    }
}

#[tokio::test]
async fn strict_replay_misses_the_requests_that_sequential_replay_answers() {
    let dir = tempfile::tempdir().unwrap();
    let path = cassette(&dir);
    record_task(&path, ID, &recorded_turns(), &["a1", "a2", "a3", "a4"]).await;

    let strict = ReplayProvider::open(&path, id()).unwrap();
    assert_eq!(strict.match_mode(), ReplayMatch::Strict, "strict is the default");
    let outcomes: Vec<Option<ProviderErrorKind>> = {
        let mut v = Vec::new();
        for req in newcomer_turns() {
            v.push(strict.complete(req).await.err().map(|e| e.kind));
        }
        v
    };
    assert!(outcomes[0].is_none() && outcomes[1].is_none(), "unchanged turns hit: {outcomes:?}");
    for (i, outcome) in outcomes.iter().enumerate().skip(2) {
        let key = request_key(&id(), &newcomer_turns()[i]);
        assert_eq!(outcome, &Some(ProviderErrorKind::NotRecorded { request_hash: key }), "turn {}", i + 1);
    }
    assert!(strict.mismatches().is_empty(), "strict mode fails, it does not report");

    let sequential = ReplayProvider::open(&path, id()).unwrap().with_match(ReplayMatch::Sequential);
    for req in newcomer_turns() {
        sequential.complete(req).await.unwrap();
    }
}

#[tokio::test]
async fn sequential_replay_reports_no_mismatch_when_every_request_is_as_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let path = cassette(&dir);
    record_task(&path, ID, &recorded_turns(), &["a1", "a2", "a3", "a4"]).await;
    let replay = ReplayProvider::open(&path, id()).unwrap().sequential();
    for req in recorded_turns() {
        replay.complete(req).await.unwrap();
    }
    assert!(replay.mismatches().is_empty());
    assert_eq!(replay.recorded_turns(), 4);
}

#[tokio::test]
async fn sequential_replay_past_the_last_recording_is_not_recorded_and_says_how_many_were() {
    let dir = tempfile::tempdir().unwrap();
    let path = cassette(&dir);
    record_task(&path, ID, &recorded_turns()[..2], &["a1", "a2"]).await;

    let replay = ReplayProvider::open(&path, id()).unwrap().sequential();
    replay.complete(turn(&[])).await.unwrap();
    replay.complete(turn(&["anything"])).await.unwrap();
    let extra = turn(&["anything", "a third turn"]);
    let err = replay.complete(extra.clone()).await.unwrap_err();
    assert_eq!(err.kind, ProviderErrorKind::NotRecorded { request_hash: request_key(&id(), &extra) });
    assert!(err.message.contains("2 interactions were recorded"), "{}", err.message);
    assert!(err.message.contains("call 3"), "{}", err.message);
    assert!(err.message.contains(&path.display().to_string()), "{}", err.message);
    let err = replay.stream(extra).await.err().unwrap();
    assert!(matches!(err.kind, ProviderErrorKind::NotRecorded { .. }), "and stays past the end");
    assert!(err.message.contains("call 4"), "{}", err.message);
}

#[tokio::test]
async fn sequential_replay_replays_a_recorded_stream_as_a_stream_and_an_error_as_that_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = cassette(&dir);
    let p = scripted(
        ID,
        vec![
            ScriptedReply::text_stream(ID, &["run ", "the tests"], usage(5, 0, 3)),
            ScriptedReply::error(ProviderErrorKind::RateLimited { retry_after_ms: Some(7) }),
            ScriptedReply::stream(vec![
                StreamStep::Event(StreamEvent::Delta { text: "half".into() }),
                StreamStep::Error(ProviderErrorKind::Transport),
            ]),
        ],
    );
    let recorder = RecordingProvider::new(dyn_of(&p), &path).unwrap();
    let live: Vec<StreamEvent> =
        drain(recorder.stream(turn(&[])).await.unwrap()).await.into_iter().map(Result::unwrap).collect();
    assert!(recorder.complete(turn(&[RUSTC_THEN])).await.is_err());
    let live_broken = drain(recorder.stream(turn(&[RUSTC_THEN, PYTEST_THEN])).await.unwrap()).await;
    assert!(live_broken[1].is_err());

    let replay = ReplayProvider::open(&path, id()).unwrap().sequential();
    let replayed: Vec<StreamEvent> = drain(replay.stream(turn(&["a different first turn"])).await.unwrap())
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(replayed, live, "the same events, in order");
    let err = replay.complete(turn(&[RUSTC_THEN])).await.unwrap_err();
    assert_eq!(err.kind, ProviderErrorKind::RateLimited { retry_after_ms: Some(7) });
    let broken = drain(replay.stream(turn(&[RUSTC_THEN, PYTEST_NOW])).await.unwrap()).await;
    assert_eq!(text_of(&broken), "half");
    assert_eq!(broken[1].as_ref().unwrap_err().kind, ProviderErrorKind::Transport);
    assert_eq!(replay.mismatches().iter().map(|m| m.turn).collect::<Vec<_>>(), [1, 3]);
}

#[tokio::test]
async fn sequential_replay_answers_complete_from_a_recorded_stream_and_counts_both_kinds_of_call() {
    let dir = tempfile::tempdir().unwrap();
    let path = cassette(&dir);
    let p = scripted(
        ID,
        vec![ScriptedReply::text_stream(ID, &["stre", "amed"], usage(1, 0, 1)), ScriptedReply::text("whole")],
    );
    let recorder = RecordingProvider::new(dyn_of(&p), &path).unwrap();
    drain(recorder.stream(turn(&[])).await.unwrap()).await;
    recorder.complete(turn(&[RUSTC_THEN])).await.unwrap();

    let replay = ReplayProvider::open(&path, id()).unwrap().sequential();
    assert_eq!(replay.complete(turn(&[])).await.unwrap().content, "streamed");
    assert_eq!(text_of(&drain(replay.stream(turn(&[RUSTC_THEN])).await.unwrap()).await), "whole");
}

#[tokio::test]
async fn two_provider_ids_in_one_cassette_keep_separate_sequences() {
    let dir = tempfile::tempdir().unwrap();
    let path = cassette(&dir);
    // Interleaved: A1, B1, A2, B2 (each recorder appends to the file).
    record_task(&path, "openai:gpt-4.1-mini", &[turn(&[])], &["A1"]).await;
    record_task(&path, "anthropic:claude-sonnet-4", &[turn(&[])], &["B1"]).await;
    record_task(&path, "openai:gpt-4.1-mini", &[turn(&[PYTEST_THEN])], &["A2"]).await;
    record_task(&path, "anthropic:claude-sonnet-4", &[turn(&[GO_THEN])], &["B2"]).await;

    let a = ReplayProvider::open(&path, ProviderId::new("openai:gpt-4.1-mini")).unwrap().sequential();
    let b = ReplayProvider::open(&path, ProviderId::new("anthropic:claude-sonnet-4")).unwrap().sequential();
    assert_eq!((a.interaction_count(), a.recorded_turns(), b.recorded_turns()), (4, 2, 2));
    assert_eq!(b.complete(turn(&[])).await.unwrap().content, "B1");
    assert_eq!(a.complete(turn(&[])).await.unwrap().content, "A1");
    assert_eq!(a.complete(turn(&[PYTEST_NOW])).await.unwrap().content, "A2");
    assert_eq!(b.complete(turn(&[GO_THEN])).await.unwrap().content, "B2");
    let answer = b.complete(turn(&[GO_THEN, "more"])).await.unwrap_err();
    assert!(
        answer.message.contains("2 interactions were recorded for anthropic:claude-sonnet-4"),
        "{}",
        answer.message
    );
    assert_eq!(a.mismatches().iter().map(|m| m.turn).collect::<Vec<_>>(), [2]);
    assert!(b.mismatches().is_empty());
}

#[tokio::test]
async fn a_cascade_of_sequential_replays_moves_on_when_a_provider_has_no_recording_left() {
    let dir = tempfile::tempdir().unwrap();
    let path = cassette(&dir);
    record_task(&path, "openai:gpt-4.1-mini", &[turn(&[])], &["A1"]).await;
    record_task(&path, "openai:gpt-4o", &recorded_turns()[1..3], &["B1", "B2"]).await;

    let log = ReplayMismatchLog::new();
    let member = |id: &str| {
        let unused = scripted(id, vec![]);
        let stack = ProviderStack::new(dyn_of(&unused))
            .replay_with(&path, ReplayMatch::Sequential)
            .replay_mismatch_log(log.clone())
            .build()
            .unwrap();
        (stack, CascadeEntry::new())
    };
    let cascade = Arc::new(Cascade::new(vec![member("openai:gpt-4.1-mini"), member("openai:gpt-4o")]));

    let newcomer = newcomer_turns();
    let (first, attempts) = cascade.complete_with_attempts(newcomer[0].clone()).await;
    assert_eq!(first.unwrap().content, "A1");
    assert_eq!(attempts.len(), 1);
    let (second, attempts) = cascade.complete_with_attempts(newcomer[1].clone()).await;
    assert_eq!(second.unwrap().content, "B1");
    assert!(matches!(attempts[0].outcome, AttemptOutcome::Failed(ProviderErrorKind::NotRecorded { .. })));
    assert_eq!(attempts[1].outcome, AttemptOutcome::Answered);
    let third = drain(cascade.stream(newcomer[2].clone()).await.unwrap()).await;
    assert_eq!(text_of(&third), "B2");
    let past_the_end = cascade.complete(newcomer[3].clone()).await.unwrap_err();
    assert!(matches!(past_the_end.kind, ProviderErrorKind::NotRecorded { .. }), "{past_the_end}");

    let mismatches = log.mismatches();
    assert_eq!(mismatches.len(), 1, "{mismatches:?}");
    assert_eq!((mismatches[0].provider.as_str(), mismatches[0].turn), ("openai:gpt-4o", 2));
}

#[tokio::test]
async fn the_stack_replays_strictly_unless_asked_for_sequential() {
    let dir = tempfile::tempdir().unwrap();
    let path = cassette(&dir);
    record_task(&path, ID, &recorded_turns()[..3], &["a1", "a2", "a3"]).await;
    let unused = scripted(ID, vec![]);
    let strict = ProviderStack::new(dyn_of(&unused)).replay(&path).build().unwrap();
    let err = strict.complete(newcomer_turns()[2].clone()).await.unwrap_err();
    assert!(matches!(err.kind, ProviderErrorKind::NotRecorded { .. }));

    let sequential =
        ProviderStack::new(dyn_of(&unused)).replay_with(&path, "sequential".parse().unwrap()).build().unwrap();
    for (req, want) in newcomer_turns().into_iter().zip(["a1", "a2", "a3"]) {
        assert_eq!(sequential.complete(req).await.unwrap().content, want);
    }
    assert!(unused.requests().is_empty(), "replay never calls the provider");
}
