//! Python mutation rules.
//!
//! Test code is a `test_*.py` / `*_test.py` / `conftest.py` file, a
//! `test_*` function (any `test*` one in a test file) and a `Test*` class.
//! Body replacements write `return VALUE` in place of the whole block, with
//! the value chosen from the return annotation when there is one (`True`
//! and `False` when every `return` returns an evidently boolean expression,
//! `None` otherwise); an `if`/`elif` condition is negated and replaced by
//! `True` and by `False`; a removed test statement becomes `pass`, so the
//! body stays a valid block.

use super::{Ctx, Out, binary, boundary, every_return_is, identifiers, named_children, same_code, unused_later};
use crate::Operator;
use tree_sitter::Node;

/// The context inside a function or class definition.
pub(super) fn enter(node: Node<'_>, src: &str, ctx: &Ctx) -> Option<Ctx> {
    let name = node.child_by_field_name("name").and_then(|n| src.get(n.byte_range()));
    match node.kind() {
        "function_definition" => {
            let name = name.unwrap_or_default();
            // pytest collects `test*` in test files; elsewhere only `test_*` is taken for a test.
            let test_fn =
                if ctx.in_test { name.starts_with("test") } else { name == "test" || name.starts_with("test_") };
            Some(Ctx { in_test: ctx.in_test || test_fn, test_fn, skip: ctx.skip, function: Some(name.to_string()) })
        }
        "class_definition" if name.is_some_and(|n| n.starts_with("Test")) => {
            Some(Ctx { in_test: true, test_fn: false, ..ctx.clone() })
        }
        _ => None,
    }
}

/// The mutants of one Python node.
pub(super) fn visit(node: Node<'_>, ctx: &Ctx, out: &mut Out<'_>) {
    match node.kind() {
        "comparison_operator" => comparison(node, ctx, out),
        "boolean_operator" => {
            if let Some(op) = node.child_by_field_name("operator").filter(|_| ctx.mutable()) {
                let flipped = if out.text(op) == "and" { "or" } else { "and" };
                out.replace(op, Operator::BooleanFlip, flipped, ctx);
            }
        }
        "binary_operator" | "augmented_assignment" => binary(node, ctx, out),
        "if_statement" | "elif_clause" | "while_statement" => {
            negate(node, ctx, out);
            if node.kind() != "while_statement" {
                constant(node, ctx, out);
            }
            if node.kind() == "if_statement" {
                delete_branches(node, ctx, out);
            }
        }
        "integer" => {
            let counted = node.parent().is_some_and(|p| matches!(p.kind(), "comparison_operator" | "return_statement"));
            if counted {
                boundary(node, ctx, out);
            }
        }
        "function_definition" => {
            if ctx.test_fn {
                remove_test_statements(node, ctx, out);
            } else if ctx.mutable() {
                replace_body(node, ctx, out);
            }
        }
        _ => {}
    }
}

/// Flips every operator of a (possibly chained) comparison.
fn comparison(node: Node<'_>, ctx: &Ctx, out: &mut Out<'_>) {
    if !ctx.mutable() {
        return;
    }
    let mut cursor = node.walk();
    let ops: Vec<Node<'_>> = node.children_by_field_name("operators", &mut cursor).collect();
    for op in ops {
        let text = out.text(op);
        let (operator, replacements): (Operator, &[&str]) = match text {
            "is" => (Operator::EqualityFlip, &["is not"]),
            "is not" => (Operator::EqualityFlip, &["is"]),
            "in" => (Operator::EqualityFlip, &["not in"]),
            "not in" => (Operator::EqualityFlip, &["in"]),
            _ => match super::flips(text) {
                Some(f) => f,
                None => continue,
            },
        };
        for r in replacements {
            out.replace(op, operator, r, ctx);
        }
    }
}

/// `if c:` → `if not (c):`, also for `elif` and `while`.
fn negate(node: Node<'_>, ctx: &Ctx, out: &mut Out<'_>) {
    if !ctx.mutable() {
        return;
    }
    if let Some(cond) = node.child_by_field_name("condition") {
        let replacement = format!("not ({})", out.text(cond));
        out.replace(cond, Operator::NegateCondition, &replacement, ctx);
    }
}

/// `if c:` → `if True:` and `if False:`, also for `elif`: the test that
/// only ever takes one branch misses one of them.
fn constant(node: Node<'_>, ctx: &Ctx, out: &mut Out<'_>) {
    if !ctx.mutable() {
        return;
    }
    if let Some(cond) = node.child_by_field_name("condition") {
        for value in ["True", "False"] {
            out.replace(cond, Operator::ConstantCondition, value, ctx);
        }
    }
}

/// Deletes each `elif` and `else` branch of an `if`.
fn delete_branches(node: Node<'_>, ctx: &Ctx, out: &mut Out<'_>) {
    if !ctx.mutable() {
        return;
    }
    for clause in named_children(node) {
        if matches!(clause.kind(), "elif_clause" | "else_clause") {
            out.replace(clause, Operator::DeleteArm, "", ctx);
        }
    }
}

