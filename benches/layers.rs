//! Provider layers, measured against local wiremock servers on loopback:
//!
//! - `quota_to_next`: a [`Cascade`] whose first provider answers 429
//!   `insufficient_quota` and whose second answers 200. Timed: the gap between
//!   the two requests as the servers saw them (timestamps taken in the
//!   responders), and the whole call against a direct call to the second
//!   server. Target: no sleep, gap under 5 ms.
//! - `replay_lookup`: `ReplayProvider::complete` on a 10,000-interaction
//!   cassette (hashing the canonical request, looking it up, cloning the answer).
//! - `stack_overhead`: one completion through the full stack,
//!   `Retry(Budget(Cascade(CostMeter(IdleWatchdog(OpenAiProvider)))))` (a
//!   one-member cascade, as a host with fallbacks builds it), against a bare
//!   `reqwest` POST of the same wire body to the same server, whose answer is
//!   parsed as JSON. The request carries content parts: text, an image
//!   (a 4 KiB PNG, base64), a reasoning block of another wire (with its
//!   signature) and cache breakpoints; the bare call posts the Chat
//!   Completions body for it (text and `image_url` parts). Target: ratio 1.1
//!   or less.
//!
//! ```sh
//! cargo bench --bench layers --all-features
//! ```
//!
//! After criterion's figures, the bench prints medians of interleaved runs
//! and the ratios.
#![allow(missing_docs)] // criterion's macros generate undocumented items
#![allow(clippy::unwrap_used)]

use agentkit::core::budget::Budget;
use agentkit::core::event::{Event, TaskId};
use agentkit::core::journal::JournalError;
use agentkit::core::provider::{CompletionRequest, ContentPart, ImageSource, Message, ProviderId, Reasoning, Role};
use agentkit::core::{Journal, LlmProvider, async_trait};
use agentkit::providers::layers::{Cascade, CascadeEntry, PriceTable, ProviderStack, RetryPolicy, SharedBudget};
use agentkit::providers::{OpenAiProvider, ReplayProvider, request_key};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const MODEL: &str = "gpt-4.1-mini";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

fn chat_body(content: &str) -> serde_json::Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1_741_569_952, "model": "gpt-4.1-mini-2025-04-14",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25,
                  "prompt_tokens_details": {"cached_tokens": 0}}
    })
}

/// Answers with `template` and notes when each request arrived.
struct Stamped {
    template: ResponseTemplate,
    seen: Arc<Mutex<Vec<Instant>>>,
}

impl Respond for Stamped {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.seen.lock().unwrap().push(Instant::now());
        self.template.clone()
    }
}

async fn stamped_server(template: ResponseTemplate) -> (MockServer, Arc<Mutex<Vec<Instant>>>) {
    let server = MockServer::builder().disable_request_recording().start().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("POST")).respond_with(Stamped { template, seen: seen.clone() }).mount(&server).await;
    (server, seen)
}

fn provider(server: &MockServer) -> Arc<dyn LlmProvider> {
    Arc::new(
        OpenAiProvider::new(MODEL).with_base_url(format!("{}/v1", server.uri())).with_timeout(Duration::from_secs(10)),
    )
}

fn ask(text: &str) -> CompletionRequest {
    CompletionRequest::new(vec![Message::user(text)])
}

/// The bytes of the image the parts request carries: a PNG signature and 4 KiB of data.
fn image_bytes() -> Vec<u8> {
    let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    bytes.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    bytes
}

/// A request with content parts: a cached system prompt, an earlier turn
/// with reasoning of another wire, and a question with an image.
fn parts_request() -> CompletionRequest {
    let thought =
        Reasoning::new("anthropic", "The user wants the chart read.").with_signature(Some("sig-bench".into()));
    CompletionRequest::new(vec![
        Message::system("You are a careful coding agent.").with_cache_breakpoint(),
        Message::user("Look at this."),
        Message::with_parts(Role::Assistant, vec![ContentPart::Reasoning(thought), ContentPart::text("Send it.")]),
        Message::with_parts(
            Role::User,
            vec![
                ContentPart::text("What does the chart show?"),
                ContentPart::image_bytes("image/png", &image_bytes()),
                ContentPart::CacheBreakpoint,
            ],
        ),
    ])
    .with_max_tokens(256)
}

