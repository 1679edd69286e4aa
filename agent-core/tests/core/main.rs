//! Integration tests of `agent-core`'s data: task specs (parsing, schema,
//! what they name), the regression comparison of two runs, the masking of
//! secrets in command lines and environment names.
#![allow(clippy::unwrap_used)]

mod redact;

use agent_core::spec::{AcceptanceCriterion, NonGoal, SpecError, TaskSpec};

#[test]
fn a_spec_round_trips_and_names_its_tests_gates_and_protected_paths() {
    let spec = TaskSpec::new("mean() panics on an empty slice")
        .with_criterion(AcceptanceCriterion::new("empty", "mean(&[]) is None").proved_by_test("mean_of_empty_is_none"))
        .with_criterion(AcceptanceCriterion::new("lint", "clippy is clean").proved_by_gate("static"))
        .with_criterion(AcceptanceCriterion::new("same", "other tests pass").proved_by_test("mean_of_empty_is_none"))
        .with_non_goal(NonGoal::new("no API change").touching(["src/api/**", "Cargo.toml"]))
        .with_constraint("no new dependency");
    assert_eq!(spec.named_tests(), ["mean_of_empty_is_none"]);
    assert_eq!(spec.gates(), ["tests", "static"]);
    assert_eq!(spec.protected_paths(), ["src/api/**", "Cargo.toml"]);
    let goal = spec.goal();
    assert!(goal.starts_with("mean() panics on an empty slice\n\nNon-goals (do not do these):\n- no API change (leave src/api/**, Cargo.toml untouched)"), "{goal}");
    assert!(goal.contains("\n\nConstraints:\n- no new dependency"));
    let json = serde_json::to_string(&spec).unwrap();
    assert_eq!(TaskSpec::parse(&json).unwrap(), spec);
    let schema = serde_json::to_value(schemars::schema_for!(TaskSpec)).unwrap();
    assert!(schema["properties"]["acceptance_criteria"].is_object());
}

#[test]
fn a_misspelt_field_an_empty_problem_and_duplicate_ids_are_refused() {
    let misspelt = r#"{"problem":"p","acceptance_criterias":[]}"#;
    assert!(matches!(TaskSpec::parse(misspelt), Err(SpecError::NotASpec(_))));
    assert!(matches!(TaskSpec::parse(r#"{"problem":"  "}"#), Err(SpecError::EmptyProblem)));
    let dup = r#"{"problem":"p","acceptance_criteria":[{"id":"a","description":"x"},{"id":"a","description":"y"}]}"#;
    assert!(matches!(TaskSpec::parse(dup), Err(SpecError::DuplicateCriterion { id }) if id == "a"));
}

#[test]
fn declared_breaking_changes_round_trip_are_in_the_schema_and_are_optional() {
    let spec = TaskSpec::new("rename the email field").allowing_break("schemas/user.schema.json#/properties/email");
    let json = serde_json::to_string(&spec).unwrap();
    assert!(json.contains(r#""breaking_changes":["schemas/user.schema.json#/properties/email"]"#), "{json}");
    assert_eq!(TaskSpec::parse(&json).unwrap(), spec);
    // A spec written before the field existed still parses, and an empty list is not written.
    let old = TaskSpec::parse(r#"{"problem":"p"}"#).unwrap();
    assert!(old.breaking_changes.is_empty());
    assert!(!serde_json::to_string(&old).unwrap().contains("breaking_changes"));
    let schema = serde_json::to_value(schemars::schema_for!(TaskSpec)).unwrap();
    assert_eq!(schema["properties"]["breaking_changes"]["type"], "array");
    assert!(spec.goal().contains("Contract changes allowed to break:\n- schemas/user.schema.json#/properties/email"));
}
