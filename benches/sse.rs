//! Streaming throughput of the OpenAI SSE path: decoding `text/event-stream`
//! bytes (eventsource-stream) and assembling text and tool-call deltas
//! (`agent_providers::openai::stream::Assembler`), against the floor a user's
//! own loop would pay for the same bytes: `serde_json::from_str` of each
//! `data:` line into a `serde_json::Value`, with no assembly.
//!
//! The body is generated: about 4 MiB of `chat.completion.chunk` events, some
//! text, then eight tool calls whose arguments arrive in 16-byte fragments
//! interleaved by `index`, `: ping` keep-alives, the usage chunk and `[DONE]`.
//! The decoder is fed in 16 KiB pieces (a TLS record at most).
//!
//! ```sh
//! cargo bench --bench sse
//! ```
//!
//! After criterion's figures (throughput in MiB/s), the bench prints MB/s
//! and the ratio to the baseline from the medians of 30 interleaved runs.
#![allow(missing_docs)] // criterion's macros generate undocumented items

use agentkit::core::provider::{ProviderError, StreamEvent};
use agentkit::providers::openai::stream::{Assembler, sse_completion_stream};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use serde_json::json;
use std::hint::black_box;
use std::time::{Duration, Instant};

const CALLS: usize = 8;
const FRAGMENT: usize = 16;
const FEED: usize = 16 * 1024;

fn chunk(delta: serde_json::Value, finish: Option<&str>) -> String {
    json!({
        "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1_741_569_952,
        "model": "gpt-4.1-mini-2025-04-14", "system_fingerprint": "fp_6f2eabb9a5",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]
    })
    .to_string()
}

/// An SSE body of about `target` bytes, and the number of tool-call deltas in it.
fn body(target: usize) -> (String, usize) {
    let mut out = String::with_capacity(target + 4096);
    let push = |out: &mut String, data: String| {
        out.push_str("data: ");
        out.push_str(&data);
        out.push_str("\n\n");
    };
    push(&mut out, chunk(json!({"role": "assistant", "content": ""}), None));
    for i in 0..200 {
        push(&mut out, chunk(json!({"content": format!("word{i} ")}), None));
    }
    for index in 0..CALLS {
        let call = json!([{"index": index, "id": format!("call_{index}"), "type": "function",
            "function": {"name": "write_file", "arguments": ""}}]);
        push(&mut out, chunk(json!({"tool_calls": call}), None));
    }
    // Each call's arguments: {"path":"src/fileN.rs","content":"<a long string>"}.
    let mut deltas = 0;
    let mut arguments: Vec<String> =
        (0..CALLS).map(|i| format!("{{\"path\":\"src/file{i}.rs\",\"content\":\"")).collect();
    let mut offsets = [0usize; CALLS];
    let filler = "fn main() { println!(\\\"hello, world\\\"); } // ünïcode ✓ ";
    let mut round = 0;
    while out.len() < target {
        for index in 0..CALLS {
            while arguments[index].len() < offsets[index] + FRAGMENT {
                arguments[index].push_str(filler);
            }
            let mut end = offsets[index] + FRAGMENT;
            while !arguments[index].is_char_boundary(end) {
                end += 1;
            }
            let fragment = &arguments[index][offsets[index]..end];
            offsets[index] = end;
            let call = json!([{"index": index, "function": {"arguments": fragment}}]);
            push(&mut out, chunk(json!({"tool_calls": call}), None));
            deltas += 1;
        }
        round += 1;
        if round % 64 == 0 {
            out.push_str(": ping\n\n");
        }
    }
    for index in 0..CALLS {
        // Close each call's JSON where its fragments stopped; a cut escape is dropped.
        let mut rest = String::new();
        if arguments[index][..offsets[index]].ends_with('\\') {
            rest.push('\\');
        }
        rest.push_str("\"}");
        let call = json!([{"index": index, "function": {"arguments": rest}}]);
        push(&mut out, chunk(json!({"tool_calls": call}), None));
        deltas += 1;
    }
    push(&mut out, chunk(json!({}), Some("tool_calls")));
    push(
        &mut out,
        json!({"id": "chatcmpl-bench", "object": "chat.completion.chunk", "choices": [],
            "usage": {"prompt_tokens": 1000, "completion_tokens": 500000}})
        .to_string(),
    );
    out.push_str("data: [DONE]\n\n");
    (out, deltas)
}

