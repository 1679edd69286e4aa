//! The public API of a Rust library crate, read loosely from rustdoc's JSON
//! output (`serde_json::Value`: the format changes between toolchains, so
//! only long-stable fields are read), and compared before and after.

use super::{BreakKind, BreakingChange};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One public item of the API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ApiItem {
    /// `function`, `struct`, `enum`, `variant`, `field`, `trait`, `method`,
    /// `trait_method`, `constant`, `static`, `type_alias`, `module`, `macro`, `union`.
    pub(crate) kind: &'static str,
    /// The rendered signature, compared as text (parameter names left out).
    pub(crate) signature: String,
    /// Enums and structs: `#[non_exhaustive]`, or private fields (new
    /// variants or fields cannot break a caller). Trait methods: has a default.
    pub(crate) open: bool,
}

/// Every public item of the crate documented in `doc` (rustdoc JSON), by path.
pub(crate) fn api_surface(doc: &Value) -> BTreeMap<String, ApiItem> {
    let mut out = BTreeMap::new();
    let index = doc.get("index").and_then(Value::as_object);
    let Some(index) = index else { return out };
    let Some(root) = doc.get("root").map(id_key).and_then(|k| index.get(&k)) else { return out };
    let name = root.get("name").and_then(Value::as_str).unwrap_or("crate").to_owned();
    let mut walker = Walker { index, out: &mut out, modules: BTreeSet::new() };
    walker.module(root, &name);
    out
}

fn id_key(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

struct Walker<'a> {
    index: &'a serde_json::Map<String, Value>,
    out: &'a mut BTreeMap<String, ApiItem>,
    modules: BTreeSet<String>,
}

fn inner<'v>(item: &'v Value, kind: &str) -> Option<&'v Value> {
    item.get("inner").and_then(|i| i.get(kind))
}

fn is_public(item: &Value) -> bool {
    item.get("visibility").and_then(Value::as_str) == Some("public")
}

fn non_exhaustive(item: &Value) -> bool {
    item.get("attrs").is_some_and(|a| a.to_string().contains("non_exhaustive"))
}

