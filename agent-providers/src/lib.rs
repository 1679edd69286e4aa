//! `agent-providers`: LLM providers (OpenAI Chat Completions, …) and provider layers: record/replay, retry, cascade, cost.
