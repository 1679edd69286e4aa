//! [`CapabilityTable`]: what each model accepts and can do
//! ([`ModelCapabilities`]), per provider kind, as data shipped with the crate
//! (`src/capabilities.json`) and overridable by the host.
//!
//! Providers shape their requests from it: OpenAI Chat Completions sends
//! `max_completion_tokens` and no `temperature` to reasoning models; Ollama
//! sizes `options.num_ctx` within the model's window. A model the table does
//! not know is sent as before.
//!
//! ```
//! use agent_core::provider::{ModelCapabilities, TokenParam};
//! use agent_providers::ProviderKind;
//! use agent_providers::capabilities::CapabilityTable;
//!
//! let table = CapabilityTable::builtin();
//! // Dated snapshots are looked up as their model (the names of `model_names`).
//! let gpt5 = table.lookup(ProviderKind::OpenAi, "gpt-5-mini-2025-08-07").unwrap();
//! assert_eq!(gpt5.token_param, TokenParam::MaxCompletionTokens);
//! assert!(gpt5.fixed_temperature);
//! assert!(table.lookup(ProviderKind::OpenAi, "my-finetune").is_none());
//!
//! // A host adds or replaces entries.
//! let table = table.with_override(ProviderKind::Ollama, "my-coder", ModelCapabilities::new(65_536, 8_192));
//! assert_eq!(table.lookup(ProviderKind::Ollama, "my-coder:latest").map(|c| c.context_window), Some(65_536));
//! ```

use crate::model_names::model_names;
use crate::spec::ProviderKind;
use agent_core::provider::ModelCapabilities;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// The capability table shipped with the crate.
const BUILTIN_CAPABILITIES: &str = include_str!("capabilities.json");

/// [`BUILTIN_CAPABILITIES`], parsed once. The shipped file is checked by a
/// unit test; an empty table (today's behaviour for every model) is the
/// harmless fallback should it ever not parse.
static SHIPPED: LazyLock<CapabilityTable> =
    LazyLock::new(|| CapabilityTable::from_json(BUILTIN_CAPABILITIES).unwrap_or_else(|_| CapabilityTable::empty()));

/// A capability table that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("capability table is not valid: {0}")]
pub struct CapabilityTableError(String);

#[derive(Deserialize)]
struct CapabilityFile {
    providers: BTreeMap<String, BTreeMap<String, ModelCapabilities>>,
}

/// Provider kind and model name → [`ModelCapabilities`], as data.
///
/// The JSON form is `{"providers": {"openai": {"gpt-5": {"context_window":
/// 400000, "max_output_tokens": 128000, "token_param":
/// "max_completion_tokens", "fixed_temperature": true, …}, …}, "ollama": {…}}}`
/// (kinds as in a provider spec; fields as [`ModelCapabilities`] serialises
/// them, all but the two limits optional). Names match as in the price table:
/// exactly, else under the names of [`model_names`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CapabilityTable {
    models: BTreeMap<(&'static str, String), ModelCapabilities>,
}

impl CapabilityTable {
    /// The table shipped with the crate.
    pub fn builtin() -> Self {
        SHIPPED.clone()
    }

    /// The shipped table, parsed once (what providers shape requests with).
    pub(crate) fn shipped() -> &'static Self {
        &SHIPPED
    }

    /// A table that knows no model.
    pub fn empty() -> Self {
        Self::default()
    }

    /// A table read from JSON (`{"providers": {KIND: {MODEL: {…}}}}`).
    pub fn from_json(json: &str) -> Result<Self, CapabilityTableError> {
        Self::empty().merge_json(json)
    }

    /// Adds or replaces the entries in `json` (same form as [`CapabilityTable::from_json`]).
    pub fn merge_json(mut self, json: &str) -> Result<Self, CapabilityTableError> {
        let file: CapabilityFile = serde_json::from_str(json).map_err(|e| CapabilityTableError(e.to_string()))?;
        for (kind_name, models) in file.providers {
            let kind = ProviderKind::ALL
                .into_iter()
                .find(|k| k.as_str() == kind_name)
                .ok_or_else(|| CapabilityTableError(format!("unknown provider kind {kind_name:?}")))?;
            for (model, caps) in models {
                self.models.insert((kind.as_str(), model), caps);
            }
        }
        Ok(self)
    }

    /// Adds or replaces the capabilities of `model` served by `kind`.
    pub fn with_override(mut self, kind: ProviderKind, model: impl Into<String>, caps: ModelCapabilities) -> Self {
        self.models.insert((kind.as_str(), model.into()), caps);
        self
    }

    /// The capabilities of `model` served by `kind`, if the table knows them.
    pub fn lookup(&self, kind: ProviderKind, model: &str) -> Option<&ModelCapabilities> {
        model_names(model).into_iter().find_map(|name| self.models.get(&(kind.as_str(), name.to_owned())))
    }

    /// Every entry: kind, model name, capabilities.
    pub fn entries(&self) -> impl Iterator<Item = (ProviderKind, &str, &ModelCapabilities)> {
        self.models.iter().filter_map(|((kind, model), caps)| {
            let kind = ProviderKind::ALL.into_iter().find(|k| k.as_str() == *kind)?;
            Some((kind, model.as_str(), caps))
        })
    }

    /// How many entries the table has.
    pub fn len(&self) -> usize {
        self.models.len()
    }

    /// Whether the table has no entry.
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_core::provider::TokenParam;

    #[test]
    fn shipped_table_parses_and_covers_every_kind() {
        let table = CapabilityTable::from_json(BUILTIN_CAPABILITIES).unwrap();
        assert_eq!(table, CapabilityTable::builtin());
        for kind in ProviderKind::ALL {
            assert!(table.entries().any(|(k, _, _)| k == kind), "{kind}");
        }
    }

    #[test]
    fn reasoning_models_take_max_completion_tokens_and_chat_models_max_tokens() {
        let table = CapabilityTable::builtin();
        for model in ["gpt-5", "gpt-5-nano", "o1", "o3", "o3-mini", "o4-mini-2025-04-16"] {
            let caps = table.lookup(ProviderKind::OpenAi, model).unwrap();
            assert_eq!(caps.token_param, TokenParam::MaxCompletionTokens, "{model}");
            assert!(caps.fixed_temperature, "{model}");
        }
        for model in ["gpt-4.1-mini", "gpt-4o-2024-08-06"] {
            let caps = table.lookup(ProviderKind::OpenAi, model).unwrap();
            assert_eq!(caps.token_param, TokenParam::MaxTokens, "{model}");
            assert!(!caps.fixed_temperature, "{model}");
        }
    }

    #[test]
    fn entries_are_per_provider_kind() {
        let table = CapabilityTable::builtin();
        assert!(table.lookup(ProviderKind::OpenAi, "gpt-5").is_some());
        assert!(table.lookup(ProviderKind::Ollama, "gpt-5").is_none());
        assert!(table.lookup(ProviderKind::Gemini, "models/gemini-2.5-pro").is_some());
    }

    #[test]
    fn an_unknown_kind_in_json_is_refused() {
        let json = r#"{"providers": {"mistral": {"large": {"context_window": 1, "max_output_tokens": 1}}}}"#;
        assert!(CapabilityTable::from_json(json).is_err());
    }
}