impl Walker<'_> {
    fn get(&self, id: &Value) -> Option<&Value> {
        self.index.get(&id_key(id))
    }

    fn ids(v: Option<&Value>) -> impl Iterator<Item = &Value> {
        v.and_then(Value::as_array).into_iter().flatten().filter(|i| !i.is_null())
    }

    fn module(&mut self, module: &Value, path: &str) {
        if !self.modules.insert(path.to_owned()) || self.modules.len() > 10_000 {
            return;
        }
        let items: Vec<Value> = Self::ids(inner(module, "module").and_then(|m| m.get("items"))).cloned().collect();
        for id in items {
            let Some(item) = self.get(&id).cloned() else { continue };
            if !is_public(&item) {
                continue;
            }
            if let Some(u) = inner(&item, "use") {
                let Some(target) = u.get("id").and_then(|t| self.get(t)).cloned() else { continue };
                if u.get("is_glob").and_then(Value::as_bool) == Some(true) {
                    if inner(&target, "module").is_some() {
                        self.module(&target, path);
                    }
                } else if let Some(name) = u.get("name").and_then(Value::as_str) {
                    self.item(&target, &format!("{path}::{name}"));
                }
                continue;
            }
            let Some(name) = item.get("name").and_then(Value::as_str) else { continue };
            self.item(&item, &format!("{path}::{name}"));
        }
    }

    fn put(&mut self, path: &str, kind: &'static str, signature: String, open: bool) {
        self.out.insert(path.to_owned(), ApiItem { kind, signature, open });
    }

    fn item(&mut self, item: &Value, path: &str) {
        let Some(inner_obj) = item.get("inner").and_then(Value::as_object) else { return };
        let Some((kind, body)) = inner_obj.iter().next() else { return };
        let name = path.rsplit("::").next().unwrap_or(path);
        match kind.as_str() {
            "module" => {
                self.put(path, "module", "mod".into(), false);
                self.module(item, path);
            }
            "function" => self.put(path, "function", function(name, body), false),
            "struct" | "union" => {
                let shape = body.get("kind");
                let mut hidden = non_exhaustive(item) || kind == "union";
                let fields: Vec<(String, Value)> = match shape {
                    Some(Value::Object(k)) if k.contains_key("plain") => {
                        let plain = &k["plain"];
                        hidden |= plain.get("has_stripped_fields").and_then(Value::as_bool).unwrap_or(false);
                        Self::ids(plain.get("fields")).filter_map(|f| self.field(f)).collect()
                    }
                    Some(Value::Object(k)) if k.contains_key("tuple") => {
                        let all = k["tuple"].as_array().cloned().unwrap_or_default();
                        hidden |= all.iter().any(Value::is_null);
                        all.iter().filter(|f| !f.is_null()).filter_map(|f| self.field(f)).collect()
                    }
                    _ => body
                        .get("fields")
                        .map(|f| Self::ids(Some(f)).filter_map(|f| self.field(f)).collect())
                        .unwrap_or_default(),
                };
                let tag = if kind == "union" { "union" } else { "struct" };
                self.put(
                    path,
                    if kind == "union" { "union" } else { "struct" },
                    format!("{tag} {name}{}", generics(body.get("generics"))),
                    hidden,
                );
                for (fname, ty) in fields {
                    self.put(&format!("{path}::{fname}"), "field", format!("{fname}: {}", render(&ty)), false);
                }
                self.inherent(body, path);
            }
            "enum" => {
                let open =
                    non_exhaustive(item) || body.get("has_stripped_variants").and_then(Value::as_bool).unwrap_or(false);
                self.put(path, "enum", format!("enum {name}{}", generics(body.get("generics"))), open);
                let variants: Vec<Value> = Self::ids(body.get("variants")).cloned().collect();
                for v in variants {
                    let Some(var) = self.get(&v).cloned() else { continue };
                    let Some(vname) = var.get("name").and_then(Value::as_str) else { continue };
                    let sig = self.variant(&var, vname);
                    self.put(&format!("{path}::{vname}"), "variant", sig, non_exhaustive(&var));
                }
                self.inherent(body, path);
            }
            "trait" => {
                let unsafe_ = if body.get("is_unsafe").and_then(Value::as_bool) == Some(true) { "unsafe " } else { "" };
                let bounds = bounds(body.get("bounds"));
                let sig = format!(
                    "{unsafe_}trait {name}{}{}",
                    generics(body.get("generics")),
                    if bounds.is_empty() { String::new() } else { format!(": {bounds}") }
                );
                self.put(path, "trait", sig, false);
                let items: Vec<Value> = Self::ids(body.get("items")).cloned().collect();
                for id in items {
                    let Some(ti) = self.get(&id).cloned() else { continue };
                    let Some(tname) = ti.get("name").and_then(Value::as_str) else { continue };
                    if let Some(f) = inner(&ti, "function") {
                        let provided = f.get("has_body").and_then(Value::as_bool).unwrap_or(false);
                        self.put(&format!("{path}::{tname}"), "trait_method", function(tname, f), provided);
                    } else if let Some(Value::Object(o)) = ti.get("inner") {
                        let (k, b) = o.iter().next().map_or(("item", &Value::Null), |(k, b)| (k.as_str(), b));
                        let provided = b.get("default").is_some_and(|d| !d.is_null())
                            || b.get("type").is_some_and(|d| !d.is_null() && k == "assoc_type");
                        self.put(
                            &format!("{path}::{tname}"),
                            "trait_item",
                            format!("{k} {tname}: {}", strip_ids(b)),
                            provided,
                        );
                    }
                }
            }
            "constant" => self.put(
                path,
                "constant",
                format!("const {name}: {}", render(body.get("type").unwrap_or(&Value::Null))),
                false,
            ),
            "static" => self.put(
                path,
                "static",
                format!("static {name}: {}", render(body.get("type").unwrap_or(&Value::Null))),
                false,
            ),
            "type_alias" => self.put(
                path,
                "type_alias",
                format!(
                    "type {name}{} = {}",
                    generics(body.get("generics")),
                    render(body.get("type").unwrap_or(&Value::Null))
                ),
                false,
            ),
            "macro" | "proc_macro" => self.put(path, "macro", format!("macro {name}"), false),
            _ => {}
        }
    }

    fn field(&self, id: &Value) -> Option<(String, Value)> {
        let f = self.get(id)?;
        if !is_public(f) {
            return None;
        }
        Some((f.get("name").and_then(Value::as_str)?.to_owned(), inner(f, "struct_field")?.clone()))
    }

    fn variant(&self, var: &Value, name: &str) -> String {
        let kind = inner(var, "variant").and_then(|v| v.get("kind"));
        let field_ty = |id: &Value| -> String {
            self.get(id).and_then(|f| inner(f, "struct_field")).map_or_else(|| "_".to_owned(), render)
        };
        match kind {
            Some(Value::Object(k)) if k.contains_key("tuple") => {
                let fields: Vec<String> = k["tuple"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|f| if f.is_null() { "_".to_owned() } else { field_ty(f) })
                    .collect();
                format!("{name}({})", fields.join(", "))
            }
            Some(Value::Object(k)) if k.contains_key("struct") => {
                let fields: Vec<String> = Self::ids(k["struct"].get("fields"))
                    .filter_map(|f| {
                        let item = self.get(f)?;
                        Some(format!("{}: {}", item.get("name").and_then(Value::as_str)?, field_ty(f)))
                    })
                    .collect();
                format!("{name} {{ {} }}", fields.join(", "))
            }
            _ => name.to_owned(),
        }
    }

    /// Public methods and associated constants of inherent impls.
    fn inherent(&mut self, body: &Value, path: &str) {
        let impls: Vec<Value> = Self::ids(body.get("impls")).cloned().collect();
        for id in impls {
            let Some(imp) = self.get(&id).and_then(|i| inner(i, "impl")).cloned() else { continue };
            if !imp.get("trait").is_none_or(Value::is_null) {
                continue;
            }
            let items: Vec<Value> = Self::ids(imp.get("items")).cloned().collect();
            for m in items {
                let Some(mi) = self.get(&m).cloned() else { continue };
                if !is_public(&mi) {
                    continue;
                }
                let Some(mname) = mi.get("name").and_then(Value::as_str) else { continue };
                if let Some(f) = inner(&mi, "function") {
                    self.put(&format!("{path}::{mname}"), "method", function(mname, f), false);
                } else if let Some(c) = inner(&mi, "assoc_const") {
                    self.put(
                        &format!("{path}::{mname}"),
                        "constant",
                        format!("const {mname}: {}", render(c.get("type").unwrap_or(&Value::Null))),
                        false,
                    );
                }
            }
        }
    }
}

