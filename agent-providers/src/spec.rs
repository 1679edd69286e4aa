//! [`ProviderSpec`]: a provider written as text, `KIND:MODEL[@BASE_URL]`, and
//! [`build_provider`], which turns one into a provider.
//!
//! ```
//! use agent_providers::{ProviderKind, ProviderSpec};
//!
//! let spec: ProviderSpec = "ollama:qwen2.5:7b@http://gpu-box:11434".parse().unwrap();
//! assert_eq!(spec.kind, ProviderKind::Ollama);
//! assert_eq!(spec.model, "qwen2.5:7b");
//! assert_eq!(spec.base_url.as_deref(), Some("http://gpu-box:11434"));
//! assert!("mistral:large".parse::<ProviderSpec>().is_err());
//!
//! // The OpenAI Responses API, and an Azure OpenAI deployment.
//! assert_eq!("openai-responses:o3".parse::<ProviderSpec>().unwrap().kind, ProviderKind::OpenAiResponses);
//! let azure: ProviderSpec = "azure:my-gpt-4o@https://contoso.openai.azure.com".parse().unwrap();
//! assert_eq!((azure.kind, azure.model.as_str()), (ProviderKind::Azure, "my-gpt-4o"));
//! ```

use crate::openai::non_empty;
use crate::{AnthropicProvider, GeminiProvider, OllamaProvider, OpenAiProvider, OpenAiResponsesProvider};
use agent_core::LlmProvider;
use agent_core::provider::ProviderId;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

pub use crate::ollama::DEFAULT_OLLAMA_HOST;

/// The wire family of a provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProviderKind {
    /// OpenAI Chat Completions, or any compatible server given a base URL.
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
    /// Google Gemini.
    Gemini,
    /// Ollama's native `/api/chat` (its OpenAI-compatible `/v1` endpoint is
    /// reached with kind `openai` and a base URL).
    Ollama,
    /// The OpenAI Responses API (`POST /responses`), spelled `openai-responses`.
    OpenAiResponses,
    /// An Azure OpenAI deployment (Chat Completions), spelled `azure`; the
    /// model of the spec is the deployment name.
    Azure,
}

impl ProviderKind {
    /// Every kind, in the order they are listed in messages.
    pub const ALL: [ProviderKind; 6] =
        [Self::OpenAi, Self::Anthropic, Self::Gemini, Self::Ollama, Self::OpenAiResponses, Self::Azure];

    /// The lower-case name used in specs and provider ids (`openai`,
    /// `anthropic`, `gemini`, `ollama`, `openai-responses`, `azure`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
            Self::Gemini => "gemini",
            Self::Ollama => "ollama",
            Self::OpenAiResponses => "openai-responses",
            Self::Azure => "azure",
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A provider written `KIND:MODEL[@BASE_URL]`, e.g. `openai:gpt-4.1-mini`,
/// `ollama:qwen2.5:7b`, `openai:llama3@http://localhost:8080/v1`.
///
/// The kind is the text before the first `:`; the model is the rest, and may
/// itself contain `:`. A base URL follows the last `@` that starts an
/// `http://` or `https://` URL.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ProviderSpec {
    /// The wire family.
    pub kind: ProviderKind,
    /// The model name, as the provider spells it.
    pub model: String,
    /// The base URL, when given.
    pub base_url: Option<String>,
}

impl ProviderSpec {
    /// A spec of this kind and model, with no base URL.
    pub fn new(kind: ProviderKind, model: impl Into<String>) -> Self {
        Self { kind, model: model.into(), base_url: None }
    }

    /// Sets the base URL.
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// The id a provider built from this spec reports: `KIND:MODEL`.
    pub fn id(&self) -> ProviderId {
        ProviderId::new(format!("{}:{}", self.kind, self.model))
    }
}

impl fmt::Display for ProviderSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.model)?;
        if let Some(url) = &self.base_url {
            write!(f, "@{url}")?;
        }
        Ok(())
    }
}

