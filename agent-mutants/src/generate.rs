//! Mutant generation over tree-sitter syntax trees.
//!
//! [`generate`] parses one file, walks its syntax tree once in pre-order and
//! asks the rules of the file's language (`gen_rust`, `gen_python`,
//! `gen_js`, `gen_go`) for the mutants of each node. The walk never enters
//! a string literal, a comment or an `ERROR` node, and every mutant replaces
//! either one operator token or one whole syntax node, so no mutant cuts
//! inside a string or a comment (a mutant may only swallow a whole one, as
//! when a function body is replaced).
//!
//! The walk carries a [`Ctx`]: whether the node is test code, whether it is
//! the body of a test function, whether `#[mutants::skip]` applies, and the
//! name of the enclosing function. Code-under-test operators never apply to
//! test code; [`Operator::RemoveTestStatement`] applies only to test bodies.

#[path = "gen_go.rs"]
mod gen_go;
#[path = "gen_js.rs"]
mod gen_js;
#[path = "gen_python.rs"]
mod gen_python;
#[path = "gen_rust.rs"]
mod gen_rust;
#[path = "gen_rust_values.rs"]
mod gen_rust_values;

use super::{Mutant, Operator};
use agent_syntax::Lang;
use std::collections::{BTreeSet, HashSet};
use std::rc::Rc;
use tree_sitter::Node;

/// Every mutant of one file, in file order. `file` is the path relative to
/// the workspace root (`/`-separated); it decides whether the whole file is
/// test code ([`Lang::is_test_file`]: `tests/` for Rust, `test_*.py`,
/// `*.test.ts`, `_test.go`, …).
///
/// Generation is deterministic and never fails: a file the grammar cannot
/// load gives no mutants, and syntax errors only hide the broken regions.
///
/// Rust body replacements use `Default::default()` only for types known to
/// implement `Default`; here that is std types and the types of `source`
/// itself. [`generate_with`] takes what is known about the whole crate.
pub fn generate(file: &str, lang: Lang, source: &str) -> Vec<Mutant> {
    let facts = if lang == Lang::Rust { TypeFacts::scan_rust([source]) } else { TypeFacts::default() };
    generate_with(file, lang, source, &facts)
}

/// [`generate`] with what is known about the code around the file
/// ([`TypeFacts`], e.g. from every source file of the same crate).
pub fn generate_with(file: &str, lang: Lang, source: &str, facts: &TypeFacts) -> Vec<Mutant> {
    let Some(tree) = lang.parse(source) else {
        return Vec::new();
    };
    let root_ctx = Ctx { in_test: lang.is_test_file(std::path::Path::new(file)), ..Ctx::default() };
    let mut out = Out::new(file, lang, source, facts);
    let mut stack: Vec<(Node<'_>, Rc<Ctx>)> = vec![(tree.root_node(), Rc::new(root_ctx))];
    while let Some((node, ctx)) = stack.pop() {
        if lang.is_string_or_comment(node.kind()) || node.is_error() || node.is_missing() {
            continue;
        }
        let ctx = match enter(lang, node, source, &ctx) {
            Some(inner) => Rc::new(inner),
            None => ctx,
        };
        visit(lang, node, &ctx, &mut out);
        let mut cursor = node.walk();
        let children: Vec<Node<'_>> = node.children(&mut cursor).collect();
        for child in children.into_iter().rev() {
            stack.push((child, Rc::clone(&ctx)));
        }
    }
    out.finish()
}

/// Facts about a crate's types that decide which replacement values compile.
///
/// It holds the names of the types that implement `Default`, read from
/// `#[derive(..., Default, ...)]` on a `struct`, `enum` or `union` and from
/// `impl Default for Name` (any path to `Default`, any generics); a derive
/// under `cfg_attr` does not count (it holds only in some builds). Names
/// only: two types of the same name in one crate are taken for one.
///
/// ```
/// use agent_mutants::TypeFacts;
///
/// let facts = TypeFacts::scan_rust(["#[derive(Debug, Default)]\npub struct Config { n: u32 }\n"]);
/// assert!(facts.implements_default("Config"));
/// assert!(!facts.implements_default("Other"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TypeFacts {
    default_types: BTreeSet<String>,
}