/// `value` without rustdoc's item ids (they differ between two builds).
fn strip_ids(v: &Value) -> String {
    fn strip(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter().filter(|(k, _)| k.as_str() != "id").map(|(k, v)| (k.clone(), strip(v))).collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(strip).collect()),
            other => other.clone(),
        }
    }
    strip(v).to_string()
}

fn function(name: &str, f: &Value) -> String {
    let header = f.get("header");
    let flag = |k: &str| header.and_then(|h| h.get(k)).and_then(Value::as_bool) == Some(true);
    let mut prefix = String::new();
    for (k, word) in [("is_const", "const "), ("is_async", "async "), ("is_unsafe", "unsafe ")] {
        if flag(k) {
            prefix.push_str(word);
        }
    }
    let sig = f.get("sig").or_else(|| f.get("decl"));
    let inputs: Vec<String> = sig
        .and_then(|s| s.get("inputs"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|pair| {
            let pname = pair.get(0).and_then(Value::as_str).unwrap_or_default();
            let ty = pair.get(1).map(render).unwrap_or_default();
            if pname == "self" { self_param(&ty) } else { ty }
        })
        .collect();
    let output = match sig.and_then(|s| s.get("output")) {
        None | Some(Value::Null) => String::new(),
        Some(t) => format!(" -> {}", render(t)),
    };
    format!(
        "{prefix}fn {name}{}({}){output}{}",
        generics(f.get("generics")),
        inputs.join(", "),
        where_clause(f.get("generics"))
    )
}

fn self_param(ty: &str) -> String {
    match ty {
        "Self" => "self".into(),
        "&Self" => "&self".into(),
        "&mut Self" => "&mut self".into(),
        other => format!("self: {other}"),
    }
}

fn generics(g: Option<&Value>) -> String {
    let params: Vec<String> = g
        .and_then(|g| g.get("params"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let name = p.get("name").and_then(Value::as_str)?;
            let kind = p.get("kind")?;
            if let Some(t) = kind.get("type") {
                if t.get("is_synthetic").and_then(Value::as_bool) == Some(true) {
                    return None;
                }
                let b = bounds(t.get("bounds"));
                let d =
                    t.get("default").filter(|d| !d.is_null()).map(|d| format!(" = {}", render(d))).unwrap_or_default();
                Some(if b.is_empty() { format!("{name}{d}") } else { format!("{name}: {b}{d}") })
            } else if let Some(c) = kind.get("const") {
                Some(format!("const {name}: {}", render(c.get("type").unwrap_or(&Value::Null))))
            } else {
                Some(name.to_owned())
            }
        })
        .collect();
    if params.is_empty() { String::new() } else { format!("<{}>", params.join(", ")) }
}

fn where_clause(g: Option<&Value>) -> String {
    let preds: Vec<String> = g
        .and_then(|g| g.get("where_predicates"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| match p.get("bound_predicate") {
            Some(bp) => format!("{}: {}", render(bp.get("type").unwrap_or(&Value::Null)), bounds(bp.get("bounds"))),
            None => strip_ids(p),
        })
        .collect();
    if preds.is_empty() { String::new() } else { format!(" where {}", preds.join(", ")) }
}

fn bounds(b: Option<&Value>) -> String {
    let parts: Vec<String> = b
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|b| {
            if let Some(t) = b.get("trait_bound") {
                let maybe = if t.get("modifier").and_then(Value::as_str) == Some("maybe") { "?" } else { "" };
                format!("{maybe}{}", path(t.get("trait").unwrap_or(&Value::Null)))
            } else if let Some(l) = b.get("outlives").and_then(Value::as_str) {
                l.to_owned()
            } else {
                strip_ids(b)
            }
        })
        .collect();
    parts.join(" + ")
}

fn path(p: &Value) -> String {
    let name = p.get("path").or_else(|| p.get("name")).and_then(Value::as_str).unwrap_or("?");
    format!("{name}{}", args(p.get("args")))
}

fn args(a: Option<&Value>) -> String {
    let Some(a) = a.filter(|a| !a.is_null()) else { return String::new() };
    if let Some(ab) = a.get("angle_bracketed") {
        let mut parts: Vec<String> = ab
            .get("args")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|g| {
                if let Some(t) = g.get("type") {
                    render(t)
                } else if let Some(l) = g.get("lifetime").and_then(Value::as_str) {
                    l.to_owned()
                } else {
                    strip_ids(g)
                }
            })
            .collect();
        for c in ab.get("constraints").and_then(Value::as_array).into_iter().flatten() {
            let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
            let rhs =
                c.get("binding").map_or_else(String::new, |b| match b.get("equality").and_then(|e| e.get("type")) {
                    Some(t) => format!(" = {}", render(t)),
                    None => format!(": {}", bounds(b.get("constraint"))),
                });
            parts.push(format!("{name}{rhs}"));
        }
        return if parts.is_empty() { String::new() } else { format!("<{}>", parts.join(", ")) };
    }
    if let Some(p) = a.get("parenthesized") {
        let inputs: Vec<String> = p.get("inputs").and_then(Value::as_array).into_iter().flatten().map(render).collect();
        let output = p.get("output").filter(|o| !o.is_null()).map(|o| format!(" -> {}", render(o))).unwrap_or_default();
        return format!("({}){output}", inputs.join(", "));
    }
    strip_ids(a)
}

