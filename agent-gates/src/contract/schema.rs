//! JSON Schema and OpenAPI documents: reading them (JSON, or YAML with
//! [`saphyr`]), telling which files are contracts, and comparing a before
//! and an after document for breaking changes.

use super::{BreakKind, BreakingChange};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// What kind of contract a document is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DocKind {
    /// A JSON Schema.
    JsonSchema,
    /// An OpenAPI (or Swagger 2) description.
    OpenApi,
}

impl DocKind {
    /// For reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::JsonSchema => "a JSON Schema",
            Self::OpenApi => "an OpenAPI description",
        }
    }
}

/// Whether a schema describes what clients send (inputs: request bodies,
/// parameters, and stand-alone JSON Schemas, whose use is unknown and so
/// judged strictly) or what they receive (responses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// Clients send it: narrowing and new required fields break them.
    Input,
    /// Clients receive it: removed fields break them.
    Output,
}

/// Whether `path` may hold a JSON or YAML document.
pub(crate) fn is_document_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.ends_with(".json") || lower.ends_with(".yaml") || lower.ends_with(".yml")
}

/// Reads a JSON or YAML document (`None` when it is neither).
pub(crate) fn parse_document(path: &str, text: &str) -> Option<Value> {
    if path.to_ascii_lowercase().ends_with(".json") {
        return serde_json::from_str(text).ok();
    }
    let docs = <saphyr::Yaml<'_> as saphyr::LoadableYamlNode>::load_from_str(text).ok()?;
    docs.first().map(yaml_to_json)
}

fn yaml_to_json(node: &saphyr::Yaml<'_>) -> Value {
    use saphyr::{Scalar, Yaml};
    match node {
        Yaml::Value(Scalar::Null) | Yaml::BadValue | Yaml::Alias(_) | Yaml::Representation(..) => Value::Null,
        Yaml::Value(Scalar::Boolean(b)) => Value::Bool(*b),
        Yaml::Value(Scalar::Integer(i)) => Value::from(*i),
        Yaml::Value(Scalar::FloatingPoint(f)) => {
            serde_json::Number::from_f64(f.into_inner()).map_or(Value::Null, Value::Number)
        }
        Yaml::Value(Scalar::String(s)) => Value::String(s.to_string()),
        Yaml::Sequence(items) => Value::Array(items.iter().map(yaml_to_json).collect()),
        Yaml::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                // Response codes are integers in YAML (`200:`): keys become their text.
                let key = match yaml_to_json(k) {
                    Value::String(s) => s,
                    Value::Null => continue,
                    other => other.to_string(),
                };
                out.insert(key, yaml_to_json(v));
            }
            Value::Object(out)
        }
        Yaml::Tagged(_, inner) => yaml_to_json(inner),
    }
}

/// The kind of contract `doc` at `path` is, if any: OpenAPI when it has a
/// top-level `openapi` or `swagger` key or is named `openapi.*` /
/// `swagger.*`; JSON Schema when named `*.schema.json` (`.yaml`, `.yml`),
/// when it has a `$schema` key, or when `declared` (a configured glob matched).
pub(crate) fn doc_kind(path: &str, doc: &Value, declared: bool) -> Option<DocKind> {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let obj = doc.as_object()?;
    let stem = name.split('.').next().unwrap_or_default();
    if obj.contains_key("openapi") || obj.contains_key("swagger") || stem == "openapi" || stem == "swagger" {
        return Some(DocKind::OpenApi);
    }
    let schema_named = [".schema.json", ".schema.yaml", ".schema.yml"].iter().any(|s| name.ends_with(s));
    if schema_named || obj.contains_key("$schema") || declared {
        return Some(DocKind::JsonSchema);
    }
    None
}

/// Escapes one JSON Pointer token.
fn token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

fn unescape(s: &str) -> String {
    s.replace("~1", "/").replace("~0", "~")
}