impl TypeFacts {
    /// Reads the facts from Rust sources (the files of one crate).
    pub fn scan_rust<'a>(sources: impl IntoIterator<Item = &'a str>) -> Self {
        let mut default_types = BTreeSet::new();
        for src in sources {
            scan_derives(src, &mut default_types);
            scan_default_impls(src, &mut default_types);
        }
        Self { default_types }
    }

    /// Whether a type of this name (last path segment) is known to implement `Default`.
    pub fn implements_default(&self, name: &str) -> bool {
        self.default_types.contains(name)
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The identifier at the start of `s` (after whitespace).
fn leading_ident(s: &str) -> &str {
    let s = s.trim_start();
    let end = s.find(|c: char| !is_ident_char(c)).unwrap_or(s.len());
    &s[..end]
}

/// `#[derive(.., Default, ..)]` followed by `struct|enum|union Name`.
fn scan_derives(src: &str, found: &mut BTreeSet<String>) {
    for (at, _) in src.match_indices("derive(") {
        // `#[cfg_attr(feature = "x", derive(Default))]` holds only in some builds.
        let attribute = src[..at].rfind("#[").map_or("", |open| &src[open..at]);
        if attribute.contains("cfg_attr") {
            continue;
        }
        let rest = &src[at + "derive(".len()..];
        let Some(close) = rest.find(')') else { continue };
        let list = &rest[..close];
        let derives_default = list.split(',').any(|d| d.trim().rsplit("::").next() == Some("Default"));
        if !derives_default {
            continue;
        }
        let after = &rest[close..];
        let item = ["struct ", "enum ", "union "]
            .iter()
            .filter_map(|kw| {
                after
                    .match_indices(kw)
                    .find(|(i, _)| after[..*i].chars().next_back().is_none_or(|c| !is_ident_char(c)))
                    .map(|(i, _)| i + kw.len())
            })
            .min();
        if let Some(start) = item {
            let name = leading_ident(&after[start..]);
            if !name.is_empty() {
                found.insert(name.to_string());
            }
        }
    }
}

/// `impl<..> path::Default for path::Name<..>`.
fn scan_default_impls(src: &str, found: &mut BTreeSet<String>) {
    for (at, _) in src.match_indices("Default for ") {
        let before = &src[..at];
        let Some(impl_at) = before.rfind("impl") else { continue };
        let between = &before[impl_at + 4..];
        if between.contains(['{', '}', ';']) || before[..impl_at].chars().next_back().is_some_and(is_ident_char) {
            continue;
        }
        let ty = src[at + "Default for ".len()..].trim_start();
        let path_end = ty.find(|c: char| !(is_ident_char(c) || c == ':')).unwrap_or(ty.len());
        let name = ty[..path_end].rsplit("::").next().unwrap_or("");
        if !name.is_empty() {
            found.insert(name.to_string());
        }
    }
}

/// The context a node is walked in.
#[derive(Clone, Debug, Default)]
pub(super) struct Ctx {
    /// Test code: only [`Operator::RemoveTestStatement`] applies.
    pub(super) in_test: bool,
    /// The node is (inside) a test function whose body statements may be removed.
    pub(super) test_fn: bool,
    /// `#[mutants::skip]` or the like: no mutant at all.
    pub(super) skip: bool,
    /// The innermost named function.
    pub(super) function: Option<String>,
}

impl Ctx {
    /// Whether code-under-test operators apply here.
    pub(super) fn mutable(&self) -> bool {
        !self.in_test && !self.skip
    }
}

/// The context inside `node`, when it differs from the parent's.
fn enter(lang: Lang, node: Node<'_>, src: &str, ctx: &Ctx) -> Option<Ctx> {
    match lang {
        Lang::Rust => gen_rust::enter(node, src, ctx),
        Lang::Python => gen_python::enter(node, src, ctx),
        Lang::JavaScript | Lang::TypeScript | Lang::Tsx => gen_js::enter(node, src, ctx),
        Lang::Go => gen_go::enter(node, src, ctx),
    }
}

/// The mutants of one node (not of its children).
fn visit(lang: Lang, node: Node<'_>, ctx: &Ctx, out: &mut Out<'_>) {
    if ctx.skip {
        return;
    }
    match lang {
        Lang::Rust => gen_rust::visit(node, ctx, out),
        Lang::Python => gen_python::visit(node, ctx, out),
        Lang::JavaScript | Lang::TypeScript | Lang::Tsx => gen_js::visit(node, ctx, out),
        Lang::Go => gen_go::visit(node, ctx, out),
    }
}

/// Collects the mutants of one file.
pub(super) struct Out<'s> {
    file: &'s str,
    lang: Lang,
    /// The whole source text.
    pub(super) src: &'s str,
    line_starts: Vec<usize>,
    seen: HashSet<(usize, usize, String)>,
    mutants: Vec<Mutant>,
    /// What is known about the crate's types.
    pub(super) facts: &'s TypeFacts,
}

impl<'s> Out<'s> {
    fn new(file: &'s str, lang: Lang, src: &'s str, facts: &'s TypeFacts) -> Self {
        let line_starts = std::iter::once(0)
            .chain(src.bytes().enumerate().filter(|&(_, b)| b == b'\n').map(|(i, _)| i + 1))
            .collect();
        Self { file, lang, src, line_starts, seen: HashSet::new(), mutants: Vec::new(), facts }
    }