/// A rustdoc type rendered as Rust source, ids left out.
fn render(t: &Value) -> String {
    let Some((kind, v)) = t.as_object().and_then(|o| o.iter().next()) else {
        return t.as_str().map_or_else(|| strip_ids(t), str::to_owned);
    };
    match kind.as_str() {
        "primitive" | "generic" => v.as_str().unwrap_or("?").to_owned(),
        "resolved_path" => path(v),
        "borrowed_ref" => {
            let lt = v.get("lifetime").and_then(Value::as_str).map(|l| format!("{l} ")).unwrap_or_default();
            let m = if v.get("is_mutable").and_then(Value::as_bool) == Some(true) { "mut " } else { "" };
            format!("&{lt}{m}{}", render(v.get("type").unwrap_or(&Value::Null)))
        }
        "raw_pointer" => {
            let m = if v.get("is_mutable").and_then(Value::as_bool) == Some(true) { "mut" } else { "const" };
            format!("*{m} {}", render(v.get("type").unwrap_or(&Value::Null)))
        }
        "slice" => format!("[{}]", render(v)),
        "array" => format!(
            "[{}; {}]",
            render(v.get("type").unwrap_or(&Value::Null)),
            v.get("len").and_then(Value::as_str).unwrap_or("_")
        ),
        "tuple" => {
            let parts: Vec<String> = v.as_array().into_iter().flatten().map(render).collect();
            format!("({})", parts.join(", "))
        }
        "impl_trait" => format!("impl {}", bounds(Some(v))),
        "dyn_trait" => {
            let traits: Vec<String> = v
                .get("traits")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|p| path(p.get("trait").unwrap_or(&Value::Null)))
                .collect();
            format!("dyn {}", traits.join(" + "))
        }
        "qualified_path" => format!(
            "<{} as {}>::{}",
            render(v.get("self_type").unwrap_or(&Value::Null)),
            v.get("trait").map(path).unwrap_or_default(),
            v.get("name").and_then(Value::as_str).unwrap_or("?")
        ),
        "infer" => "_".into(),
        _ => strip_ids(t),
    }
}

