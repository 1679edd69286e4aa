//! Structured output: the schema goes out as `response_format`, the answer is
//! checked on receipt and every failure is typed.

use crate::common::*;
use agent_core::provider::ProviderErrorKind;
use agent_providers::structured::{StructuredError, complete_structured};
use schemars::JsonSchema;
use serde::Deserialize;
use wiremock::ResponseTemplate;

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Plan {
    summary: String,
    steps: Vec<Step>,
}

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Step {
    file: String,
    line: u32,
}

async fn ask_for_plan(answer: &str) -> (Result<agent_providers::Structured<Plan>, StructuredError>, serde_json::Value) {
    let server = server_with(ok(answer)).await;
    let provider = provider_for(&server);
    let result = complete_structured::<Plan>(&provider, ask("plan it")).await;
    (result, only_request_body(&server).await)
}

const VALID: &str = r#"{"summary":"fix the off-by-one","steps":[{"file":"src/lib.rs","line":42}]}"#;

fn expected() -> Plan {
    Plan { summary: "fix the off-by-one".into(), steps: vec![Step { file: "src/lib.rs".into(), line: 42 }] }
}

#[tokio::test]
async fn a_valid_answer_is_read_into_the_type_and_the_schema_was_sent() {
    let (result, body) = ask_for_plan(VALID).await;
    let answer = result.unwrap();
    assert_eq!(answer.value, expected());
    assert_eq!(answer.completion.content, VALID);
    assert_eq!(answer.completion.usage.input_tokens, 20, "the completion comes along");

    let format = &body["response_format"];
    assert_eq!(format["type"], "json_schema");
    assert_eq!(format["json_schema"]["name"], "Plan");
    let schema = &format["json_schema"]["schema"];
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["required"], serde_json::json!(["summary", "steps"]));
    assert_eq!(schema["additionalProperties"], false, "deny_unknown_fields shows in the schema");
    assert!(schema.get("$schema").is_none(), "the meta-schema URL is not sent");
}

#[tokio::test]
async fn a_fenced_answer_is_unwrapped_before_it_is_read() {
    let (result, _) = ask_for_plan(&format!("```json\n{VALID}\n```")).await;
    assert_eq!(result.unwrap().value, expected());
}

#[tokio::test]
async fn a_wrong_type_is_a_schema_violation_naming_the_path() {
    let wrong = r#"{"summary":"x","steps":[{"file":"a.rs","line":1},{"file":"b.rs","line":"seven"}]}"#;
    let (result, _) = ask_for_plan(wrong).await;
    match result {
        Err(StructuredError::SchemaViolation { path, message, raw, completion }) => {
            assert_eq!(path, "steps[1].line");
            assert!(message.contains("invalid type"), "{message}");
            assert_eq!(raw, wrong);
            assert_eq!(completion.content, wrong);
        }
        other => panic!("expected a schema violation, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unknown_key_is_a_schema_violation_when_the_type_denies_them() {
    let (result, _) = ask_for_plan(r#"{"summary":"x","steps":[],"extra":1}"#).await;
    assert!(matches!(result, Err(StructuredError::SchemaViolation { ref message, .. }) if message.contains("extra")));
}

#[tokio::test]
async fn prose_is_not_json() {
    let (result, _) = ask_for_plan("Sure! The plan is to fix the off-by-one.").await;
    match result {
        Err(StructuredError::NotJson { message, raw, .. }) => {
            assert!(message.contains("line 1"), "{message}");
            assert_eq!(raw, "Sure! The plan is to fix the off-by-one.");
        }
        other => panic!("expected NotJson, got {other:?}"),
    }
}

#[tokio::test]
async fn json_followed_by_more_text_is_not_json() {
    let (result, _) = ask_for_plan(&format!("{VALID} and that is all")).await;
    assert!(matches!(result, Err(StructuredError::NotJson { .. })), "{result:?}");
}

#[tokio::test]
async fn a_provider_failure_is_passed_through_with_its_class() {
    let server = server_with(ResponseTemplate::new(401).set_body_string(error_body(
        "Incorrect API key provided",
        "invalid_request_error",
        Some("invalid_api_key"),
    )))
    .await;
    let result = complete_structured::<Plan>(&provider_for(&server), ask("plan it")).await;
    assert!(matches!(result, Err(StructuredError::Provider(ref e)) if e.kind == ProviderErrorKind::Auth), "{result:?}");
}
