//! Plumbing shared by the native providers (Anthropic, Gemini, Ollama):
//! sending a JSON request, mapping transport failures, tracing a call, and
//! decoding a streamed body (SSE or NDJSON) into [`StreamEvent`]s.

use agent_core::budget::Usd;
use agent_core::provider::{
    Completion, CompletionRequest, CompletionStream, Message, ProviderError, ProviderErrorKind, ProviderId, Role,
    StreamEvent,
};
use eventsource_stream::{EventStreamError, Eventsource};
use futures::stream::BoxStream;
use futures::{Future, StreamExt};
use reqwest::header::HeaderMap;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};
use tracing::Instrument;
use tracing::field::Empty;

/// What an error response said, read from its status, headers and body.
pub(crate) struct Classified {
    pub(crate) kind: ProviderErrorKind,
    pub(crate) message: String,
    /// A request id found in the body, used when no header carried one.
    pub(crate) request_id: Option<String>,
}

/// How a provider classifies a non-2xx answer: `(status, headers, body, now)`.
pub(crate) type Classifier = fn(u16, &HeaderMap, &str, SystemTime) -> Classified;

/// What every call of one provider shares.
#[derive(Clone, Copy)]
pub(crate) struct CallContext<'a> {
    pub(crate) id: &'a ProviderId,
    /// How long a whole call (complete) or the wait for each piece (stream) may take.
    pub(crate) timeout: Duration,
    /// The header the provider puts its request id in.
    pub(crate) request_id_header: &'static str,
    pub(crate) classify: Classifier,
}

impl CallContext<'_> {
    pub(crate) fn error(&self, kind: ProviderErrorKind, message: impl Into<String>) -> ProviderError {
        ProviderError::new(kind, self.id.clone(), message)
    }

    /// A `reqwest` failure as a `Transport` or `Timeout` error, with its causes in the message.
    pub(crate) fn transport_error(&self, err: &reqwest::Error) -> ProviderError {
        transport_error(self.id, self.timeout, err)
    }

    fn timeout_error(&self, what: &str) -> ProviderError {
        self.error(ProviderErrorKind::Timeout, format!("no {what} within {:?}", self.timeout))
    }

    /// Sends `builder`; a non-2xx answer is read whole and classified.
    ///
    /// Returns the response (body unread) and its request id header.
    async fn send(
        &self,
        builder: reqwest::RequestBuilder,
    ) -> Result<(reqwest::Response, Option<String>), ProviderError> {
        let response = match tokio::time::timeout(self.timeout, builder.send()).await {
            Ok(sent) => sent.map_err(|e| self.transport_error(&e))?,
            Err(_) => return Err(self.timeout_error("response")),
        };
        let status = response.status().as_u16();
        let request_id = header(response.headers(), self.request_id_header);
        if (200..300).contains(&status) {
            return Ok((response, request_id));
        }
        let headers = response.headers().clone();
        let body = match tokio::time::timeout(self.timeout, response.text()).await {
            Ok(read) => read.map_err(|e| self.transport_error(&e).with_status(status))?,
            Err(_) => return Err(self.timeout_error("error body").with_status(status)),
        };
        Err(self.http_error(status, &headers, &body, request_id))
    }

    /// A classified error for a non-2xx answer, keeping status, request id and raw body.
    pub(crate) fn http_error(
        &self,
        status: u16,
        headers: &HeaderMap,
        body: &str,
        request_id: Option<String>,
    ) -> ProviderError {
        let classified = (self.classify)(status, headers, body, SystemTime::now());
        self.error(classified.kind, classified.message)
            .with_status(status)
            .with_request_id(request_id.or(classified.request_id))
            .with_raw_body(body)
    }

    /// Sends a request that answers one JSON body: `(status, request id, body)`.
    pub(crate) async fn send_for_body(
        &self,
        builder: reqwest::RequestBuilder,
    ) -> Result<(u16, Option<String>, String), ProviderError> {
        let (response, request_id) = self.send(builder.timeout(self.timeout)).await?;
        let status = response.status().as_u16();
        let body = response
            .text()
            .await
            .map_err(|e| self.transport_error(&e).with_status(status).with_request_id(request_id.clone()))?;
        Ok((status, request_id, body))
    }

    /// Sends a streaming request and decodes its body with `decoder`.
    ///
    /// The timeout bounds the wait for the response headers and then the wait
    /// for each further piece of the body (an idle timeout), not the whole stream.
    pub(crate) async fn send_for_stream<D: StreamDecoder>(
        &self,
        builder: reqwest::RequestBuilder,
        framing: Framing,
        decoder: D,
    ) -> Result<CompletionStream, ProviderError> {
        let (response, request_id) = self.send(builder).await?;
        let status = response.status().as_u16();
        let frames = match framing {
            Framing::Sse => sse_frames(response, *self),
            Framing::Ndjson => ndjson_frames(response, *self),
        };
        Ok(drive(frames, decoder, StreamContext { call: self.owned(), status, request_id }))
    }

    /// Parses a JSON body, or fails as `Unparseable` keeping status, request id and body.
    pub(crate) fn parse_body<T: serde::de::DeserializeOwned>(
        &self,
        status: u16,
        request_id: Option<&String>,
        body: &str,
        what: &str,
    ) -> Result<T, ProviderError> {
        serde_json::from_str(body).map_err(|e| {
            self.error(ProviderErrorKind::Unparseable, format!("response is not {what}: {e}"))
                .with_status(status)
                .with_request_id(request_id.cloned())
                .with_raw_body(body)
        })
    }

    fn owned(&self) -> OwnedContext {
        OwnedContext { id: self.id.clone(), timeout: self.timeout }
    }
}

