//! The run of one session: model turns, tool calls, events, limits.

use super::conversation::{Conversation, ObservationMeta};
use super::{
    AgentSession, NUDGE, SessionEnd, SessionError, SessionReport, ToolCallReport, ToolMode, TurnReport, json_mode,
};
use crate::tools::bound_observation;
use agent_core::budget::{BudgetStop, BudgetTracker, Usd};
use agent_core::edit::FileChange;
use agent_core::event::{Event, EventKind};
use agent_core::failure::Classification;
use agent_core::provider::{Completion, CompletionRequest, FinishReason, Message, ToolCall, ToolSpec, Usage};
use agent_core::tool::{ToolContext, ToolError};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::time::Instant;
use tracing::Instrument;

/// The state of one running session.
pub(super) struct SessionRun<'a> {
    session: &'a AgentSession,
    cx: &'a ToolContext,
    conversation: Conversation,
    specs: Vec<ToolSpec>,
    turns: Vec<TurnReport>,
    changes: Vec<FileChange>,
    last_classification: Option<Classification>,
    usage: Usage,
    cost_usd: Usd,
    compactions: u32,
    invalid_in_a_row: u32,
}

/// What one tool call gave.
struct CallOutcome {
    /// The observation shown to the model (bounded).
    observation: String,
    /// The error, when the call was invalid (unknown tool, bad arguments).
    invalid: Option<String>,
    /// The summary, when the call finishes the session.
    finished: Option<String>,
    /// Whether it ran the tests.
    test_run: bool,
}

impl<'a> SessionRun<'a> {
    pub(super) fn new(session: &'a AgentSession, cx: &'a ToolContext, system: String, first_user: String) -> Self {
        let specs = session.tools.specs();
        let system = match session.config.mode {
            ToolMode::Native => system,
            ToolMode::Json => json_mode::system_prompt(&system, &specs),
        };
        Self {
            session,
            cx,
            conversation: Conversation::new(system, first_user),
            specs,
            turns: Vec::new(),
            changes: Vec::new(),
            last_classification: None,
            usage: Usage::default(),
            cost_usd: Usd::ZERO,
            compactions: 0,
            invalid_in_a_row: 0,
        }
    }

    pub(super) async fn run(mut self, tracker: &mut BudgetTracker) -> Result<SessionReport, SessionError> {
        let max_turns = self.session.config.max_turns;
        for turn in 1..=max_turns {
            if let Err(stop) = tracker.check() {
                let end = self.budget_stop(stop).await?;
                return Ok(self.report(end));
            }
            self.compact(turn);
            let completion = self.ask(turn, tracker).await?;
            let end = match self.session.config.mode {
                ToolMode::Native => self.native_turn(turn, completion, tracker).await?,
                ToolMode::Json => self.json_turn(turn, completion, tracker).await?,
            };
            if let Some(end) = end {
                return Ok(self.report(end));
            }
        }
        Ok(self.report(SessionEnd::MaxTurns { turns: max_turns }))
    }

    fn report(self, end: SessionEnd) -> SessionReport {
        tracing::debug!(task = %self.session.task, ?end, turns = self.turns.len(), "session ended");
        SessionReport {
            end,
            turns: self.turns,
            changes: self.changes,
            last_classification: self.last_classification,
            usage: self.usage,
            cost_usd: self.cost_usd,
            compactions: self.compactions,
        }
    }

    async fn emit(&self, kind: EventKind) -> Result<(), SessionError> {
        let event = Event::now(self.session.task.clone(), kind);
        if let Some(observer) = &self.session.observer {
            observer(&event);
        }
        self.session.journal.append(event).await?;
        Ok(())
    }

    /// Journals a budget stop and ends the session with it.
    async fn budget_stop(&self, stop: BudgetStop) -> Result<SessionEnd, SessionError> {
        self.emit(EventKind::BudgetStop { reason: stop.to_string() }).await?;
        Ok(SessionEnd::BudgetStop(stop))
    }

    /// Drops old observations when the conversation reaches the threshold.
    fn compact(&mut self, next_turn: u32) {
        let config = &self.session.config;
        let model_window = self.session.provider.capabilities().map(|c| c.context_window);
        let dropped =
            self.conversation.compact(config.compaction_threshold(model_window), next_turn, config.keep_recent_turns);
        if dropped > 0 {
            self.compactions += 1;
            tracing::debug!(
                task = %self.session.task,
                turn = next_turn,
                dropped,
                tokens = self.conversation.estimate_tokens(),
                "conversation compacted"
            );
        }
    }