/// Decodes and assembles the body fed in `FEED`-byte pieces; returns the number of events.
fn ours(pieces: &'static [&'static [u8]]) -> usize {
    let asm = Assembler::new("openai:gpt-4.1-mini".into(), "gpt-4.1-mini");
    let bytes = futures::stream::iter(pieces.iter().copied().map(Ok::<_, ProviderError>));
    futures::executor::block_on(sse_completion_stream(asm, bytes).fold(0, |n, item| {
        let event = item.expect("the generated stream is well formed");
        if let StreamEvent::Done { completion } = &event {
            assert_eq!(completion.tool_calls.len(), CALLS);
            black_box(completion);
        }
        async move { n + 1 }
    }))
}

/// The assembler alone over pre-split `data` payloads (no SSE decoding).
fn assembler_only(data: &[&str]) -> usize {
    let mut asm = Assembler::new("openai:gpt-4.1-mini".into(), "gpt-4.1-mini");
    let mut events = Vec::with_capacity(4);
    let mut n = 0;
    for d in data {
        asm.push_data(d, &mut events).expect("well formed");
        n += events.len();
        black_box(&events);
        events.clear();
    }
    n
}

/// The floor: each `data:` line parsed into a `serde_json::Value`, nothing assembled.
fn baseline(body: &str) -> usize {
    let mut n = 0;
    for line in body.lines() {
        if let Some(data) = line.strip_prefix("data: ") {
            if data != "[DONE]" {
                let value: serde_json::Value = serde_json::from_str(data).expect("JSON");
                black_box(value);
                n += 1;
            }
        }
    }
    n
}

fn sse(c: &mut Criterion) {
    let (text, deltas) = body(4 << 20);
    let text: &'static str = Box::leak(text.into_boxed_str());
    let pieces: &'static [&'static [u8]] = Vec::leak(text.as_bytes().chunks(FEED).collect());
    let data: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
    let size = text.len();
    println!("body: {size} bytes, {} data events, {deltas} tool-call deltas over {CALLS} calls", data.len());

    let mut group = c.benchmark_group("sse_4MiB");
    group.sample_size(20).measurement_time(Duration::from_secs(10)).throughput(Throughput::Bytes(size as u64));
    group.bench_function("decode_and_assemble", |b| b.iter(|| ours(pieces)));
    group.bench_function("assemble_only", |b| b.iter(|| assembler_only(&data)));
    group.bench_function("baseline_serde_json_value_per_line", |b| b.iter(|| baseline(text)));
    group.finish();

    // The headline ratio: medians of interleaved runs.
    let (mut a, mut o, mut f) = (Vec::new(), Vec::new(), Vec::new());
    let time = |f: &mut dyn FnMut() -> usize| {
        let start = Instant::now();
        black_box(f());
        start.elapsed()
    };
    for _ in 0..30 {
        a.push(time(&mut || ours(pieces)));
        o.push(time(&mut || assembler_only(&data)));
        f.push(time(&mut || baseline(text)));
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (a, o, f) = (median(&mut a), median(&mut o), median(&mut f));
    let mbs = |d: Duration| size as f64 / 1e6 / d.as_secs_f64();
    println!("SSE body of {size} bytes, medians of 30 interleaved runs:");
    println!("  serde_json::Value per data line (baseline) {f:?}  {:.0} MB/s  1.00x", mbs(f));
    println!(
        "  Assembler over data payloads              {o:?}  {:.0} MB/s  {:.2}x",
        mbs(o),
        o.as_secs_f64() / f.as_secs_f64()
    );
    println!(
        "  SSE decode + Assembler (16 KiB feed)      {a:?}  {:.0} MB/s  {:.2}x",
        mbs(a),
        a.as_secs_f64() / f.as_secs_f64()
    );
}

criterion_group!(benches, sse);
criterion_main!(benches);
