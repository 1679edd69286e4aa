//! Rust mutation rules.
//!
//! Test code is a file under `tests/` (or named `tests.rs`), an item under
//! `#[cfg(test)]` and a function with a `#[test]`-like attribute
//! (`#[test]`, `#[tokio::test]`, `#[rstest]`, …). `#[mutants::skip]`
//! (also inside `cfg_attr`) removes every mutant of its item. Macro bodies
//! are token trees to tree-sitter, so `assert!(a == b)` has no operator
//! mutants. Body replacements are chosen from the return type by the
//! `gen_rust_values` module.

use super::gen_rust_values::{Scope, has_default, values_of};
use super::{
    Ctx, Out, binary, boundary, identifiers, is_comparison, named_children, operator_token, same_code, unused_later,
};
use crate::Operator;
use tree_sitter::Node;

/// The context inside an item, from its outer attributes.
pub(super) fn enter(node: Node<'_>, src: &str, ctx: &Ctx) -> Option<Ctx> {
    let kind = node.kind();
    if kind == "source_file" {
        let file_is_test = named_children(node)
            .iter()
            .any(|c| c.kind() == "inner_attribute_item" && is_cfg_test(&squash(text(*c, src))));
        return file_is_test.then(|| Ctx { in_test: true, ..ctx.clone() });
    }
    if !kind.ends_with("_item") || kind.contains("attribute") {
        return None;
    }
    let attrs = attributes(node, src);
    let mut inner = ctx.clone();
    if attrs.iter().any(|a| is_cfg_test(a)) {
        inner.in_test = true;
    }
    if attrs.iter().any(|a| a.contains("mutants::skip")) {
        inner.skip = true;
    }
    if kind == "function_item" {
        inner.function = node.child_by_field_name("name").map(|n| text(n, src).to_string());
        inner.test_fn = attrs.iter().any(|a| is_test_attr(a));
        if inner.test_fn {
            inner.in_test = true;
        }
    }
    Some(inner)
}

/// The mutants of one Rust node.
pub(super) fn visit(node: Node<'_>, ctx: &Ctx, out: &mut Out<'_>) {
    match node.kind() {
        "binary_expression" | "compound_assignment_expr" => binary(node, ctx, out),
        "if_expression" | "while_expression" => negate(node, ctx, out),
        "integer_literal" if boundary_context(node, out) => boundary(node, ctx, out),
        "match_block" => delete_arms(node, ctx, out),
        "function_item" => {
            if ctx.test_fn {
                remove_test_statements(node, ctx, out);
            } else if ctx.mutable() {
                replace_body(node, ctx, out);
            }
        }
        _ => {}
    }
}

