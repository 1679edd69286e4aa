//! Streamed Chat Completions: SSE decoding and the [`Assembler`] that turns
//! `data:` events into [`StreamEvent`]s and one whole [`Completion`].
//!
//! The assembler is pure (no I/O), so it can be driven by a test or a
//! benchmark as well as by [`OpenAiProvider::stream`](super::OpenAiProvider):
//!
//! ```
//! use agent_core::provider::StreamEvent;
//! use agent_providers::openai::stream::Assembler;
//!
//! let mut asm = Assembler::new("openai:gpt-4.1-mini".into(), "gpt-4.1-mini");
//! let mut events = Vec::new();
//! for data in [
//!     r#"{"choices":[{"index":0,"delta":{"content":"Hel"}}]}"#,
//!     r#"{"choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}"#,
//!     r#"{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2}}"#,
//!     "[DONE]",
//! ] {
//!     asm.push_data(data, &mut events).unwrap();
//! }
//! assert!(asm.is_done());
//! let Some(StreamEvent::Done { completion }) = events.last() else { panic!() };
//! assert_eq!(completion.content, "Hello");
//! assert_eq!(completion.usage.output_tokens, 2);
//! ```
//!
//! Tool calls are assembled by `index` and tolerate what real gateways send:
//! arguments as a JSON object instead of a string (serialized; a whole value
//! replaces earlier fragments), the id only in the first piece, the whole
//! call in one piece, several calls interleaved, a missing `index` (matched by
//! id, else the last call). Argument fragments are only appended, never parsed
//! per piece; empty arguments become `{}` at the end. Only choice 0 is
//! assembled; `refusal` text is streamed and kept as content, as in `complete`.
//!
//! A stream without a usage chunk gets an estimated [`Usage`] (counted with
//! the process's tokenizer, see [`usage_estimate`](crate::usage_estimate);
//! the prompt from [`Assembler::with_prompt`]) marked [`Usage::estimated`],
//! never a count of 0.

use super::error;
use super::wire::{self, Arguments, ChatChunk, ToolCallPiece};
use crate::pricing;
use crate::usage_estimate::{PromptEstimate, estimated_usage};
use agent_core::provider::{
    Completion, CompletionStream, FinishReason, ProviderError, ProviderErrorKind, ProviderId, Reasoning, StreamEvent,
    ToolCall, Usage,
};
use eventsource_stream::{EventStreamError, Eventsource};
use futures::{Stream, StreamExt};
use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

/// A tool call being assembled.
#[derive(Debug)]
struct PartialCall {
    /// The index this call is reported under (the wire index unless it clashed).
    index: u32,
    /// The `index` the server used for it, if any.
    wire_index: Option<u32>,
    id: Option<String>,
    name: String,
    arguments: String,
}

/// Turns the `data:` payloads of a Chat Completions stream into
/// [`StreamEvent`]s, and at `[DONE]` into a [`StreamEvent::Done`] carrying the
/// assembled [`Completion`] (content, tool calls, finish reason, usage from the
/// usage chunk, cost from the price table, request id).
#[derive(Debug)]
pub struct Assembler {
    provider: ProviderId,
    model: String,
    request_id: Option<String>,
    chunk_id: Option<String>,
    reported_model: Option<String>,
    content: String,
    /// Readable reasoning streamed by a compatible server (`reasoning_content` / `reasoning`).
    reasoning: String,
    calls: Vec<PartialCall>,
    /// Position in `calls` of the call the last piece went to.
    last_call: Option<usize>,
    finish_reason: Option<FinishReason>,
    usage: Option<Usage>,
    /// The prompt, counted when the stream reports no usage.
    prompt: PromptEstimate<'static>,
    events: usize,
    done: bool,
}

impl Assembler {
    /// An assembler for a stream from `provider`, asked for `model` (priced
    /// by this name when the stream reports no model of its own).
    pub fn new(provider: ProviderId, model: impl Into<String>) -> Self {
        Self {
            provider,
            model: model.into(),
            request_id: None,
            chunk_id: None,
            reported_model: None,
            content: String::new(),
            reasoning: String::new(),
            calls: Vec::new(),
            last_call: None,
            finish_reason: None,
            usage: None,
            prompt: PromptEstimate::default(),
            events: 0,
            done: false,
        }
    }

