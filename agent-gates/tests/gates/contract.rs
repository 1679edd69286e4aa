//! The contract gate on real repositories: JSON Schema and OpenAPI
//! documents changed in a git repository (the diff is `git diff`'s), and
//! tiny real Rust crates documented with the machine's cargo and rustdoc.

use crate::common::{git, init_repo, write};
use agent_core::Gate;
use agent_core::edit::FileChange;
use agent_core::exec::ExecError;
use agent_core::gate::{GateContext, GateError};
use agent_core::spec::AcceptanceCriterion;
use agent_core::spec::TaskSpec;
use agent_core::workspace::WorkspaceProfile;
use agent_gates::{BreakKind, ContractCheck, ContractGate, gates_for_spec};
use agent_sandbox::ProcessExecutor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A repository whose first commit holds `before`; then `after` is written
/// over it (`None` deletes a file) and staged. The context carries
/// `git diff --cached` and the changed paths.
fn changed_repo(before: &[(&str, &str)], after: &[(&str, Option<&str>)]) -> (tempfile::TempDir, GateContext) {
    let repo = init_repo();
    let root = repo.path();
    for (path, text) in before {
        write(root, path, text.as_bytes());
    }
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "before"]);
    for (path, text) in after {
        match text {
            Some(text) => write(root, path, text.as_bytes()),
            None => std::fs::remove_file(root.join(path)).unwrap(),
        }
    }
    git(root, &["add", "-A"]);
    let diff = git(root, &["diff", "--cached"]);
    let changes =
        git(root, &["diff", "--cached", "--name-only"]).lines().map(|p| FileChange::new(p, "modified")).collect();
    let cx = GateContext::new(root, WorkspaceProfile::new(root), "goal", changes).with_diff(diff);
    (repo, cx)
}

fn gate() -> ContractGate {
    ContractGate::new(Arc::new(ProcessExecutor::new()))
}

async fn compare(cx: &GateContext) -> ContractCheck {
    gate().with_rust(false).compare(cx).await.unwrap()
}

fn kinds(check: &ContractCheck) -> Vec<(BreakKind, &str)> {
    check.changes.iter().map(|c| (c.kind, c.subject.as_str())).collect()
}

const USER: &str = r##"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "properties": {
    "name": {"type": "string"},
    "email": {"type": "string", "format": "email"},
    "age": {"type": "number"},
    "role": {"enum": ["admin", "member", "guest"]},
    "address": {"$ref": "#/$defs/address"}
  },
  "required": ["name"],
  "$defs": {
    "address": {"type": "object", "properties": {"street": {"type": "string"}, "zip": {"type": "string"}}}
  }
}
"##;