/// A `reqwest` failure as a `Transport` or `Timeout` error, with its causes in the message.
fn transport_error(id: &ProviderId, timeout: Duration, err: &reqwest::Error) -> ProviderError {
    let kind = if err.is_timeout() { ProviderErrorKind::Timeout } else { ProviderErrorKind::Transport };
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    if err.is_timeout() {
        message = format!("no answer within {timeout:?}: {message}");
    }
    let mut error = ProviderError::new(kind, id.clone(), message);
    if let Some(status) = err.status() {
        error = error.with_status(status.as_u16());
    }
    error
}

/// The parts of a [`CallContext`] a stream keeps after the call returned.
struct OwnedContext {
    id: ProviderId,
    timeout: Duration,
}

/// The value of header `name`, when present and text.
pub(crate) fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The first 500 characters of a body that carried no error message.
pub(crate) fn body_excerpt(body: &str) -> String {
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return "empty response body".to_owned();
    }
    match trimmed.char_indices().nth(500) {
        Some((cut, _)) => format!("{}…", &trimmed[..cut]),
        None => trimmed.to_owned(),
    }
}

/// A fresh tool-call id for providers that give none (Gemini, Ollama): `call_…`,
/// unique within the process.
pub(crate) fn generated_call_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("call_{:012x}{n:x}", nanos & 0xffff_ffff_ffff)
}

/// The tool name of the call a [`Role::Tool`] message answers, found in an earlier assistant message.
pub(crate) fn tool_name_for<'a>(messages: &'a [Message], before: usize, call_id: Option<&str>) -> Option<&'a str> {
    let call_id = call_id?;
    messages[..before]
        .iter()
        .rev()
        .filter(|m| m.role == Role::Assistant)
        .flat_map(|m| m.tool_calls.iter())
        .find(|c| c.id == call_id)
        .map(|c| c.name.as_str())
}

/// A tool call's argument text as a JSON value: the parsed object, or `{}` when
/// the text is empty, or the text itself as a string when it is not JSON.
pub(crate) fn arguments_value(arguments: &str) -> serde_json::Value {
    if arguments.trim().is_empty() {
        return serde_json::Value::Object(serde_json::Map::new());
    }
    serde_json::from_str(arguments).unwrap_or_else(|_| serde_json::Value::String(arguments.to_owned()))
}