/// Replaces a function body with `return VALUE`.
fn replace_body(func: Node<'_>, ctx: &Ctx, out: &mut Out<'_>) {
    let Some(body) = func.child_by_field_name("body") else {
        return;
    };
    let statements = named_children(body);
    let trivial = statements.iter().all(|s| match s.kind() {
        "pass_statement" | "comment" => true,
        "expression_statement" => {
            named_children(*s).iter().all(|e| matches!(e.kind(), "string" | "ellipsis" | "concatenated_string"))
        }
        _ => false,
    });
    if trivial || body.byte_range().is_empty() {
        return;
    }
    let annotation = func.child_by_field_name("return_type").map(|t| out.text(t)).unwrap_or("");
    let values =
        if annotation.is_empty() && returns_bool(body, out) { vec!["True", "False"] } else { values_of(annotation) };
    for value in values {
        let replacement = format!("return {value}");
        if !same_code(out.text(body), &replacement) {
            out.replace(body, Operator::ReplaceBody, &replacement, ctx);
        }
    }
}

/// Whether every `return` of a body (nested functions, lambdas and classes
/// left out) returns an evidently boolean expression, and there is one.
fn returns_bool(body: Node<'_>, out: &Out<'_>) -> bool {
    every_return_is(body, &["function_definition", "lambda", "class_definition"], |e| is_bool(e, out))
}

/// Whether an expression is evidently a `bool`: `True`/`False`, a
/// comparison, `not x`, `and`/`or` of such, or a call of a builtin
/// predicate (`isinstance`, `bool`, `all`, …).
fn is_bool(expr: Node<'_>, out: &Out<'_>) -> bool {
    match expr.kind() {
        "true" | "false" | "comparison_operator" | "not_operator" => true,
        "parenthesized_expression" => named_children(expr).first().is_some_and(|e| is_bool(*e, out)),
        "boolean_operator" => {
            ["left", "right"].iter().all(|f| expr.child_by_field_name(f).is_some_and(|e| is_bool(e, out)))
        }
        "call" => expr.child_by_field_name("function").is_some_and(|f| {
            matches!(out.text(f), "isinstance" | "issubclass" | "bool" | "all" | "any" | "callable" | "hasattr")
        }),
        _ => false,
    }
}

/// Plain values for a return annotation (`None` without one).
fn values_of(annotation: &str) -> Vec<&'static str> {
    let t: String = annotation.chars().filter(|c| !c.is_whitespace()).collect();
    let t = t.trim_matches(|c| c == '"' || c == '\'');
    let head = t.split('[').next().unwrap_or(t).rsplit('.').next().unwrap_or(t);
    if t.contains("|None") || t.starts_with("None|") || head == "Optional" {
        return vec!["None"];
    }
    match head {
        "bool" => vec!["True", "False"],
        "int" => vec!["0", "1"],
        "float" => vec!["0.0", "1.0"],
        "str" => vec!["\"\""],
        "bytes" => vec!["b\"\""],
        "list" | "List" | "Sequence" | "MutableSequence" => vec!["[]"],
        "dict" | "Dict" | "Mapping" | "MutableMapping" => vec!["{}"],
        "set" | "Set" | "frozenset" | "FrozenSet" => vec!["set()"],
        "tuple" | "Tuple" => vec!["()"],
        "Iterator" | "Iterable" | "Generator" => vec!["iter(())"],
        _ => vec!["None"],
    }
}

/// Whether an expression is an assertion call (`self.assertEqual(…)`,
/// `pytest.fail(…)`): deleting one always leaves the test passing.
fn is_assertion(text: &str) -> bool {
    let t = text.trim_start();
    ["self.assert", "self.fail", "assert", "pytest.fail", "pytest.raises"].iter().any(|p| t.starts_with(p))
}

/// Replaces one statement of a test body with `pass`: calls and assignments
/// whose names the rest of the body does not use. Assertions, docstrings
/// and control flow stay.
fn remove_test_statements(func: Node<'_>, ctx: &Ctx, out: &mut Out<'_>) {
    let Some(body) = func.child_by_field_name("body") else {
        return;
    };
    for stmt in named_children(body) {
        let removable = match stmt.kind() {
            // Deleting an assertion always leaves the test passing: that says nothing.
            "assert_statement" => false,
            "expression_statement" => named_children(stmt).first().is_some_and(|inner| match inner.kind() {
                "string" | "concatenated_string" | "ellipsis" => false,
                "assignment" => inner.child_by_field_name("left").is_some_and(|left| {
                    let names = identifiers(left, out.src);
                    unused_later(&names, out.src, stmt, body)
                }),
                _ => !is_assertion(out.text(*inner)),
            }),
            _ => false,
        };
        if removable {
            out.replace(stmt, Operator::RemoveTestStatement, "pass", ctx);
        }
    }
}