fn text<'s>(node: Node<'_>, src: &'s str) -> &'s str {
    src.get(node.byte_range()).unwrap_or("")
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The outer attributes of an item, whitespace removed, without `#[` `]`.
fn attributes(node: Node<'_>, src: &str) -> Vec<String> {
    let mut attrs = Vec::new();
    let mut prev = node.prev_named_sibling();
    while let Some(p) = prev {
        match p.kind() {
            "attribute_item" => {
                let t = squash(text(p, src));
                attrs.push(t.trim_start_matches("#[").trim_end_matches(']').to_string());
            }
            "line_comment" | "block_comment" => {}
            _ => break,
        }
        prev = p.prev_named_sibling();
    }
    attrs
}

fn is_cfg_test(attr: &str) -> bool {
    let attr = attr.trim_start_matches("#![").trim_end_matches(']');
    attr == "cfg(test)" || attr.starts_with("cfg(all(test,")
}

fn is_test_attr(attr: &str) -> bool {
    let path = attr.split('(').next().unwrap_or(attr);
    let last = path.rsplit("::").next().unwrap_or(path);
    matches!(last, "test" | "rstest" | "test_case" | "quickcheck")
}

/// `if c` → `if !(c)`, also for `while`; never on `if let` conditions.
fn negate(node: Node<'_>, ctx: &Ctx, out: &mut Out<'_>) {
    if !ctx.mutable() {
        return;
    }
    let Some(cond) = node.child_by_field_name("condition") else {
        return;
    };
    if matches!(cond.kind(), "let_condition" | "let_chain") {
        return;
    }
    let replacement = format!("!({})", out.text(cond));
    out.replace(cond, Operator::NegateCondition, &replacement, ctx);
}

/// Integer literals compared, returned, or the tail of a function body.
fn boundary_context(node: Node<'_>, out: &Out<'_>) -> bool {
    let Some(parent) = node.parent() else {
        return false;
    };
    match parent.kind() {
        "binary_expression" => operator_token(parent).is_some_and(|op| is_comparison(out.text(op))),
        "return_expression" => true,
        "block" => {
            parent.parent().is_some_and(|f| f.kind() == "function_item")
                && named_children(parent).last().is_some_and(|last| last.id() == node.id())
        }
        _ => false,
    }
}

/// Deletes a match arm when the match has a catch-all arm (`_`, or a bare
/// lowercase binding such as `n`, without a guard) that the deleted arm's
/// values then fall into; the catch-all itself stays. A match without one
/// is left alone: deleting an arm of an exhaustive `match` over an enum
/// never compiles.
fn delete_arms(block: Node<'_>, ctx: &Ctx, out: &mut Out<'_>) {
    if !ctx.mutable() {
        return;
    }
    let arms: Vec<Node<'_>> = named_children(block).into_iter().filter(|c| c.kind() == "match_arm").collect();
    if arms.len() < 2 {
        return;
    }
    let src = out.src;
    let catch_all: Vec<bool> = arms
        .iter()
        .map(|arm| {
            arm.child_by_field_name("pattern").is_some_and(|p| {
                let pattern = squash(text(p, src));
                pattern == "_"
                    || (pattern.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                        && pattern.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            })
        })
        .collect();
    if !catch_all.contains(&true) {
        return;
    }
    for (arm, _) in arms.iter().zip(&catch_all).filter(|(_, all)| !**all) {
        out.replace(*arm, Operator::DeleteArm, "", ctx);
    }
}

/// Replaces the body of a function with plain values of its return type.
fn replace_body(func: Node<'_>, ctx: &Ctx, out: &mut Out<'_>) {
    let Some(body) = func.child_by_field_name("body") else {
        return;
    };
    let has_modifier = |word: &str| {
        named_children(func)
            .iter()
            .any(|c| c.kind() == "function_modifiers" && out.text(*c).split_whitespace().any(|w| w == word))
    };
    if has_modifier("unsafe") {
        return;
    }
    let mut values = match func.child_by_field_name("return_type") {
        None => vec!["()".to_string()],
        Some(ty) => values_of(ty, out, scope_of(func, out)),
    };
    if has_modifier("const") {
        values.retain(|v| const_safe(v));
    }
    for value in values {
        let replacement = if value == "()" { "{}".to_string() } else { format!("{{ {value} }}") };
        if !same_code(out.text(body), &replacement) {
            out.replace(body, Operator::ReplaceBody, &replacement, ctx);
        }
    }
}

/// Whether a replacement value may stand in a `const fn` body: literals,
/// tuples, arrays, `None`/`Some(..)`/`Ok(..)`, `String::new()` and `vec![]`;
/// no method call (`.into()`), path call (`Box::new`, `Default::default()`)
/// or other macro, which are not const.
fn const_safe(value: &str) -> bool {
    let rest = value.replace("String::new()", "").replace("vec![]", "");
    let method_call = rest.as_bytes().windows(2).any(|w| w[0] == b'.' && w[1].is_ascii_alphabetic());
    !rest.contains("::") && !rest.contains('!') && !rest.contains("&mut") && !method_call
}

/// What `Self` is for a function: known to implement `Default` when the
/// enclosing `impl` is for such a type (with no unknown type parameters);
/// unknown in a trait's default method.
fn scope_of(func: Node<'_>, out: &Out<'_>) -> Scope {
    let Some(imp) = func.parent().and_then(|list| list.parent()).filter(|p| p.kind() == "impl_item") else {
        return Scope::default();
    };
    let is_default_impl =
        imp.child_by_field_name("trait").is_some_and(|t| squash(out.text(t)).rsplit("::").next() == Some("Default"));
    let fn_name = func.child_by_field_name("name").map(|n| out.text(n)).unwrap_or("");
    let in_default_fn = is_default_impl && fn_name == "default";
    let self_default = imp.child_by_field_name("type").is_some_and(|t| has_default(t, out, Scope::default()));
    Scope { self_default, in_default_fn }
}

/// Whether a statement is an assertion: deleting one always leaves the test
/// passing, so that mutant would say nothing about the test.
fn is_assertion(text: &str) -> bool {
    let t = text.trim_start();
    ["assert", "debug_assert", "panic!", "unreachable!", "prop_assert"].iter().any(|p| t.starts_with(p))
}

/// Deletes one statement of a test body: expression statements (calls, not
/// assertions) and `let`s whose names the rest of the body does not use.
/// Control flow, items, assertions and the tail expression stay.
fn remove_test_statements(func: Node<'_>, ctx: &Ctx, out: &mut Out<'_>) {
    let Some(body) = func.child_by_field_name("body") else {
        return;
    };
    for stmt in named_children(body) {
        let removable = match stmt.kind() {
            "expression_statement" => named_children(stmt).first().is_some_and(|inner| {
                !matches!(
                    inner.kind(),
                    "if_expression"
                        | "match_expression"
                        | "for_expression"
                        | "while_expression"
                        | "loop_expression"
                        | "return_expression"
                        | "break_expression"
                        | "continue_expression"
                        | "block"
                        | "unsafe_block"
                        | "async_block"
                )
            }),
            "let_declaration" => stmt.child_by_field_name("pattern").is_some_and(|p| {
                let names = identifiers(p, out.src);
                unused_later(&names, out.src, stmt, body)
            }),
            _ => false,
        };
        if removable && !is_assertion(out.text(stmt)) {
            out.replace(stmt, Operator::RemoveTestStatement, "", ctx);
        }
    }
}