    /// Sets the request id from the response headers (else the chunks' `id` is used).
    pub fn with_request_id(mut self, request_id: Option<String>) -> Self {
        self.request_id = request_id;
        self
    }

    /// Sets the estimated prompt tokens of the request (see
    /// [`estimate_prompt_tokens`](super::estimate_prompt_tokens)): the input
    /// count of a stream that reports no usage.
    pub fn with_prompt_estimate(mut self, tokens: u64) -> Self {
        self.prompt = PromptEstimate::fixed(tokens);
        self
    }

    /// Sets the prompt, counted only if the stream reports no usage.
    pub fn with_prompt(mut self, prompt: PromptEstimate<'static>) -> Self {
        self.prompt = prompt;
        self
    }

    /// Whether `data: [DONE]` was seen (and [`StreamEvent::Done`] emitted).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Reads one event's `data` and appends the events it yields to `out`:
    /// [`StreamEvent::Delta`] for text, [`StreamEvent::ReasoningDelta`] for
    /// the readable reasoning of compatible servers (`reasoning_content` of
    /// DeepSeek and llama.cpp, `reasoning` of OpenRouter, vLLM and Ollama),
    /// [`StreamEvent::ToolCallDelta`] for each tool-call piece,
    /// [`StreamEvent::Done`] for `[DONE]`. Data after `[DONE]` is ignored.
    ///
    /// # Errors
    /// An `{"error":…}` event, classified as the same body on an HTTP error
    /// would be (status 200, the event kept as raw body); data that is not a
    /// chunk is [`ProviderErrorKind::Unparseable`].
    pub fn push_data<E: Extend<StreamEvent>>(&mut self, data: &str, out: &mut E) -> Result<(), ProviderError> {
        if self.done {
            return Ok(());
        }
        self.events += 1;
        let trimmed = data.trim();
        if trimmed == "[DONE]" {
            self.done = true;
            out.extend(std::iter::once(StreamEvent::Done { completion: self.take_completion() }));
            return Ok(());
        }
        let chunk: ChatChunk = serde_json::from_str(trimmed).map_err(|e| {
            self.error(ProviderErrorKind::Unparseable, format!("stream event is not a chat completion chunk: {e}"))
                .with_raw_body(data)
        })?;
        if chunk.error.is_some() {
            let classified = error::classify_stream_event(trimmed, SystemTime::now());
            return Err(self.error(classified.kind, classified.message).with_status(200).with_raw_body(data));
        }
        if self.chunk_id.is_none() {
            self.chunk_id = chunk.id.filter(|id| !id.is_empty());
        }
        if chunk.model.is_some() {
            self.reported_model = chunk.model;
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage.to_usage());
        }
        for choice in chunk.choices {
            if choice.index != 0 {
                continue; // only the first choice is assembled
            }
            if let Some(delta) = choice.delta {
                // An empty reasoning piece with nothing else is a thinking
                // model's keep-alive: progress for the idle watchdog.
                let nothing_else =
                    [&delta.content, &delta.refusal].iter().all(|t| t.as_deref().is_none_or(str::is_empty))
                        && delta.tool_calls.as_ref().is_none_or(Vec::is_empty);
                if let Some(text) =
                    delta.reasoning_content.or(delta.reasoning).filter(|t| !t.is_empty() || nothing_else)
                {
                    self.reasoning.push_str(&text);
                    out.extend(std::iter::once(StreamEvent::ReasoningDelta { text }));
                }
                for text in [delta.content, delta.refusal].into_iter().flatten() {
                    if !text.is_empty() {
                        self.content.push_str(&text);
                        out.extend(std::iter::once(StreamEvent::Delta { text }));
                    }
                }
                for piece in delta.tool_calls.into_iter().flatten() {
                    out.extend(std::iter::once(self.apply_piece(piece)));
                }
            }
            if let Some(reason) = choice.finish_reason.filter(|r| !r.is_empty()) {
                self.finish_reason = Some(wire::finish_reason(&reason));
            }
        }
        Ok(())
    }

    /// The error for a stream that ended (or failed) before `data: [DONE]`.
    pub fn ended_early(&self) -> ProviderError {
        self.error(
            ProviderErrorKind::Transport,
            format!(
                "stream ended early: the connection closed before `data: [DONE]` (after {} events, {} bytes of text)",
                self.events,
                self.content.len()
            ),
        )
    }

    fn error(&self, kind: ProviderErrorKind, message: impl Into<String>) -> ProviderError {
        ProviderError::new(kind, self.provider.clone(), message)
            .with_request_id(self.request_id.clone().or_else(|| self.chunk_id.clone()))
    }

    /// Finds (or opens) the call a piece belongs to.
    fn slot_for(&mut self, wire_index: Option<u32>, id: Option<&str>) -> usize {
        if let Some(id) = id {
            if let Some(pos) = self.calls.iter().position(|c| c.id.as_deref() == Some(id)) {
                return pos;
            }
            // The id arrives late for a call opened by index alone.
            if let Some(pos) = self.calls.iter().rposition(|c| c.wire_index.is_some() && c.wire_index == wire_index) {
                if self.calls[pos].id.is_none() {
                    return pos;
                }
            }
        } else if let Some(pos) = match wire_index {
            Some(_) => self.calls.iter().rposition(|c| c.wire_index == wire_index),
            None => self.last_call,
        } {
            return pos;
        }
        // A new call: keep the wire index unless another call already took it.
        let taken = |i: u32| self.calls.iter().any(|c| c.index == i);
        let index = match wire_index {
            Some(i) if !taken(i) => i,
            _ => self.calls.iter().map(|c| c.index + 1).max().unwrap_or(0),
        };
        self.calls.push(PartialCall { index, wire_index, id: None, name: String::new(), arguments: String::new() });
        self.calls.len() - 1
    }

    fn apply_piece(&mut self, piece: ToolCallPiece) -> StreamEvent {
        let id = piece.id.filter(|id| !id.is_empty());
        let pos = self.slot_for(piece.index, id.as_deref());
        self.last_call = Some(pos);
        let call = &mut self.calls[pos];
        if call.id.is_none() {
            call.id.clone_from(&id);
        }
        let function = piece.function.unwrap_or_default();
        let name = function.name.filter(|n| !n.is_empty());
        if let Some(name) = &name {
            if call.name.is_empty() {
                call.name.clone_from(name);
            }
        }
        let arguments = match function.arguments {
            Some(Arguments::Text(fragment)) => {
                call.arguments.push_str(&fragment);
                fragment
            }
            Some(Arguments::Value(whole)) => {
                call.arguments.clone_from(&whole);
                whole
            }
            None => String::new(),
        };
        StreamEvent::ToolCallDelta { index: call.index, id, name, arguments }
    }

    fn take_completion(&mut self) -> Completion {
        let mut calls = std::mem::take(&mut self.calls);
        calls.sort_by_key(|c| c.index);
        let tool_calls: Vec<ToolCall> = calls
            .into_iter()
            .map(|c| {
                ToolCall::new(
                    c.id.unwrap_or_else(|| format!("call_{}", c.index)),
                    c.name,
                    wire::normalize_arguments(c.arguments),
                )
            })
            .collect();
        // A server that sends no usage chunk (many OpenAI-compatible ones
        // ignore `stream_options`) is counted by estimate, never as 0 tokens.
        let usage =
            self.usage.unwrap_or_else(|| estimated_usage(&self.prompt, &self.content, &self.reasoning, &tool_calls));
        let cost = self
            .reported_model
            .as_deref()
            .and_then(|m| pricing::cost_usd(m, &usage))
            .or_else(|| pricing::cost_usd(&self.model, &usage));
        let mut completion = Completion::new(self.provider.clone(), std::mem::take(&mut self.content))
            .with_usage(usage)
            .with_cost(cost)
            .with_finish_reason(self.finish_reason.take())
            .with_request_id(self.request_id.clone().or_else(|| self.chunk_id.clone()));
        completion.model = self.reported_model.clone();
        completion.tool_calls = tool_calls;
        let reasoning = std::mem::take(&mut self.reasoning);
        if !reasoning.is_empty() {
            completion.reasoning = vec![Reasoning::new(super::REASONING_ORIGIN, reasoning)];
        }
        completion
    }
}