/// Why a provider spec could not be parsed or built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// The spec is empty.
    #[error("empty provider spec; expected KIND:MODEL[@BASE_URL]")]
    Empty,
    /// There is no `:` or nothing after it.
    #[error("provider spec {spec:?} names no model; expected KIND:MODEL[@BASE_URL]")]
    MissingModel {
        /// The spec as given.
        spec: String,
    },
    /// The kind is not one this library knows.
    #[error(
        "unknown provider kind {kind:?} in {spec:?}; expected one of openai, anthropic, gemini, ollama, openai-responses, azure"
    )]
    UnknownKind {
        /// The kind as written.
        kind: String,
        /// The spec as given.
        spec: String,
    },
    /// The model name cannot be right.
    #[error("invalid model name {model:?}: {reason}")]
    InvalidModel {
        /// The model as written.
        model: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The base URL is not an `http(s)://` URL.
    #[error("invalid base URL {url:?}: {reason}")]
    InvalidBaseUrl {
        /// The URL as written.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The kind needs a base URL and none was given, neither in the spec
    /// nor in the environment (an Azure resource endpoint).
    #[error("provider kind {kind} needs a base URL: add @https://… to the spec or set {variable}")]
    MissingBaseUrl {
        /// The kind asked for.
        kind: ProviderKind,
        /// The environment variable that would have given it.
        variable: String,
    },
    /// The kind is known but this build cannot construct it (every kind is
    /// buildable at present; kept for kinds added later).
    #[error("provider kind {kind} is not supported yet")]
    Unsupported {
        /// The kind asked for.
        kind: ProviderKind,
    },
}

impl FromStr for ProviderSpec {
    type Err = SpecError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let spec = input.trim();
        if spec.is_empty() {
            return Err(SpecError::Empty);
        }
        let Some((kind_text, rest)) = spec.split_once(':') else {
            return Err(SpecError::MissingModel { spec: spec.to_owned() });
        };
        let kind = ProviderKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(kind_text.trim()))
            .ok_or_else(|| SpecError::UnknownKind { kind: kind_text.to_owned(), spec: spec.to_owned() })?;

        let url_start = rest.rmatch_indices('@').map(|(i, _)| i).find(|&i| {
            let after = rest[i + 1..].to_ascii_lowercase();
            after.starts_with("http://") || after.starts_with("https://")
        });
        let (model, base_url) = match url_start {
            Some(i) => (&rest[..i], Some(validate_base_url(&rest[i + 1..])?)),
            None => (rest, None),
        };
        if model.contains("://") {
            let url = model.split_once('@').map_or(model, |(_, u)| u);
            return Err(SpecError::InvalidBaseUrl {
                url: url.to_owned(),
                reason: "a base URL must start with http:// or https://".to_owned(),
            });
        }
        if model.trim().is_empty() {
            return Err(SpecError::MissingModel { spec: spec.to_owned() });
        }
        if model.chars().any(char::is_whitespace) {
            return Err(SpecError::InvalidModel { model: model.to_owned(), reason: "contains whitespace".to_owned() });
        }
        Ok(Self { kind, model: model.to_owned(), base_url })
    }
}

fn validate_base_url(url: &str) -> Result<String, SpecError> {
    let invalid = |reason: String| SpecError::InvalidBaseUrl { url: url.to_owned(), reason };
    let parsed = reqwest::Url::parse(url).map_err(|e| invalid(e.to_string()))?;
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("no host".to_owned()));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// Builds the provider a spec names, reading keys and base URLs from the
/// process environment. A base URL in the spec wins over the environment.
///
/// - `openai` → [`OpenAiProvider::from_env`]: `OPENAI_API_KEY`, `OPENAI_BASE_URL`.
///   Any Chat Completions server, Ollama's `/v1` endpoint included
///   (`openai:qwen2.5:7b@http://localhost:11434/v1`).
/// - `anthropic` → [`AnthropicProvider::from_env`]: `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`.
/// - `gemini` → [`GeminiProvider::from_env`]: `GEMINI_API_KEY` (else `GOOGLE_API_KEY`).
/// - `ollama` → [`OllamaProvider::from_env`], native `/api/chat` at the spec's base URL,
///   else `OLLAMA_HOST`, else [`DEFAULT_OLLAMA_HOST`]. No key is sent.
/// - `openai-responses` → [`OpenAiResponsesProvider::from_env`], the Responses
///   API (`POST {base}/responses`) with the same variables as `openai`:
///   `OPENAI_API_KEY`, `OPENAI_BASE_URL`. For models served only there
///   (`openai-responses:o3-pro`), and for reasoning carried between turns.
/// - `azure` → [`OpenAiProvider::azure_from_env`]: `azure:DEPLOYMENT`, the
///   resource endpoint from the spec's base URL (`azure:gpt-4o@https://contoso.openai.azure.com`,
///   or a host's own base-URL option put there), else `AZURE_OPENAI_ENDPOINT`; the key from
///   `AZURE_OPENAI_API_KEY` (sent as `api-key`); the version from
///   `AZURE_OPENAI_API_VERSION`, else
///   [`DEFAULT_AZURE_API_VERSION`](crate::openai::DEFAULT_AZURE_API_VERSION).
///   Without an endpoint the build fails with [`SpecError::MissingBaseUrl`].
pub fn build_provider(spec: &ProviderSpec) -> Result<Arc<dyn LlmProvider>, SpecError> {
    build_provider_with_env(spec, &|name| std::env::var(name).ok())
}

/// Like [`build_provider`], with environment variables read through `env`
/// (for hosts with their own configuration, and for tests).
pub fn build_provider_with_env(
    spec: &ProviderSpec,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Arc<dyn LlmProvider>, SpecError> {
    let base_url = spec.base_url.clone();
    Ok(match spec.kind {
        ProviderKind::OpenAi => Arc::new(OpenAiProvider::from_lookup(&spec.model, base_url, env)),
        ProviderKind::Anthropic => Arc::new(AnthropicProvider::from_lookup(&spec.model, base_url, env)),
        ProviderKind::Gemini => Arc::new(GeminiProvider::from_lookup(&spec.model, base_url, env)),
        ProviderKind::Ollama => Arc::new(OllamaProvider::from_lookup(&spec.model, base_url, env)),
        ProviderKind::OpenAiResponses => Arc::new(OpenAiResponsesProvider::from_lookup(&spec.model, base_url, env)),
        ProviderKind::Azure => {
            let variable = "AZURE_OPENAI_ENDPOINT";
            let endpoint = match non_empty(base_url).or_else(|| non_empty(env(variable))) {
                Some(url) => validate_base_url(url.trim())?,
                None => return Err(SpecError::MissingBaseUrl { kind: spec.kind, variable: variable.to_owned() }),
            };
            match OpenAiProvider::azure_from_lookup(&spec.model, Some(endpoint), env) {
                Some(provider) => Arc::new(provider),
                None => return Err(SpecError::MissingBaseUrl { kind: spec.kind, variable: variable.to_owned() }),
            }
        }
    })
}