#[tokio::test]
async fn a_removed_schema_property_fails_and_an_unchanged_schema_passes() {
    // Detected by its `$schema` key: the file is not named `*.schema.json`.
    let edited = USER.replace(r#"    "email": {"type": "string", "format": "email"},"#, "");
    let (_repo, cx) = changed_repo(&[("api/user.json", USER)], &[("api/user.json", Some(&edited))]);
    let report = gate().with_rust(false).check(&cx).await.unwrap();
    assert!(!report.passed, "{report:?}");
    assert_eq!(
        report.findings,
        [
            r#"[removed_property] api/user.json#/properties/email: before {"format":"email","type":"string"}, after (none) — not declared"#
        ]
    );

    // Only the description changed: the same contract, no finding.
    let described = USER.replace(r#""type": "object","#, r#""type": "object", "description": "a user","#);
    let (_repo, cx) = changed_repo(&[("api/user.json", USER)], &[("api/user.json", Some(&described))]);
    let check = compare(&cx).await;
    assert_eq!(check.documents, ["api/user.json"]);
    assert!(check.changes.is_empty(), "{:?}", check.changes);
    assert!(gate().with_rust(false).check(&cx).await.unwrap().passed);
}

#[tokio::test]
async fn a_property_removed_while_one_with_the_same_schema_appears_is_reported_as_a_rename() {
    let edited = USER.replace(
        r#""email": {"type": "string", "format": "email"}"#,
        r#""mail": {"type": "string", "format": "email"}"#,
    );
    let (_repo, cx) =
        changed_repo(&[("schemas/user.schema.json", USER)], &[("schemas/user.schema.json", Some(&edited))]);
    let check = compare(&cx).await;
    assert_eq!(kinds(&check), [(BreakKind::RenamedProperty, "schemas/user.schema.json#/properties/email")]);
    assert_eq!(check.changes[0].before.as_deref(), Some("email"));
    assert_eq!(check.changes[0].after.as_deref(), Some("mail"));
    assert!(!gate().with_rust(false).check(&cx).await.unwrap().passed);
}

#[tokio::test]
async fn a_newly_required_field_fails_in_a_configured_schema_file() {
    // Neither named `*.schema.json` nor holding `$schema`: the configured glob makes it a contract.
    let plain = USER.replace(
        r#"  "$schema": "https://json-schema.org/draft/2020-12/schema",
"#,
        "",
    );
    let edited = plain.replace(r#""required": ["name"]"#, r#""required": ["name", "email"]"#);
    let (_repo, cx) = changed_repo(&[("contracts/user.json", &plain)], &[("contracts/user.json", Some(&edited))]);
    assert!(compare(&cx).await.documents.is_empty(), "not a contract without the glob");
    let check = gate().with_rust(false).with_schemas(["contracts/*.json"]).unwrap().compare(&cx).await.unwrap();
    assert_eq!(kinds(&check), [(BreakKind::NewRequired, "contracts/user.json#/properties/email")]);
}

#[tokio::test]
async fn narrowed_types_fail_through_refs_while_widened_types_and_optional_properties_pass() {
    let narrowed = USER
        .replace(r#""age": {"type": "number"}"#, r#""age": {"type": "integer"}"#)
        .replace(r#"["admin", "member", "guest"]"#, r#"["admin", "member"]"#)
        .replace(r#""name": {"type": "string"}"#, r#""name": {"type": "string", "maxLength": 40}"#)
        .replace(r#""zip": {"type": "string"}}"#, r#""zip": {"type": "string", "pattern": "^[0-9]{5}$"}}"#)
        .replace(r#""required": ["name"],"#, r#""required": ["name"], "additionalProperties": false,"#);
    let (_repo, cx) = changed_repo(&[("user.schema.json", USER)], &[("user.schema.json", Some(&narrowed))]);
    let check = compare(&cx).await;
    let mut found = kinds(&check);
    found.sort();
    assert_eq!(
        found,
        [
            (BreakKind::NarrowedType, "user.schema.json#"),
            (BreakKind::NarrowedType, "user.schema.json#/properties/address/properties/zip"),
            (BreakKind::NarrowedType, "user.schema.json#/properties/age"),
            (BreakKind::NarrowedType, "user.schema.json#/properties/name"),
            (BreakKind::NarrowedType, "user.schema.json#/properties/role"),
        ]
    );
    let age = check.changes.iter().find(|c| c.subject.ends_with("/age")).unwrap();
    assert_eq!((age.before.as_deref(), age.after.as_deref()), (Some("type: number"), Some("type: integer")));

    // The other way: integer widened to number, a new enum value, a new optional property.
    let widened = USER
        .replace(r#"["admin", "member", "guest"]"#, r#"["admin", "member", "guest", "owner"]"#)
        .replace(r#""age": {"type": "number"}"#, r#""age": {"type": ["number", "null"]}"#)
        .replace(r#""zip": {"type": "string"}}"#, r#""zip": {"type": "string"}, "city": {"type": "string"}}"#);
    let (_repo, cx) = changed_repo(&[("user.schema.json", USER)], &[("user.schema.json", Some(&widened))]);
    let check = compare(&cx).await;
    assert_eq!(check.documents, ["user.schema.json"]);
    assert!(check.changes.is_empty(), "{:?}", check.changes);
    assert!(gate().with_rust(false).check(&cx).await.unwrap().passed);
}

const PETS: &str = "openapi: 3.0.3
info: {title: pets, version: '1'}
paths:
  /pets:
    get:
      parameters:
        - {name: limit, in: query, schema: {type: integer}}
      responses:
        200:
          description: the pets
          content:
            application/json:
              schema: {type: array, items: {$ref: '#/components/schemas/Pet'}}
    post:
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Pet'}
      responses:
        201: {description: created}
    delete:
      responses:
        204: {description: gone}
  /pets/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        200: {description: a pet}
components:
  schemas:
    Pet:
      type: object
      required: [name]
      properties:
        name: {type: string}
        tag: {type: string}
";

#[tokio::test]
async fn a_removed_endpoint_fails_and_an_added_endpoint_passes() {
    let removed = PETS.replace(
        "  /pets/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        200: {description: a pet}
",
        "",
    );
    let (_repo, cx) = changed_repo(&[("api/openapi.yaml", PETS)], &[("api/openapi.yaml", Some(&removed))]);
    let check = compare(&cx).await;
    assert_eq!(kinds(&check), [(BreakKind::RemovedEndpoint, "/pets/{id}")]);
    assert_eq!(check.changes[0].contract, "api/openapi.yaml");
    assert!(!gate().with_rust(false).check(&cx).await.unwrap().passed);

    let added = PETS.replace(
        "components:",
        "  /owners:
    get:
      responses:
        200: {description: the owners}
components:",
    );
    let (_repo, cx) = changed_repo(&[("api/openapi.yaml", PETS)], &[("api/openapi.yaml", Some(&added))]);
    let check = compare(&cx).await;
    assert_eq!(check.documents, ["api/openapi.yaml"]);
    assert!(check.changes.is_empty(), "{:?}", check.changes);
}

#[tokio::test]
async fn a_removed_operation_parameter_response_and_a_required_request_field_fail_in_openapi() {
    let edited = PETS
        .replace("    delete:\n      responses:\n        204: {description: gone}\n", "")
        .replace(
            "        - {name: limit, in: query, schema: {type: integer}}\n",
            "        - {name: page, in: query, required: true, schema: {type: integer}}\n",
        )
        .replace("        201: {description: created}\n", "        202: {description: accepted}\n")
        .replace("      required: [name]\n", "      required: [name, tag]\n");
    // Detected by the top-level `openapi` key, whatever the file is called.
    let (_repo, cx) = changed_repo(&[("docs/service.yml", PETS)], &[("docs/service.yml", Some(&edited))]);
    let check = compare(&cx).await;
    let mut found = kinds(&check);
    found.sort();
    assert_eq!(
        found,
        [
            (BreakKind::NewRequired, "POST /pets request application/json#/properties/tag"),
            (BreakKind::RemovedOperation, "DELETE /pets"),
            (BreakKind::RemovedParameter, "GET /pets parameter query limit"),
            (BreakKind::NewRequiredParameter, "GET /pets parameter query page"),
            (BreakKind::RemovedResponse, "POST /pets response 201"),
        ]
    );
}

#[tokio::test]
async fn a_declared_breaking_change_passes_and_the_report_names_the_declaration() {
    let edited = PETS.replace("    delete:\n      responses:\n        204: {description: gone}\n", "");
    let (_repo, cx) = changed_repo(&[("openapi.yaml", PETS)], &[("openapi.yaml", Some(&edited))]);
    let spec = TaskSpec::new("drop bulk deletion").allowing_break("DELETE /pets");
    let report = gate().with_rust(false).allowing(spec.breaking_changes.clone()).check(&cx).await.unwrap();
    assert!(report.passed, "{report:?}");
    assert_eq!(
        report.findings,
        [
            "[removed_operation] DELETE /pets: before defined, after (none) (in openapi.yaml) — declared breaking by `DELETE /pets`"
        ]
    );
    assert!(report.summary.contains("1 breaking change(s), 1 declared"), "{}", report.summary);

    // A spec whose criterion names the contract gate gets one allowing its declarations.
    let criterion = AcceptanceCriterion::new("api", "clients keep working").proved_by_gate("contract");
    let built =
        gates_for_spec(&spec.clone().with_criterion(criterion.clone()), Arc::new(ProcessExecutor::new())).unwrap();
    assert!(built.left_to_host.is_empty());
    assert!(built.gates[0].check(&cx).await.unwrap().passed);
    let undeclared = TaskSpec::new("drop bulk deletion").with_criterion(criterion);
    let built = gates_for_spec(&undeclared, Arc::new(ProcessExecutor::new())).unwrap();
    assert!(!built.gates[0].check(&cx).await.unwrap().passed);

    // A declaration of something else leaves it undeclared.
    let report = gate().with_rust(false).allowing(["GET /pets"]).check(&cx).await.unwrap();
    assert!(!report.passed);
    // Beneath a declared prefix, and by glob.
    let g = gate().allowing(["mycrate::Shape", "schemas/*.json#/properties/email"]);
    assert_eq!(g.declaration_for("mycrate::Shape::area"), Some("mycrate::Shape"));
    assert_eq!(g.declaration_for("mycrate::Shapes"), None);
    assert_eq!(g.declaration_for("schemas/user.json#/properties/email"), Some("schemas/*.json#/properties/email"));
    assert_eq!(g.declaration_for("schemas/v1/user.json#/properties/email"), None);
}

#[tokio::test]
async fn a_deleted_schema_fails_and_a_changed_json_file_that_is_no_contract_is_ignored() {
    let (_repo, cx) = changed_repo(
        &[("user.schema.json", USER), ("package.json", r#"{"name": "web", "scripts": {"test": "jest"}}"#)],
        &[("user.schema.json", None), ("package.json", Some(r#"{"name": "web"}"#))],
    );
    let check = compare(&cx).await;
    assert_eq!(check.documents, ["user.schema.json"]);
    assert_eq!(kinds(&check), [(BreakKind::RemovedDocument, "user.schema.json")]);
}

// --- Rust: tiny real crates, documented twice with the real cargo and rustdoc.

const LIB: &str = "//! Shapes.

/// A colour.
pub enum Color { Red, Green, Blue }

/// A point.
pub struct Point { pub x: i32, pub y: i32 }

impl Point {
    /// The origin.
    pub fn origin() -> Self { Point { x: 0, y: 0 } }
}

/// The area of a square.
pub fn area(side: u32) -> u32 { side * side }

/// Half of `n`.
pub fn half(n: u32) -> u32 { n / 2 }

/// A shape.
pub trait Shape {
    /// Its area.
    fn area(&self) -> u32;
    /// Its name.
    fn name(&self) -> String { String::new() }
}
";

/// One target directory for every Rust case of this test binary: the
/// crates have no dependencies, and each case names its crate differently
/// so their rustdoc outputs never meet.
fn shared_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("contract-gate-target")
}

fn rust_repo(name: &str, edit: impl Fn(&str) -> String) -> (tempfile::TempDir, GateContext) {
    let manifest = format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n");
    changed_repo(
        &[("Cargo.toml", &manifest), ("src/lib.rs", LIB), ("README.md", "shapes\n")],
        &[("src/lib.rs", Some(&edit(LIB)))],
    )
}

async fn rust_check(cx: &GateContext) -> ContractCheck {
    gate().with_target_dir(shared_target()).compare(cx).await.unwrap()
}

#[tokio::test]
async fn a_removed_public_function_fails_and_an_added_one_passes() {
    let (_repo, cx) =
        rust_repo("shapes_removed", |l| l.replace("/// Half of `n`.\npub fn half(n: u32) -> u32 { n / 2 }\n", ""));
    let check = rust_check(&cx).await;
    assert_eq!(check.crates, ["shapes_removed"]);
    assert_eq!(kinds(&check), [(BreakKind::RemovedItem, "shapes_removed::half")]);
    assert_eq!(check.changes[0].before.as_deref(), Some("fn half(u32) -> u32"));
    let report = gate().with_target_dir(shared_target()).check(&cx).await.unwrap();
    assert!(!report.passed);
    assert!(report.summary.contains("rustdoc"), "{}", report.summary);

    // A new function, and a trait method with a default: nothing breaks.
    let (_repo, cx) = rust_repo("shapes_added", |l| {
        format!("{l}\n/// Twice `n`.\npub fn double(n: u32) -> u32 {{ n * 2 }}\n").replace(
            "    fn area(&self) -> u32;\n",
            "    fn area(&self) -> u32;\n    /// Sides.\n    fn sides(&self) -> u32 { 0 }\n",
        )
    });
    let check = rust_check(&cx).await;
    assert_eq!(check.crates, ["shapes_added"]);
    assert!(check.changes.is_empty(), "{:?}", check.changes);
}

#[tokio::test]
async fn a_changed_signature_fails_and_a_body_only_change_passes() {
    let (_repo, cx) = rust_repo("shapes_sig", |l| {
        l.replace(
            "pub fn area(side: u32) -> u32 { side * side }",
            "pub fn area(side: u64) -> Option<u64> { side.checked_mul(side) }",
        )
        .replace("pub fn origin() -> Self", "pub fn origin(at: i32) -> Self")
        .replace("Point { x: 0, y: 0 }", "Point { x: at, y: at }")
    });
    let check = rust_check(&cx).await;
    let mut found = kinds(&check);
    found.sort();
    assert_eq!(
        found,
        [(BreakKind::ChangedSignature, "shapes_sig::Point::origin"), (BreakKind::ChangedSignature, "shapes_sig::area")]
    );
    let area = check.changes.iter().find(|c| c.subject == "shapes_sig::area").unwrap();
    assert_eq!(
        (area.before.as_deref(), area.after.as_deref()),
        (Some("fn area(u32) -> u32"), Some("fn area(u64) -> Option<u64>"))
    );

    let (_repo, cx) = rust_repo("shapes_body", |l| l.replace("side * side", "side.pow(2)"));
    let check = rust_check(&cx).await;
    assert_eq!(check.crates, ["shapes_body"]);
    assert!(check.changes.is_empty(), "{:?}", check.changes);
}

#[tokio::test]
async fn a_removed_variant_a_variant_or_field_added_to_an_exhaustive_type_and_a_required_trait_method_fail_unless_declared()
 {
    let (_repo, cx) = rust_repo("shapes_enum", |l| {
        l.replace("Red, Green, Blue", "Red, Green, Cyan")
            .replace("pub x: i32, pub y: i32", "pub x: i32, pub y: i32, pub z: i32")
            .replace("x: 0, y: 0", "x: 0, y: 0, z: 0")
            .replace(
                "    fn area(&self) -> u32;\n",
                "    fn area(&self) -> u32;\n    /// Its perimeter.\n    fn perimeter(&self) -> u32;\n",
            )
    });
    let check = rust_check(&cx).await;
    let mut found = kinds(&check);
    found.sort();
    assert_eq!(
        found,
        [
            (BreakKind::RemovedVariant, "shapes_enum::Color::Blue"),
            (BreakKind::AddedVariant, "shapes_enum::Color::Cyan"),
            (BreakKind::AddedField, "shapes_enum::Point::z"),
            (BreakKind::AddedTraitMethod, "shapes_enum::Shape::perimeter"),
        ]
    );
    let report = gate()
        .with_target_dir(shared_target())
        .allowing(["shapes_enum::Color", "shapes_enum::Point::*"])
        .check(&cx)
        .await
        .unwrap();
    assert!(!report.passed, "the trait method is not declared: {report:?}");
    let report = gate()
        .with_target_dir(shared_target())
        .allowing(["shapes_enum::Color", "shapes_enum::Point::*", "shapes_enum::Shape::perimeter"])
        .check(&cx)
        .await
        .unwrap();
    assert!(report.passed, "{report:?}");
    assert!(report.findings.iter().all(|f| f.contains("declared breaking by")), "{:?}", report.findings);
}

#[tokio::test]
async fn a_missing_cargo_is_a_typed_exec_error() {
    let (_repo, cx) = rust_repo("shapes_nocargo", |l| l.replace("side * side", "side.pow(2)"));
    let err = gate()
        .with_cargo("cargo-that-does-not-exist-7f3a")
        .with_target_dir(shared_target())
        .check(&cx)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, GateError::Exec { gate, source: ExecError::ProgramNotFound { program } } if gate == "contract" && program == "cargo-that-does-not-exist-7f3a"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_change_given_without_its_diff_is_not_applicable_and_no_change_passes() {
    let (_repo, cx) = changed_repo(&[("user.schema.json", USER)], &[("user.schema.json", Some("{}"))]);
    let without_diff = GateContext::new(&cx.root, WorkspaceProfile::new(&cx.root), "goal", cx.changes.clone());
    let err = gate().check(&without_diff).await.unwrap_err();
    assert!(matches!(err, GateError::NotApplicable { ref gate, .. } if gate == "contract"), "{err:?}");
    let nothing = GateContext::new(&cx.root, WorkspaceProfile::new(&cx.root), "goal", vec![]);
    assert!(gate().check(&nothing).await.unwrap().passed);
}

#[tokio::test]
async fn a_property_removed_from_a_shared_component_is_reported_where_clients_send_and_receive_it() {
    let edited = PETS.replace("        tag: {type: string}\n", "");
    let (_repo, cx) = changed_repo(&[("openapi.yml", PETS)], &[("openapi.yml", Some(&edited))]);
    let check = compare(&cx).await;
    let mut found = kinds(&check);
    found.sort();
    assert_eq!(
        found,
        [
            (BreakKind::RemovedProperty, "GET /pets response 200 application/json#/items/properties/tag"),
            (BreakKind::RemovedProperty, "POST /pets request application/json#/properties/tag"),
        ]
    );
    // Declaring the operation that receives it leaves the other one failing.
    let report = gate().with_rust(false).allowing(["GET /pets"]).check(&cx).await.unwrap();
    assert!(!report.passed);
    assert_eq!(report.findings.iter().filter(|f| f.ends_with("declared breaking by `GET /pets`")).count(), 1);
}