    /// One model call, journaled and recorded in the tracker.
    async fn ask(&mut self, turn: u32, tracker: &mut BudgetTracker) -> Result<Completion, SessionError> {
        let config = &self.session.config;
        let mut req = CompletionRequest::new(self.conversation.messages());
        req.max_tokens = config.max_tokens;
        req.temperature = config.temperature;
        req.reasoning = config.reasoning;
        if config.mode == ToolMode::Native {
            req = req.with_tools(self.specs.clone());
        }
        let provider = &self.session.provider;
        let purpose = self.session.purpose.as_str();
        let span = tracing::info_span!(
            "gen_ai.chat",
            gen_ai.operation.name = "chat",
            gen_ai.request.model = %provider.id().model(),
            gen_ai.system = %provider.id().kind(),
            gen_ai.usage.input_tokens = tracing::field::Empty,
            gen_ai.usage.output_tokens = tracing::field::Empty,
            purpose,
            turn,
        );
        let started = Instant::now();
        let answer = provider.complete(req).instrument(span.clone()).await;
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match answer {
            Err(error) => {
                tracker.record_failed_turn();
                self.emit(EventKind::failed_llm_call(purpose, &error, latency_ms)).await?;
                Err(SessionError::Provider { turn, error: Box::new(error) })
            }
            Ok(completion) => {
                span.record("gen_ai.usage.input_tokens", completion.usage.input_tokens);
                span.record("gen_ai.usage.output_tokens", completion.usage.output_tokens);
                tracker.record(&completion.usage, completion.cost_usd);
                self.usage.add(&completion.usage);
                self.cost_usd += completion.cost_usd.unwrap_or(Usd::ZERO);
                self.emit(EventKind::llm_call(purpose, &completion, latency_ms)).await?;
                Ok(completion)
            }
        }
    }

    /// A turn of native tool calls: every call run in order.
    async fn native_turn(
        &mut self,
        turn: u32,
        completion: Completion,
        tracker: &BudgetTracker,
    ) -> Result<Option<SessionEnd>, SessionError> {
        let cut = completion.finish_reason == Some(FinishReason::Length);
        let reasoning = completion.reasoning;
        let calls: Vec<ToolCall> = completion
            .tool_calls
            .into_iter()
            .enumerate()
            .map(|(index, mut call)| {
                if call.id.is_empty() {
                    call.id = format!("call_{turn}_{}", index + 1);
                }
                call
            })
            .collect();
        self.turns.push(TurnReport { turn, text: completion.content.clone(), tool_calls: Vec::new(), error: None });
        if calls.is_empty() {
            self.conversation.push(Message::assistant(completion.content).with_reasoning(reasoning));
            self.conversation.push(Message::user(NUDGE));
            return Ok(self.invalid_answer("the answer called no tool".to_owned()));
        }
        // Reasoning blocks go back with the calls (providers such as
        // Anthropic and Gemini refuse the next turn without them).
        self.conversation
            .push(Message::assistant_tool_calls(completion.content, calls.clone()).with_reasoning(reasoning));
        for call in calls {
            if let Err(stop) = tracker.check() {
                return self.budget_stop(stop).await.map(Some);
            }
            let args = parse_arguments(&call.name, &call.arguments, cut);
            let subject_args = args.as_ref().ok().cloned();
            let outcome = self.call_tool(turn, &call.id, &call.name, &call.arguments, args).await?;
            let result = if outcome.invalid.is_some() {
                Message::tool_error(call.id.clone(), outcome.observation.clone())
            } else {
                Message::tool_result(call.id.clone(), outcome.observation.clone())
            };
            self.conversation.push_observation(
                result,
                ObservationMeta::new(turn, &call.name, subject_args.as_ref(), outcome.test_run),
            );
            if let Some(end) = self.after_call(outcome) {
                return Ok(Some(end));
            }
        }
        Ok(None)
    }

    /// A JSON-mode turn: one call object in the answer's text.
    async fn json_turn(
        &mut self,
        turn: u32,
        completion: Completion,
        tracker: &BudgetTracker,
    ) -> Result<Option<SessionEnd>, SessionError> {
        self.turns.push(TurnReport { turn, text: completion.content.clone(), tool_calls: Vec::new(), error: None });
        self.conversation
            .push(Message::assistant(completion.content.clone()).with_reasoning(completion.reasoning.clone()));
        let call = match json_mode::parse_call(&completion.content) {
            Ok(call) => call,
            Err(mut reason) => {
                if completion.finish_reason == Some(FinishReason::Length) {
                    reason.push_str(" (the answer was cut at the token limit; send less in one call)");
                }
                let observation = json_mode::format_error(&reason, &self.session.tools.names());
                self.conversation.push(Message::user(observation));
                return Ok(self.invalid_answer(reason));
            }
        };
        if let Err(stop) = tracker.check() {
            return self.budget_stop(stop).await.map(Some);
        }
        let arguments_text = call.arguments.to_string();
        let id = format!("call_{turn}_1");
        let outcome = self.call_tool(turn, &id, &call.name, &arguments_text, Ok(call.arguments.clone())).await?;
        self.conversation.push_observation(
            Message::user(format!("Observation from {}:\n{}", call.name, outcome.observation)),
            ObservationMeta::new(turn, &call.name, Some(&call.arguments), outcome.test_run),
        );
        Ok(self.after_call(outcome))
    }