/// Runs one `complete` call inside a `gen_ai.chat` span with the OpenTelemetry GenAI attributes.
pub(crate) async fn traced<F>(system: &'static str, model: &str, req: &CompletionRequest, call: F) -> F::Output
where
    F: Future<Output = Result<Completion, ProviderError>>,
{
    let span = tracing::info_span!(
        "gen_ai.chat",
        gen_ai.system = system,
        gen_ai.operation.name = "chat",
        gen_ai.request.model = %model,
        gen_ai.request.max_tokens = req.max_tokens,
        gen_ai.request.temperature = req.temperature,
        gen_ai.response.model = Empty,
        gen_ai.response.id = Empty,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
        error.type = Empty,
        http.response.status_code = Empty,
    );
    async {
        let result = call.await;
        let span = tracing::Span::current();
        match &result {
            Ok(c) => {
                if let Some(model) = &c.model {
                    span.record("gen_ai.response.model", model.as_str());
                }
                if let Some(id) = &c.request_id {
                    span.record("gen_ai.response.id", id.as_str());
                }
                span.record("gen_ai.usage.input_tokens", c.usage.input_tokens);
                span.record("gen_ai.usage.output_tokens", c.usage.output_tokens);
                tracing::debug!(cost_usd = c.cost_usd.map(Usd::dollars), "chat completion finished");
            }
            Err(e) => {
                span.record("error.type", e.kind.name());
                if let Some(status) = e.status {
                    span.record("http.response.status_code", status);
                }
                tracing::debug!(request_id = e.request_id.as_deref(), "chat completion failed: {}", e.message);
            }
        }
        result
    }
    .instrument(span)
    .await
}

/// How a streamed body is framed.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Framing {
    /// Server-sent events (`event:` / `data:` lines, blank-line separated).
    Sse,
    /// One JSON document per line.
    Ndjson,
}

/// One unit of a streamed body: an SSE event, or one NDJSON line (with an empty name).
pub(crate) struct Frame {
    pub(crate) name: String,
    pub(crate) data: String,
}

/// Turns the frames of one provider's stream into [`StreamEvent`]s.
pub(crate) trait StreamDecoder: Send + 'static {
    /// Reads one frame, pushing the events it yields onto `out`. Returns
    /// `true` when the frame ends the stream (nothing after it is read).
    fn frame(&mut self, frame: &Frame, out: &mut Vec<StreamEvent>) -> Result<bool, ProviderError>;

    /// The assembled completion, called once the stream ended (by a final
    /// frame or by the end of the body). Fails when the stream was cut short.
    fn finish(&mut self) -> Result<Completion, ProviderError>;
}

fn sse_frames(response: reqwest::Response, cx: CallContext<'_>) -> BoxStream<'static, Result<Frame, ProviderError>> {
    let cx = cx.owned();
    response
        .bytes_stream()
        .eventsource()
        .map(move |item| match item {
            Ok(event) => Ok(Frame { name: event.event, data: event.data }),
            Err(EventStreamError::Transport(e)) => Err(transport_error(&cx.id, cx.timeout, &e)),
            Err(other) => Err(ProviderError::new(
                ProviderErrorKind::Unparseable,
                cx.id.clone(),
                format!("malformed event stream: {other}"),
            )),
        })
        .boxed()
}

fn ndjson_frames(response: reqwest::Response, cx: CallContext<'_>) -> BoxStream<'static, Result<Frame, ProviderError>> {
    struct Lines {
        bytes: BoxStream<'static, Result<Vec<u8>, reqwest::Error>>,
        partial: Vec<u8>,
        ready: VecDeque<Result<Frame, ProviderError>>,
        ended: bool,
        cx: OwnedContext,
    }
    impl Lines {
        fn push_line(&mut self, line: &[u8]) {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                return;
            }
            self.ready.push_back(match std::str::from_utf8(line) {
                Ok(text) => Ok(Frame { name: String::new(), data: text.to_owned() }),
                Err(e) => Err(ProviderError::new(
                    ProviderErrorKind::Unparseable,
                    self.cx.id.clone(),
                    format!("stream line is not UTF-8: {e}"),
                )),
            });
        }
    }
    let state = Lines {
        bytes: response.bytes_stream().map(|chunk| chunk.map(|b| b.to_vec())).boxed(),
        partial: Vec::new(),
        ready: VecDeque::new(),
        ended: false,
        cx: cx.owned(),
    };
    futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(item) = st.ready.pop_front() {
                return Some((item, st));
            }
            if st.ended {
                return None;
            }
            match st.bytes.next().await {
                Some(Ok(chunk)) => {
                    st.partial.extend_from_slice(&chunk);
                    let mut start = 0;
                    while let Some(pos) = st.partial[start..].iter().position(|b| *b == b'\n') {
                        let line = st.partial[start..start + pos].to_vec();
                        st.push_line(&line);
                        start += pos + 1;
                    }
                    st.partial.drain(..start);
                }
                Some(Err(e)) => {
                    let err = transport_error(&st.cx.id, st.cx.timeout, &e);
                    st.ready.push_back(Err(err));
                    st.ended = true;
                }
                None => {
                    let rest = std::mem::take(&mut st.partial);
                    st.push_line(&rest);
                    st.ended = true;
                }
            }
        }
    })
    .boxed()
}