/// The Chat Completions body `parts_request` maps to.
fn parts_wire_body() -> serde_json::Value {
    let ContentPart::Image { source: ImageSource::Base64(data), .. } =
        ContentPart::image_bytes("image/png", &image_bytes())
    else {
        unreachable!("bytes are carried as base64")
    };
    json!({"model": MODEL, "max_tokens": 256, "messages": [
        {"role": "system", "content": "You are a careful coding agent."},
        {"role": "user", "content": "Look at this."},
        {"role": "assistant", "content": "Send it."},
        {"role": "user", "content": [
            {"type": "text", "text": "What does the chart show?"},
            {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{data}")}}
        ]}
    ]})
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// A journal that keeps nothing, so the stack's cost is not a growing vector.
struct NullJournal;

#[async_trait]
impl Journal for NullJournal {
    async fn append(&self, _event: Event) -> Result<(), JournalError> {
        Ok(())
    }
    async fn events(&self, _task: &TaskId) -> Result<Vec<Event>, JournalError> {
        Ok(Vec::new())
    }
}

fn quota_to_next(c: &mut Criterion) {
    let rt = runtime();
    let quota_body = json!({"error": {"message": "You exceeded your current quota", "type": "insufficient_quota",
                                      "param": null, "code": "insufficient_quota"}});
    let (first, first_seen) = rt.block_on(stamped_server(ResponseTemplate::new(429).set_body_json(quota_body)));
    let (second, second_seen) = rt.block_on(stamped_server(ResponseTemplate::new(200).set_body_json(chat_body("ok"))));
    let (a, b) = (provider(&first), provider(&second));
    // A new cascade per call: the first provider is exhausted for the life of a cascade.
    let cascade = || Cascade::new(vec![(a.clone(), CascadeEntry::new()), (b.clone(), CascadeEntry::new())]);

    let mut group = c.benchmark_group("quota_to_next");
    group.bench_function("cascade_quota_then_second", |bench| {
        bench.iter(|| rt.block_on(cascade().complete(ask("q"))).unwrap())
    });
    group.bench_function("direct_second", |bench| bench.iter(|| rt.block_on(b.complete(ask("q"))).unwrap()));
    group.finish();

    first_seen.lock().unwrap().clear();
    second_seen.lock().unwrap().clear();
    let (mut gaps, mut whole, mut direct) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..300 {
        let start = Instant::now();
        let answer = rt.block_on(cascade().complete(ask("q"))).unwrap();
        whole.push(start.elapsed());
        assert_eq!(answer.provider.as_str(), format!("openai:{MODEL}"));
        let t1 = first_seen.lock().unwrap().pop().unwrap();
        let t2 = second_seen.lock().unwrap().pop().unwrap();
        gaps.push(t2 - t1);
        let start = Instant::now();
        rt.block_on(b.complete(ask("q"))).unwrap();
        direct.push(start.elapsed());
        second_seen.lock().unwrap().clear();
    }
    let (gap, whole, direct) = (median(&mut gaps), median(&mut whole), median(&mut direct));
    println!("quota_to_next, medians of 300 interleaved runs:");
    println!("  request-to-request gap (429 insufficient_quota → next provider's request) {gap:?}");
    println!(
        "  whole cascade call {whole:?}, direct call to the second {direct:?}, difference {:?}",
        whole.saturating_sub(direct)
    );
}

fn replay_lookup(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.json");
    let id = ProviderId::new(format!("openai:{MODEL}"));
    let requests: Vec<CompletionRequest> = (0..10_000)
        .map(|i| {
            CompletionRequest::new(vec![
                Message::system("You are a careful coding agent. Answer with a plan."),
                Message::user(format!("request {i}: fix the failing test in src/module_{i}.rs")),
            ])
            .with_max_tokens(1024)
        })
        .collect();
    let interactions: Vec<serde_json::Value> = requests
        .iter()
        .enumerate()
        .map(|(i, r)| {
            json!({"key": request_key(&id, r), "provider": id, "request": r,
                   "response": {"provider": id, "content": format!("answer {i}"),
                                "usage": {"input_tokens": 40, "output_tokens": 12}}})
        })
        .collect();
    std::fs::write(&path, json!({"version": 1, "interactions": interactions}).to_string()).unwrap();
    let replay = ReplayProvider::open(&path, id).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();

    let mut i = 0usize;
    c.bench_function("replay_lookup_10k", |bench| {
        bench.iter(|| {
            i = (i + 7919) % requests.len();
            rt.block_on(replay.complete(requests[i].clone())).unwrap()
        })
    });

    let n = 100_000;
    let start = Instant::now();
    for k in 0..n {
        rt.block_on(replay.complete(requests[(k * 7919) % requests.len()].clone())).unwrap();
    }
    let took = start.elapsed();
    println!(
        "replay_lookup: {n} look-ups on a 10,000-interaction cassette in {took:?}: {:.0} look-ups/s",
        n as f64 / took.as_secs_f64()
    );
}

fn stack_overhead(c: &mut Criterion) {
    let rt = runtime();
    let server = rt.block_on(async {
        let server = MockServer::builder().disable_request_recording().start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(chat_body("ok")))
            .mount(&server)
            .await;
        server
    });
    let bare = provider(&server);
    let member = ProviderStack::new(bare.clone())
        .idle_timeout(Duration::from_secs(120))
        .cost_meter(PriceTable::builtin(), Arc::new(NullJournal), TaskId::new("bench"))
        .build()
        .unwrap();
    let cascade = Arc::new(Cascade::new(vec![(member, CascadeEntry::new())]));
    let stack = ProviderStack::new(cascade)
        .budget(SharedBudget::new(Budget::unlimited()))
        .retry(RetryPolicy::default())
        .build()
        .unwrap();
    let client = reqwest::Client::new();
    let url = format!("{}/v1/chat/completions", server.uri());
    let body = parts_wire_body();
    // The bare call carries the same total timeout as the provider's
    // `complete` (a call without one can hang forever).
    let reqwest_call = || async {
        let resp = client.post(&url).timeout(Duration::from_secs(300)).json(&body).send().await.unwrap();
        resp.json::<serde_json::Value>().await.unwrap()
    };
    let req = parts_request();

    let mut group = c.benchmark_group("stack_overhead");
    group.bench_function("bare_reqwest", |bench| bench.iter(|| rt.block_on(reqwest_call())));
    group.bench_function("openai_provider", |bench| bench.iter(|| rt.block_on(bare.complete(req.clone())).unwrap()));
    group.bench_function("full_stack", |bench| bench.iter(|| rt.block_on(stack.complete(req.clone())).unwrap()));
    group.finish();

    let (mut raw, mut prov, mut full) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3_000 {
        let start = Instant::now();
        rt.block_on(reqwest_call());
        raw.push(start.elapsed());
        let start = Instant::now();
        rt.block_on(bare.complete(req.clone())).unwrap();
        prov.push(start.elapsed());
        let start = Instant::now();
        rt.block_on(stack.complete(req.clone())).unwrap();
        full.push(start.elapsed());
    }
    let (raw, prov, full) = (median(&mut raw), median(&mut prov), median(&mut full));
    let ratio = |d: Duration| d.as_secs_f64() / raw.as_secs_f64();
    println!("stack_overhead (content parts: text, 4 KiB image, reasoning, cache breakpoints),");
    println!("medians of 3,000 interleaved calls to the same loopback server:");
    println!("  bare reqwest POST (300 s timeout) + JSON parse     {raw:?}");
    println!("  OpenAiProvider                                     {prov:?}  ratio {:.3}", ratio(prov));
    println!(
        "  Retry+Budget+Cascade+CostMeter+IdleWatchdog        {full:?}  ratio {:.3} (stack/provider {:.3}; target 1.1)",
        ratio(full),
        full.as_secs_f64() / prov.as_secs_f64()
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = quota_to_next, replay_lookup, stack_overhead
}
criterion_main!(benches);