    /// Counts an answer that held no call; ends the session at the limit.
    fn invalid_answer(&mut self, reason: String) -> Option<SessionEnd> {
        if let Some(turn) = self.turns.last_mut() {
            turn.error = Some(reason.clone());
        }
        self.count_invalid(reason)
    }

    fn count_invalid(&mut self, last_error: String) -> Option<SessionEnd> {
        self.invalid_in_a_row += 1;
        let limit = self.session.config.max_invalid_calls;
        (self.invalid_in_a_row >= limit)
            .then_some(SessionEnd::InvalidCalls { count: self.invalid_in_a_row, last_error })
    }

    /// What a call's outcome means for the session: finished, one invalid
    /// call more (possibly the last allowed), or a valid call that resets
    /// the count.
    fn after_call(&mut self, outcome: CallOutcome) -> Option<SessionEnd> {
        if let Some(summary) = outcome.finished {
            return Some(SessionEnd::Finished { summary });
        }
        match outcome.invalid {
            Some(error) => self.count_invalid(error),
            None => {
                self.invalid_in_a_row = 0;
                None
            }
        }
    }

    /// Runs one tool call (or reports why it cannot run), journals it and
    /// adds it to the current turn's report.
    async fn call_tool(
        &mut self,
        turn: u32,
        id: &str,
        name: &str,
        arguments_text: &str,
        args: Result<Value, ToolError>,
    ) -> Result<CallOutcome, SessionError> {
        let tools = &self.session.tools;
        let span = tracing::info_span!(
            "gen_ai.execute_tool",
            gen_ai.operation.name = "execute_tool",
            gen_ai.tool.name = %name,
            gen_ai.tool.call.id = %id,
            turn,
        );
        let started = Instant::now();
        let result = match args {
            Ok(args) => tools.call(name, args, self.cx).instrument(span).await,
            // An unknown tool is named as such even when its arguments are broken too.
            Err(_) if tools.get(name).is_none() => tools.call(name, Value::Null, self.cx).await,
            Err(err) => Err(err),
        };
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let max_tokens = self.cx.limits.max_tokens;
        let mut test_run = name == "run_tests";
        let (observation, error, invalid, finished) = match result {
            Ok(output) => {
                for change in output.changes {
                    match self.changes.iter_mut().find(|c| c.path == change.path) {
                        Some(known) => *known = change,
                        None => self.changes.push(change),
                    }
                }
                if let Some(classification) = output.classification {
                    test_run = true;
                    self.last_classification = Some(classification);
                }
                (bound_observation(&output.content, max_tokens), None, false, output.finished)
            }
            Err(err) => {
                let message = err.to_string();
                let observation = bound_observation(&format!("error: {message}"), max_tokens);
                (observation, Some(message), err.is_invalid_call(), None)
            }
        };
        let result_bytes = observation.len() as u64;
        let arguments_sha256 = hex::encode(Sha256::digest(arguments_text.as_bytes()));
        self.emit(EventKind::ToolCall {
            turn,
            name: name.to_owned(),
            arguments_sha256: arguments_sha256.clone(),
            duration_ms,
            result_bytes,
            error: error.clone(),
        })
        .await?;
        if let Some(report) = self.turns.last_mut() {
            report.tool_calls.push(ToolCallReport {
                name: name.to_owned(),
                arguments_sha256,
                ok: error.is_none(),
                error: error.clone(),
                result_bytes,
                duration_ms,
            });
        }
        Ok(CallOutcome { observation, invalid: if invalid { error } else { None }, finished, test_run })
    }
}

/// A native call's arguments: a JSON object (empty text is `{}`).
fn parse_arguments(tool: &str, text: &str, cut: bool) -> Result<Value, ToolError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let reason = match serde_json::from_str::<Value>(text) {
        Ok(value @ Value::Object(_)) => return Ok(value),
        Ok(_) => "the arguments must be a JSON object".to_owned(),
        Err(err) if cut => {
            format!(
                "the arguments are not valid JSON ({err}): the answer was cut at the token limit; send less in one call"
            )
        }
        Err(err) => format!("the arguments are not valid JSON: {err}"),
    };
    Err(ToolError::InvalidArguments { tool: tool.to_owned(), reason })
}