/// The largest piece of bytes handed to the SSE decoder at once.
const DECODER_PIECE: usize = 4096;

/// Decodes an SSE byte stream (`data:` lines, comments such as `: ping`
/// ignored, any chunking of the bytes) and assembles it with `assembler`.
///
/// The stream yields the assembler's events and ends after
/// [`StreamEvent::Done`]; it yields one error and ends when the bytes fail,
/// when an event is an error or unparseable, or when the bytes end before
/// `data: [DONE]` ([`Assembler::ended_early`], class `Transport`).
///
/// ```
/// use agent_core::provider::{ProviderError, StreamEvent};
/// use agent_providers::openai::stream::{Assembler, sse_completion_stream};
/// use futures::StreamExt;
///
/// let body = ": ping\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n";
/// let bytes = futures::stream::iter(body.as_bytes().chunks(7).map(Ok::<_, ProviderError>));
/// let asm = Assembler::new("openai:gpt-4.1-mini".into(), "gpt-4.1-mini");
/// let events: Vec<_> = futures::executor::block_on(sse_completion_stream(asm, bytes).collect());
/// assert!(matches!(events.last(), Some(Ok(StreamEvent::Done { completion })) if completion.content == "hi"));
/// ```
pub fn sse_completion_stream<S, B>(assembler: Assembler, bytes: S) -> CompletionStream
where
    S: Stream<Item = Result<B, ProviderError>> + Send + 'static,
    B: AsRef<[u8]> + Send + 'static,
{
    decode(assembler, bytes, None)
}

