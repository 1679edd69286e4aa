//! The conversation of a session: its messages, which of them are tool
//! observations, and compaction (dropping old observations to save context).

use crate::tools::estimate_tokens;
use agent_core::provider::Message;

/// Argument names that say best what a call was about, in order of preference.
const SUBJECT_KEYS: [&str; 5] = ["path", "pattern", "program", "tests", "summary"];

/// Most characters of a call's subject shown in a stub.
const MAX_SUBJECT_CHARS: usize = 80;

/// What the session knows about an observation message.
#[derive(Clone, Debug)]
pub(super) struct ObservationMeta {
    /// The turn whose call it answers.
    pub(super) turn: u32,
    /// The tool called.
    pub(super) tool: String,
    /// What the call was about (its path, pattern, …), for the stub.
    pub(super) subject: String,
    /// Whether it is a test run's result (kept while it is the latest).
    pub(super) test_run: bool,
    /// Whether it was replaced by a stub.
    pub(super) dropped: bool,
}

impl ObservationMeta {
    /// An observation of a call of `tool` with `args` (a JSON object, or
    /// `None` when the arguments could not be read) in `turn`.
    pub(super) fn new(turn: u32, tool: &str, args: Option<&serde_json::Value>, test_run: bool) -> Self {
        Self { turn, tool: tool.to_owned(), subject: args.map(subject).unwrap_or_default(), test_run, dropped: false }
    }
}

struct Entry {
    message: Message,
    observation: Option<ObservationMeta>,
}

/// The messages of a session, oldest first: the system prompt, the first
/// user message, then the turns.
pub(super) struct Conversation {
    entries: Vec<Entry>,
}

impl Conversation {
    /// A conversation that opens with `system` and `first_user`.
    pub(super) fn new(system: String, first_user: String) -> Self {
        Self {
            entries: vec![
                Entry { message: Message::system(system), observation: None },
                Entry { message: Message::user(first_user), observation: None },
            ],
        }
    }

    /// Appends a message that is not an observation.
    pub(super) fn push(&mut self, message: Message) {
        self.entries.push(Entry { message, observation: None });
    }

    /// Appends a tool observation.
    pub(super) fn push_observation(&mut self, message: Message, meta: ObservationMeta) {
        self.entries.push(Entry { message, observation: Some(meta) });
    }

    /// The messages, for a request.
    pub(super) fn messages(&self) -> Vec<Message> {
        self.entries.iter().map(|e| e.message.clone()).collect()
    }

    /// About how many tokens the messages are (their text and the tool
    /// calls' names and arguments, four bytes a token).
    pub(super) fn estimate_tokens(&self) -> usize {
        self.entries.iter().map(|e| message_tokens(&e.message)).sum()
    }

    /// Replaces observations older than `keep_recent_turns` turns before
    /// `next_turn` with stubs, oldest first, until the estimate is under
    /// `threshold`. Never touches the first two messages (they are no
    /// observations) nor the latest test run's observation. Returns how
    /// many observations were dropped.
    pub(super) fn compact(&mut self, threshold: usize, next_turn: u32, keep_recent_turns: u32) -> usize {
        let mut tokens = self.estimate_tokens();
        if tokens < threshold {
            return 0;
        }
        let latest_test_run = self.entries.iter().rposition(|e| e.observation.as_ref().is_some_and(|o| o.test_run));
        let mut dropped = 0;
        for (index, entry) in self.entries.iter_mut().enumerate() {
            if tokens < threshold {
                break;
            }
            let Some(meta) = entry.observation.as_mut() else { continue };
            if meta.dropped
                || Some(index) == latest_test_run
                || meta.turn.saturating_add(keep_recent_turns) >= next_turn
            {
                continue;
            }
            let before = estimate_tokens(&entry.message.content);
            let stub =
                format!("[observation of {}({}) dropped to save context: {before} tokens]", meta.tool, meta.subject);
            let after = estimate_tokens(&stub);
            if after >= before {
                continue;
            }
            entry.message.content = stub;
            meta.dropped = true;
            tokens = tokens - before + after;
            dropped += 1;
        }
        dropped
    }
}

fn message_tokens(message: &Message) -> usize {
    estimate_tokens(&message.content)
        + message.tool_calls.iter().map(|c| estimate_tokens(&c.name) + estimate_tokens(&c.arguments)).sum::<usize>()
}

/// What a call with `args` was about: its `path` (or pattern, program,
/// tests, summary; else its first argument), cut to a line.
fn subject(args: &serde_json::Value) -> String {
    let Some(object) = args.as_object() else { return String::new() };
    let value = SUBJECT_KEYS.iter().find_map(|k| object.get(*k)).or_else(|| object.values().next());
    let text = match value {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => return String::new(),
    };
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > MAX_SUBJECT_CHARS || line.len() < text.len() {
        let cut: String = line.chars().take(MAX_SUBJECT_CHARS).collect();
        format!("{cut}…")
    } else {
        line.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_subject_prefers_the_path_then_the_first_argument_and_is_cut_to_a_line() {
        assert_eq!(subject(&json!({"pattern": "fn main", "path": "src"})), "src");
        assert_eq!(subject(&json!({"alpha": 3})), "3");
        assert_eq!(subject(&json!({})), "");
        assert_eq!(subject(&json!({"summary": "one\ntwo"})), "one…");
    }

    #[test]
    fn compaction_drops_old_observations_oldest_first_and_keeps_the_latest_test_run() {
        let mut c = Conversation::new("system".into(), "goal".into());
        let big = "x".repeat(400); // 100 tokens
        for turn in 1..=4 {
            let tool = if turn == 1 { "run_tests" } else { "read_file" };
            c.push(Message::assistant(String::new()));
            c.push_observation(
                Message::tool_result(format!("c{turn}"), big.clone()),
                ObservationMeta::new(turn, tool, Some(&json!({"path": format!("f{turn}")})), turn == 1),
            );
        }
        // 2 + 1 + 4 × 100 tokens; under 250 needs two observations dropped.
        assert_eq!(c.estimate_tokens(), 403);
        assert_eq!(c.compact(250, 5, 1), 2);
        let contents: Vec<String> = c.messages().into_iter().map(|m| m.content).collect();
        assert_eq!(contents[3], big, "the latest test run is kept");
        assert_eq!(contents[5], "[observation of read_file(f2) dropped to save context: 100 tokens]");
        assert_eq!(contents[7], "[observation of read_file(f3) dropped to save context: 100 tokens]");
        assert_eq!(contents[9], big, "the last turn is kept");
    }
}