    /// The language being mutated.
    pub(super) fn lang(&self) -> Lang {
        self.lang
    }

    /// The source text of a node.
    pub(super) fn text(&self, node: Node<'_>) -> &'s str {
        self.src.get(node.byte_range()).unwrap_or("")
    }

    /// Records a mutant replacing the whole of `node`.
    pub(super) fn replace(&mut self, node: Node<'_>, operator: Operator, replacement: &str, ctx: &Ctx) {
        self.push(node.start_byte(), node.end_byte(), operator, replacement, ctx);
    }

    /// Records a mutant replacing `src[start..end]`. Ignored when the range is
    /// not on character boundaries or the replacement changes nothing.
    pub(super) fn push(&mut self, start: usize, end: usize, operator: Operator, replacement: &str, ctx: &Ctx) {
        let Some(original) = self.src.get(start..end) else {
            return;
        };
        if original == replacement || !self.seen.insert((start, end, replacement.to_string())) {
            return;
        }
        let line_index = self.line_starts.partition_point(|&s| s <= start).saturating_sub(1);
        let line_start = self.line_starts.get(line_index).copied().unwrap_or(0);
        self.mutants.push(Mutant {
            file: self.file.to_string(),
            lang: self.lang,
            line: u32::try_from(line_index + 1).unwrap_or(u32::MAX),
            column: u32::try_from(start - line_start + 1).unwrap_or(u32::MAX),
            byte_start: start,
            byte_end: end,
            operator,
            original: original.to_string(),
            replacement: replacement.to_string(),
            function: ctx.function.clone(),
            in_test: operator == Operator::RemoveTestStatement,
        });
    }

    fn finish(mut self) -> Vec<Mutant> {
        // Pre-order already gives file order for most nodes; a stable sort on
        // the start byte fixes the rest (an operator token after its node's
        // children) without disturbing the order of equal starts.
        self.mutants.sort_by_key(|m| m.byte_start);
        self.mutants
    }
}

/// Whether every `return` statement under `body` (subtrees of the `nested`
/// kinds, inner functions and classes, left out) returns an expression
/// `accept` takes, and there is at least one.
pub(super) fn every_return_is(body: Node<'_>, nested: &[&str], accept: impl Fn(Node<'_>) -> bool) -> bool {
    let mut returns = 0;
    let mut stack = vec![body];
    while let Some(n) = stack.pop() {
        if nested.contains(&n.kind()) {
            continue;
        }
        if n.kind() == "return_statement" {
            returns += 1;
            if !named_children(n).first().is_some_and(|e| accept(*e)) {
                return false;
            }
        } else {
            stack.extend(named_children(n));
        }
    }
    returns > 0
}

/// The named children of a node.
pub(super) fn named_children(node: Node<'_>) -> Vec<Node<'_>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).collect()
}

/// The operator token of a binary-like node: the `operator` field, else the
/// first anonymous child that is not punctuation.
pub(super) fn operator_token(node: Node<'_>) -> Option<Node<'_>> {
    if let Some(op) = node.child_by_field_name("operator") {
        return Some(op);
    }
    let mut cursor = node.walk();
    node.children(&mut cursor).find(|c| !c.is_named() && !matches!(c.kind(), "(" | ")"))
}

/// Replacements for an operator token, with the operator kind.
pub(super) fn flips(op: &str) -> Option<(Operator, &'static [&'static str])> {
    Some(match op {
        "==" => (Operator::EqualityFlip, &["!="]),
        "!=" => (Operator::EqualityFlip, &["=="]),
        "===" => (Operator::EqualityFlip, &["!=="]),
        "!==" => (Operator::EqualityFlip, &["==="]),
        "<" => (Operator::RelationalFlip, &["<=", ">"]),
        "<=" => (Operator::RelationalFlip, &["<", ">"]),
        ">" => (Operator::RelationalFlip, &[">=", "<"]),
        ">=" => (Operator::RelationalFlip, &[">", "<"]),
        "&&" => (Operator::BooleanFlip, &["||"]),
        "||" => (Operator::BooleanFlip, &["&&"]),
        "+" => (Operator::ArithmeticFlip, &["-"]),
        "-" => (Operator::ArithmeticFlip, &["+"]),
        "*" => (Operator::ArithmeticFlip, &["/"]),
        "/" => (Operator::ArithmeticFlip, &["*"]),
        "+=" => (Operator::ArithmeticFlip, &["-="]),
        "-=" => (Operator::ArithmeticFlip, &["+="]),
        "*=" => (Operator::ArithmeticFlip, &["/="]),
        "/=" => (Operator::ArithmeticFlip, &["*="]),
        _ => return None,
    })
}

/// Whether an operator compares (its integer operands get boundary mutants).
pub(super) fn is_comparison(op: &str) -> bool {
    matches!(op, "==" | "!=" | "===" | "!==" | "<" | "<=" | ">" | ">=")
}