/// `doc` at the local reference `reference` (`#/components/schemas/Pet`).
fn resolve_pointer<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    let mut node = doc;
    for part in pointer.split('/').skip(1) {
        let part = unescape(part);
        node = match node {
            Value::Object(map) => map.get(&part)?,
            Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

/// Follows `$ref`s within the document (at most 32 in a row).
fn deref<'a>(doc: &'a Value, mut node: &'a Value) -> (&'a Value, Option<String>) {
    let mut last = None;
    for _ in 0..32 {
        let Some(reference) = node.get("$ref").and_then(Value::as_str) else { break };
        let Some(target) = resolve_pointer(doc, reference) else { break };
        last = Some(reference.to_owned());
        node = target;
    }
    (node, last)
}

fn compact(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 160 { format!("{}…", s.chars().take(160).collect::<String>()) } else { s }
}

/// The comparison of one pair of documents.
struct Comparer<'d> {
    before: &'d Value,
    after: &'d Value,
    contract: String,
    out: Vec<BreakingChange>,
    /// `$ref` pairs already being compared: recursive schemas stop here.
    seen: BTreeSet<(String, String, bool)>,
}

impl Comparer<'_> {
    fn push(&mut self, kind: BreakKind, subject: String, before: Option<String>, after: Option<String>) {
        self.out.push(BreakingChange::new(kind, &self.contract, subject, before, after));
    }

    /// Compares two schemas reached at `at` (a subject prefix ending where
    /// the pointer starts: `file#`, `GET /pets request application/json#`)
    /// with `pointer` beneath it.
    fn schema(&mut self, b: &Value, a: &Value, at: &str, pointer: &str, role: Role, depth: usize) {
        if depth > 64 {
            return;
        }
        let (b, b_ref) = deref(self.before, b);
        let (a, a_ref) = deref(self.after, a);
        if let (Some(br), Some(ar)) = (&b_ref, &a_ref) {
            if !self.seen.insert((br.clone(), ar.clone(), role == Role::Input)) {
                return;
            }
        }
        let subject = format!("{at}{pointer}");
        // Boolean schemas: `true` accepts anything, `false` nothing.
        match (b, a) {
            (Value::Bool(false), _) | (_, Value::Bool(true)) => return,
            (_, Value::Bool(false)) => {
                if role == Role::Input {
                    self.push(BreakKind::NarrowedType, subject, Some(compact(b)), Some("false".into()));
                }
                return;
            }
            _ => {}
        }
        let (Some(bo), Some(ao)) = (b.as_object(), a.as_object()) else { return };
        if role == Role::Input {
            self.narrowing(bo, ao, &subject);
        }
        self.properties(bo, ao, at, pointer, role, depth);
        for key in ["items", "additionalProperties"] {
            if let (Some(bi @ Value::Object(_)), Some(ai @ Value::Object(_))) = (bo.get(key), ao.get(key)) {
                self.schema(bi, ai, at, &format!("{pointer}/{key}"), role, depth + 1);
            }
        }
    }

    fn narrowing(&mut self, b: &Map<String, Value>, a: &Map<String, Value>, subject: &str) {
        let narrowed = |this: &mut Self, what: String, before: String, after: String| {
            this.push(BreakKind::NarrowedType, subject.to_owned(), Some(format!("{what}: {before}")), Some(after));
        };
        // The type set shrinking; `integer` is within `number`.
        let types = |m: &Map<String, Value>| -> Option<BTreeSet<String>> {
            let mut set: BTreeSet<String> = match m.get("type")? {
                Value::String(t) => [t.clone()].into(),
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
                _ => return None,
            };
            if m.get("nullable").and_then(Value::as_bool) == Some(true) {
                set.insert("null".to_owned());
            }
            Some(set)
        };
        match (types(b), types(a)) {
            (Some(bt), Some(at)) => {
                let covered = |t: &String| at.contains(t) || (t == "integer" && at.contains("number"));
                if !bt.iter().all(covered) {
                    let fmt = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join("|");
                    narrowed(self, "type".into(), fmt(&bt), format!("type: {}", fmt(&at)));
                }
            }
            (None, Some(at)) => {
                narrowed(
                    self,
                    "type".into(),
                    "any".into(),
                    format!("type: {}", at.into_iter().collect::<Vec<_>>().join("|")),
                );
            }
            _ => {}
        }
        // Enum values removed (or an enum added where any value was accepted).
        match (b.get("enum").and_then(Value::as_array), a.get("enum").and_then(Value::as_array)) {
            (Some(be), Some(ae)) => {
                let removed: Vec<String> = be.iter().filter(|v| !ae.contains(v)).map(Value::to_string).collect();
                if !removed.is_empty() {
                    narrowed(
                        self,
                        "enum".into(),
                        compact(&Value::Array(be.clone())),
                        format!("enum: {} (removed {})", compact(&Value::Array(ae.clone())), removed.join(", ")),
                    );
                }
            }
            (None, Some(ae)) => {
                narrowed(self, "enum".into(), "any".into(), format!("enum: {}", compact(&Value::Array(ae.clone()))))
            }
            _ => {}
        }
        // Bounds that tighten: an upper bound added or lowered, a lower bound added or raised.
        let num = |m: &Map<String, Value>, k: &str| m.get(k).and_then(Value::as_f64);
        for key in ["maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties"] {
            match (num(b, key), num(a, key)) {
                (None, Some(av)) => narrowed(self, key.into(), "none".into(), format!("{key}: {av}")),
                (Some(bv), Some(av)) if av < bv => narrowed(self, key.into(), bv.to_string(), format!("{key}: {av}")),
                _ => {}
            }
        }
        for key in ["minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties"] {
            match (num(b, key), num(a, key)) {
                (None, Some(av)) if av > 0.0 => narrowed(self, key.into(), "none".into(), format!("{key}: {av}")),
                (Some(bv), Some(av)) if av > bv => narrowed(self, key.into(), bv.to_string(), format!("{key}: {av}")),
                _ => {}
            }
        }
        let pattern = |m: &Map<String, Value>| m.get("pattern").and_then(Value::as_str).map(str::to_owned);
        if let Some(ap) = pattern(a) {
            if pattern(b).as_ref() != Some(&ap) {
                narrowed(self, "pattern".into(), pattern(b).unwrap_or_else(|| "none".into()), format!("pattern: {ap}"));
            }
        }
        // additionalProperties true (or absent, or a schema) -> false.
        if a.get("additionalProperties") == Some(&Value::Bool(false))
            && b.get("additionalProperties") != Some(&Value::Bool(false))
        {
            let before = b.get("additionalProperties").map_or_else(|| "absent".to_owned(), compact);
            narrowed(self, "additionalProperties".into(), before, "additionalProperties: false".into());
        }
    }

    fn properties(
        &mut self,
        b: &Map<String, Value>,
        a: &Map<String, Value>,
        at: &str,
        pointer: &str,
        role: Role,
        depth: usize,
    ) {
        let empty = Map::new();
        let bp = b.get("properties").and_then(Value::as_object).unwrap_or(&empty);
        let ap = a.get("properties").and_then(Value::as_object).unwrap_or(&empty);
        let prop = |name: &str| format!("{at}{pointer}/properties/{}", token(name));
        // A removed property whose schema reappears under a new name is a rename.
        let added: Vec<&String> = ap.keys().filter(|k| !bp.contains_key(*k)).collect();
        let mut paired = BTreeSet::new();
        for (name, schema) in bp {
            if ap.contains_key(name) {
                continue;
            }
            let resolved = deref(self.before, schema).0;
            let twin = added.iter().find(|n| !paired.contains(**n) && deref(self.after, &ap[n.as_str()]).0 == resolved);
            match twin {
                Some(new_name) => {
                    paired.insert((*new_name).clone());
                    self.push(BreakKind::RenamedProperty, prop(name), Some(name.clone()), Some((*new_name).clone()));
                }
                None => self.push(BreakKind::RemovedProperty, prop(name), Some(compact(schema)), None),
            }
        }
        if role == Role::Input {
            let required = |m: &Map<String, Value>| -> BTreeSet<String> {
                m.get("required")
                    .and_then(Value::as_array)
                    .map(|r| r.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                    .unwrap_or_default()
            };
            let (br, ar) = (required(b), required(a));
            for name in ar.difference(&br) {
                self.push(BreakKind::NewRequired, prop(name), Some("optional".into()), Some("required".into()));
            }
        }
        for (name, schema) in bp {
            if let Some(after) = ap.get(name) {
                self.schema(schema, after, at, &format!("{pointer}/properties/{}", token(name)), role, depth + 1);
            }
        }
    }
}