/// The breaking changes between two API surfaces of the crate `krate`.
pub(crate) fn compare_api(
    krate: &str,
    before: &BTreeMap<String, ApiItem>,
    after: &BTreeMap<String, ApiItem>,
) -> Vec<BreakingChange> {
    let mut out = Vec::new();
    let parent = |p: &str| p.rsplit_once("::").map(|(a, _)| a.to_owned()).unwrap_or_default();
    for (p, b) in before {
        let change = |kind, before: &str, after: Option<&str>| {
            BreakingChange::new(kind, krate, p.clone(), Some(before.to_owned()), after.map(str::to_owned))
        };
        match after.get(p) {
            None => {
                // Reported once: at the topmost item that went.
                if before.contains_key(&parent(p)) && !after.contains_key(&parent(p)) {
                    continue;
                }
                let kind = if b.kind == "variant" { BreakKind::RemovedVariant } else { BreakKind::RemovedItem };
                out.push(change(kind, &b.signature, None));
            }
            Some(a) if a.signature != b.signature => {
                out.push(change(BreakKind::ChangedSignature, &b.signature, Some(&a.signature)))
            }
            Some(a) if b.kind == "trait_method" && b.open && !a.open => {
                out.push(change(
                    BreakKind::ChangedSignature,
                    &format!("{} (provided)", b.signature),
                    Some(&format!("{} (required)", a.signature)),
                ));
            }
            Some(_) => {}
        }
    }
    for (p, a) in after {
        if before.contains_key(p) {
            continue;
        }
        let Some(owner) = before.get(&parent(p)) else { continue };
        let kind = match (a.kind, owner.kind) {
            ("variant", "enum") if !owner.open => BreakKind::AddedVariant,
            ("field", "struct") if !owner.open => BreakKind::AddedField,
            ("trait_method" | "trait_item", "trait") if !a.open => BreakKind::AddedTraitMethod,
            _ => continue,
        };
        out.push(BreakingChange::new(kind, krate, p.clone(), None, Some(a.signature.clone())));
    }
    out
}