/// Mutants of a binary-like node: its operator token flipped. Arithmetic is
/// skipped when an operand is (cheaply seen to be) a string, so string
/// concatenation is not turned into a subtraction.
pub(super) fn binary(node: Node<'_>, ctx: &Ctx, out: &mut Out<'_>) {
    if !ctx.mutable() {
        return;
    }
    let Some(op) = operator_token(node) else {
        return;
    };
    let Some((operator, replacements)) = flips(out.text(op)) else {
        return;
    };
    if operator == Operator::ArithmeticFlip {
        let lang = out.lang();
        let stringy =
            ["left", "right"].iter().any(|f| node.child_by_field_name(f).is_some_and(|n| is_stringy(lang, n, 0)));
        if stringy {
            return;
        }
    }
    for r in replacements {
        out.replace(op, operator, r, ctx);
    }
}

/// Whether an expression is, or is a `+` chain containing, a string literal.
pub(super) fn is_stringy(lang: Lang, node: Node<'_>, depth: usize) -> bool {
    if lang.is_string_or_comment(node.kind()) || matches!(node.kind(), "template_string" | "macro_invocation") {
        return true;
    }
    if depth > 16 {
        return false;
    }
    match node.kind() {
        "parenthesized_expression" | "expression_list" => {
            named_children(node).into_iter().any(|c| is_stringy(lang, c, depth + 1))
        }
        "binary_expression" | "binary_operator" => {
            let plus = operator_token(node).is_some_and(|op| op.kind() == "+");
            plus && ["left", "right"]
                .iter()
                .any(|f| node.child_by_field_name(f).is_some_and(|n| is_stringy(lang, n, depth + 1)))
        }
        _ => false,
    }
}

/// Boundary mutants of an integer literal: `n + 1` and `n - 1` written as
/// literals, keeping a type suffix (`3u32` → `4u32`). Only plain decimal
/// literals; `0` gets no `-1` (it would not type-check for unsigned types).
pub(super) fn boundary(node: Node<'_>, ctx: &Ctx, out: &mut Out<'_>) {
    if !ctx.mutable() {
        return;
    }
    let text = out.text(node);
    let digits_end = text.find(|c: char| !(c.is_ascii_digit() || c == '_')).unwrap_or(text.len());
    let (digits, suffix) = text.split_at(digits_end);
    let valid_suffix = suffix.is_empty()
        || matches!(
            suffix,
            "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "n"
        );
    if digits.is_empty() || digits.starts_with('_') || !valid_suffix {
        return;
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    if clean.len() > 1 && clean.starts_with('0') {
        return; // octal in Go, invalid elsewhere
    }
    let Ok(n) = clean.parse::<u128>() else {
        return;
    };
    if let Some(up) = n.checked_add(1) {
        out.replace(node, Operator::Boundary, &format!("{up}{suffix}"), ctx);
    }
    if let Some(down) = n.checked_sub(1) {
        out.replace(node, Operator::Boundary, &format!("{down}{suffix}"), ctx);
    }
}

/// Whether any of `names` occurs as a whole word in `text`.
pub(super) fn mentions_any(text: &str, names: &[&str]) -> bool {
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    names.iter().filter(|n| !n.is_empty()).any(|name| {
        text.match_indices(name).any(|(i, _)| {
            let before_ok = text[..i].chars().next_back().is_none_or(|c| !is_word(c));
            let after_ok = text[i + name.len()..].chars().next().is_none_or(|c| !is_word(c));
            before_ok && after_ok
        })
    })
}

/// The texts of every `identifier` (and shorthand pattern) node under
/// `node`, itself included: the names a declaration binds.
pub(super) fn identifiers<'s>(node: Node<'_>, src: &'s str) -> Vec<&'s str> {
    let mut found = Vec::new();
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if n.kind() == "identifier" || n.kind().starts_with("shorthand_") {
            if let Some(t) = src.get(n.byte_range()) {
                found.push(t);
            }
        }
        stack.extend(named_children(n));
    }
    found
}

/// Whether a declaration whose bound names are `names` may be removed from a
/// test body: only when none of the names is used in the rest of the body.
pub(super) fn unused_later(names: &[&str], src: &str, stmt: Node<'_>, body: Node<'_>) -> bool {
    let rest = src.get(stmt.end_byte()..body.end_byte()).unwrap_or("");
    let names: Vec<&str> = names.iter().copied().filter(|n| *n != "_").collect();
    !mentions_any(rest, &names)
}

/// Whether a body already is the replacement, ignoring whitespace and `;`.
pub(super) fn same_code(a: &str, b: &str) -> bool {
    let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace() && *c != ';').collect::<String>();
    squash(a) == squash(b)
}