/// The breaking changes from `before` to `after`, both JSON Schemas, in
/// the file `contract`; subjects are `contract#pointer`.
pub(crate) fn compare_json_schema(contract: &str, before: &Value, after: &Value) -> Vec<BreakingChange> {
    let mut c = Comparer { before, after, contract: contract.to_owned(), out: Vec::new(), seen: BTreeSet::new() };
    c.schema(before, after, &format!("{contract}#"), "", Role::Input, 0);
    c.out
}

const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// The breaking changes from `before` to `after`, both OpenAPI (3.x) or
/// Swagger (2.0) documents, in the file `contract`.
pub(crate) fn compare_openapi(contract: &str, before: &Value, after: &Value) -> Vec<BreakingChange> {
    let mut c = Comparer { before, after, contract: contract.to_owned(), out: Vec::new(), seen: BTreeSet::new() };
    let empty = Map::new();
    let bpaths = before.get("paths").and_then(Value::as_object).unwrap_or(&empty);
    let apaths = after.get("paths").and_then(Value::as_object).unwrap_or(&empty);
    for (path, bitem) in bpaths {
        let Some(aitem) = apaths.get(path) else {
            let methods: Vec<String> =
                METHODS.iter().filter(|m| bitem.get(**m).is_some()).map(|m| m.to_ascii_uppercase()).collect();
            c.push(BreakKind::RemovedEndpoint, path.clone(), Some(methods.join(", ")), None);
            continue;
        };
        let (bitem, aitem) = (deref(before, bitem).0, deref(after, aitem).0);
        for method in METHODS {
            let Some(bop) = bitem.get(*method) else { continue };
            let op = format!("{} {path}", method.to_ascii_uppercase());
            let Some(aop) = aitem.get(*method) else {
                let what =
                    bop.get("operationId").or_else(|| bop.get("summary")).and_then(Value::as_str).unwrap_or("defined");
                c.push(BreakKind::RemovedOperation, op, Some(what.to_owned()), None);
                continue;
            };
            c.operation(&op, (bitem, bop), (aitem, aop));
        }
    }
    c.out
}