/// Like [`sse_completion_stream`], with an idle limit: when no event arrives
/// for `idle` the stream yields one [`ProviderErrorKind::Timeout`] error and
/// ends. Only events reset the timer, not SSE comments (`: ping`), so a
/// connection kept open by keep-alives alone is still seen as stalled. There
/// is no limit on the whole stream: a long answer that keeps coming is never
/// cut. Needs a Tokio runtime (the timer is Tokio's).
pub fn sse_completion_stream_with_idle_timeout<S, B>(assembler: Assembler, bytes: S, idle: Duration) -> CompletionStream
where
    S: Stream<Item = Result<B, ProviderError>> + Send + 'static,
    B: AsRef<[u8]> + Send + 'static,
{
    decode(assembler, bytes, Some(idle))
}

fn decode<S, B>(assembler: Assembler, bytes: S, idle: Option<Duration>) -> CompletionStream
where
    S: Stream<Item = Result<B, ProviderError>> + Send + 'static,
    B: AsRef<[u8]> + Send + 'static,
{
    struct State<T> {
        sse: T,
        asm: Assembler,
        queue: VecDeque<StreamEvent>,
        finished: bool,
    }
    // eventsource-stream copies the rest of its buffer after every line it
    // reads, so its cost grows with the square of the piece it is fed; large
    // network reads are cut into `DECODER_PIECE`-byte pieces first.
    let pieces = bytes.flat_map(|item| {
        let parts: Vec<Result<Vec<u8>, ProviderError>> = match item {
            Ok(b) => b.as_ref().chunks(DECODER_PIECE).map(|c| Ok(c.to_vec())).collect(),
            Err(e) => vec![Err(e)],
        };
        futures::stream::iter(parts)
    });
    let state = State { sse: Box::pin(pieces).eventsource(), asm: assembler, queue: VecDeque::new(), finished: false };
    Box::pin(futures::stream::unfold(state, move |mut st| async move {
        loop {
            if let Some(event) = st.queue.pop_front() {
                return Some((Ok(event), st));
            }
            if st.finished {
                return None;
            }
            let next = match idle {
                None => st.sse.next().await,
                Some(idle) => match tokio::time::timeout(idle, st.sse.next()).await {
                    Ok(next) => next,
                    Err(_) => {
                        st.finished = true;
                        let message = format!(
                            "stream stalled: no event for {idle:?} (after {} events, {} bytes of text)",
                            st.asm.events,
                            st.asm.content.len()
                        );
                        return Some((Err(st.asm.error(ProviderErrorKind::Timeout, message)), st));
                    }
                },
            };
            let failure = match next {
                Some(Ok(event)) => match st.asm.push_data(&event.data, &mut st.queue) {
                    Ok(()) => {
                        st.finished = st.asm.is_done();
                        continue;
                    }
                    Err(e) => e,
                },
                Some(Err(EventStreamError::Transport(mut e))) => {
                    e.message = format!("stream interrupted before `data: [DONE]`: {}", e.message);
                    e
                }
                Some(Err(e)) => st.asm.error(ProviderErrorKind::Unparseable, format!("malformed event stream: {e}")),
                None => st.asm.ended_early(),
            };
            st.finished = true;
            return Some((Err(failure), st));
        }
    }))
}