struct StreamContext {
    call: OwnedContext,
    status: u16,
    request_id: Option<String>,
}

impl StreamContext {
    /// Adds the HTTP status and request id to an error that lacks them.
    fn decorate(&self, mut err: ProviderError) -> ProviderError {
        if err.status.is_none() {
            err.status = Some(self.status);
        }
        if err.request_id.is_none() {
            err.request_id.clone_from(&self.request_id);
        }
        err
    }
}

fn drive<D: StreamDecoder>(
    frames: BoxStream<'static, Result<Frame, ProviderError>>,
    decoder: D,
    cx: StreamContext,
) -> CompletionStream {
    struct State<D> {
        frames: BoxStream<'static, Result<Frame, ProviderError>>,
        decoder: D,
        pending: VecDeque<Result<StreamEvent, ProviderError>>,
        over: bool,
        cx: StreamContext,
    }
    impl<D: StreamDecoder> State<D> {
        fn finish(&mut self) {
            self.over = true;
            let done = self.decoder.finish().map(|mut completion| {
                if self.cx.request_id.is_some() {
                    completion.request_id.clone_from(&self.cx.request_id);
                }
                StreamEvent::Done { completion }
            });
            self.pending.push_back(done.map_err(|e| self.cx.decorate(e)));
        }
        fn fail(&mut self, err: ProviderError) {
            self.over = true;
            self.pending.push_back(Err(self.cx.decorate(err)));
        }
    }
    let state = State { frames, decoder, pending: VecDeque::new(), over: false, cx };
    futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(item) = st.pending.pop_front() {
                return Some((item, st));
            }
            if st.over {
                return None;
            }
            let next = match tokio::time::timeout(st.cx.call.timeout, st.frames.next()).await {
                Ok(next) => next,
                Err(_) => {
                    let message = format!("stream stalled: nothing received for {:?}", st.cx.call.timeout);
                    st.fail(ProviderError::new(ProviderErrorKind::Timeout, st.cx.call.id.clone(), message));
                    continue;
                }
            };
            match next {
                Some(Ok(frame)) => {
                    let mut out = Vec::new();
                    let result = st.decoder.frame(&frame, &mut out);
                    st.pending.extend(out.into_iter().map(Ok));
                    match result {
                        Ok(true) => st.finish(),
                        Ok(false) => {}
                        Err(e) => st.fail(e),
                    }
                }
                Some(Err(e)) => st.fail(e),
                None => st.finish(),
            }
        }
    })
    .boxed()
}

/// The text of a failed tool's result on a wire with no error flag
/// (OpenAI Chat Completions, Ollama): the text as it is when it already
/// says "error", else prefixed with `Error: `, so the model can tell a
/// failure from a result.
pub(crate) fn flagged_tool_error(content: &str) -> std::borrow::Cow<'_, str> {
    if content.to_ascii_lowercase().contains("error") {
        std::borrow::Cow::Borrowed(content)
    } else {
        std::borrow::Cow::Owned(format!("Error: {content}"))
    }
}