/// Parameters of an operation with those of its path item, keyed by `(in, name)`.
fn parameters<'a>(doc: &'a Value, item: &'a Value, op: &'a Value) -> Vec<((String, String), &'a Value)> {
    let mut out: Vec<((String, String), &Value)> = Vec::new();
    for list in [item.get("parameters"), op.get("parameters")].into_iter().flatten() {
        for p in list.as_array().into_iter().flatten() {
            let p = deref(doc, p).0;
            let key = (
                p.get("in").and_then(Value::as_str).unwrap_or_default().to_owned(),
                p.get("name").and_then(Value::as_str).unwrap_or_default().to_owned(),
            );
            // An operation's parameter overrides its path item's.
            out.retain(|(k, _)| *k != key);
            out.push((key, p));
        }
    }
    out
}

fn is_required(p: &Value) -> bool {
    p.get("in").and_then(Value::as_str) == Some("path") || p.get("required").and_then(Value::as_bool) == Some(true)
}

impl Comparer<'_> {
    fn operation(&mut self, op: &str, (bitem, bop): (&Value, &Value), (aitem, aop): (&Value, &Value)) {
        let bparams = parameters(self.before, bitem, bop);
        let aparams = parameters(self.after, aitem, aop);
        for ((place, name), bp) in &bparams {
            let subject = format!("{op} parameter {place} {name}");
            match aparams.iter().find(|(k, _)| k.0 == *place && k.1 == *name) {
                None => self.push(BreakKind::RemovedParameter, subject, Some(compact(bp)), None),
                Some((_, ap)) => {
                    if is_required(ap) && !is_required(bp) {
                        self.push(
                            BreakKind::NewRequiredParameter,
                            subject.clone(),
                            Some("optional".into()),
                            Some("required".into()),
                        );
                    }
                    if let (Some(bs), Some(as_)) = (bp.get("schema"), ap.get("schema")) {
                        self.schema(bs, as_, &format!("{subject}#"), "", Role::Input, 0);
                    }
                }
            }
        }
        for ((place, name), ap) in &aparams {
            if is_required(ap) && !bparams.iter().any(|(k, _)| k.0 == *place && k.1 == *name) {
                self.push(
                    BreakKind::NewRequiredParameter,
                    format!("{op} parameter {place} {name}"),
                    None,
                    Some("required".into()),
                );
            }
        }
        // Request bodies (OpenAPI 3).
        if let (Some(bb), Some(ab)) = (bop.get("requestBody"), aop.get("requestBody")) {
            let (bb, ab) = (deref(self.before, bb).0, deref(self.after, ab).0);
            if ab.get("required").and_then(Value::as_bool) == Some(true)
                && bb.get("required").and_then(Value::as_bool) != Some(true)
            {
                self.push(
                    BreakKind::NewRequired,
                    format!("{op} request"),
                    Some("optional".into()),
                    Some("required".into()),
                );
            }
            self.content(&format!("{op} request"), bb, ab, Role::Input);
        } else if bop.get("requestBody").is_none() {
            if let Some(ab) = aop.get("requestBody").map(|b| deref(self.after, b).0) {
                if ab.get("required").and_then(Value::as_bool) == Some(true) {
                    self.push(BreakKind::NewRequired, format!("{op} request"), None, Some("required".into()));
                }
            }
        }
        // Responses.
        let empty = Map::new();
        let bres = bop.get("responses").and_then(Value::as_object).unwrap_or(&empty);
        let ares = aop.get("responses").and_then(Value::as_object).unwrap_or(&empty);
        for (code, br) in bres {
            let subject = format!("{op} response {code}");
            let Some(ar) = ares.get(code) else {
                self.push(BreakKind::RemovedResponse, subject, br.get("description").map(compact), None);
                continue;
            };
            let (br, ar) = (deref(self.before, br).0, deref(self.after, ar).0);
            self.content(&subject, br, ar, Role::Output);
            // Swagger 2: the schema sits on the response.
            if let (Some(bs), Some(as_)) = (br.get("schema"), ar.get("schema")) {
                self.schema(bs, as_, &format!("{subject}#"), "", Role::Output, 0);
            }
        }
    }

    /// Compares the `content` maps (media type -> schema) of a request body or response.
    fn content(&mut self, at: &str, b: &Value, a: &Value, role: Role) {
        let empty = Map::new();
        let bc = b.get("content").and_then(Value::as_object).unwrap_or(&empty);
        let ac = a.get("content").and_then(Value::as_object).unwrap_or(&empty);
        for (media, bm) in bc {
            let subject = format!("{at} {media}");
            let Some(am) = ac.get(media) else {
                self.push(BreakKind::RemovedContentType, subject, Some(media.clone()), None);
                continue;
            };
            if let (Some(bs), Some(as_)) = (bm.get("schema"), am.get("schema")) {
                self.schema(bs, as_, &format!("{subject}#"), "", role, 0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_response_codes_become_text_keys() {
        let doc = parse_document(
            "openapi.yaml",
            "openapi: 3.0.0\npaths:\n  /pets:\n    get:\n      responses:\n        200:\n          description: ok\n",
        )
        .unwrap();
        assert!(doc["paths"]["/pets"]["get"]["responses"]["200"].is_object(), "{doc}");
        assert_eq!(doc_kind("api/openapi.yaml", &doc, false), Some(DocKind::OpenApi));
    }

    #[test]
    fn a_recursive_schema_is_compared_without_looping() {
        let s = json!({"$defs": {"node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"}, "v": {"type": "string"}}}}, "$ref": "#/$defs/node"});
        assert!(compare_json_schema("n.schema.json", &s, &s).is_empty());
    }
}
