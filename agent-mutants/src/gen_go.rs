//! Go mutation rules.
//!
//! Test code is a `_test.go` file; test bodies are its `Test*` functions.
//! Body replacements return the zero values of the declared results at once
//! (`return 0`, `return "", nil`, `return nil`; `*new(T)` for named and
//! composite types, which is the zero value of any `T`); a single `bool`
//! result also gets `true`, a single number also `1`. They are insertions
//! (`{` → `{ return 0;`) that leave the old statements as dead code: Go
//! rejects unused imports and variables, and deleting the body would often
//! leave some unused.
//!
//! An `if` condition is negated and made constant (`(c) || true`,
//! `(c) && false`).

use super::{Ctx, Out, binary, boundary, identifiers, is_comparison, named_children, operator_token, unused_later};
use crate::Operator;
use tree_sitter::Node;

/// The context inside a function or method declaration.
pub(super) fn enter(node: Node<'_>, src: &str, ctx: &Ctx) -> Option<Ctx> {
    if !matches!(node.kind(), "function_declaration" | "method_declaration") {
        return None;
    }
    let name = node.child_by_field_name("name").and_then(|n| src.get(n.byte_range())).unwrap_or_default();
    let test_fn = ctx.in_test && node.kind() == "function_declaration" && name.starts_with("Test");
    Some(Ctx { test_fn, function: Some(name.to_string()), ..ctx.clone() })
}

/// The mutants of one Go node.
pub(super) fn visit(node: Node<'_>, ctx: &Ctx, out: &mut Out<'_>) {
    match node.kind() {
        "binary_expression" | "assignment_statement" => binary(node, ctx, out),
        "if_statement" => {
            if let Some(cond) = node.child_by_field_name("condition") {
                negate(cond, ctx, out);
                constant(cond, ctx, out);
            }
        }
        "for_statement" => {
            let cond = named_children(node)
                .into_iter()
                .find(|c| !matches!(c.kind(), "for_clause" | "range_clause" | "block" | "comment"));
            if let Some(cond) = cond {
                negate(cond, ctx, out);
            }
        }
        "int_literal" => {
            let counted = node.parent().is_some_and(|p| match p.kind() {
                "binary_expression" => operator_token(p).is_some_and(|op| is_comparison(out.text(op))),
                "expression_list" => p.parent().is_some_and(|r| r.kind() == "return_statement"),
                _ => false,
            });
            if counted {
                boundary(node, ctx, out);
            }
        }
        "expression_switch_statement" | "type_switch_statement" if ctx.mutable() => {
            for case in named_children(node).into_iter().filter(|c| matches!(c.kind(), "expression_case" | "type_case"))
            {
                out.replace(case, Operator::DeleteArm, "", ctx);
            }
        }
        "function_declaration" | "method_declaration" => {
            if ctx.test_fn {
                remove_test_statements(node, ctx, out);
            } else if ctx.mutable() {
                replace_body(node, ctx, out);
            }
        }
        _ => {}
    }
}

/// `if c` → `if !(c)`, also for `for c`.
fn negate(cond: Node<'_>, ctx: &Ctx, out: &mut Out<'_>) {
    if ctx.mutable() {
        let replacement = format!("!({})", out.text(cond));
        out.replace(cond, Operator::NegateCondition, &replacement, ctx);
    }
}

/// `if c` → `if (c) || true` and `if (c) && false`: constant conditions
/// that still evaluate `c`, so every variable it names stays used (Go
/// rejects an unused variable, and `if true` would leave `err` unused).
fn constant(cond: Node<'_>, ctx: &Ctx, out: &mut Out<'_>) {
    if ctx.mutable() {
        let c = out.text(cond);
        for replacement in [format!("({c}) || true"), format!("({c}) && false")] {
            out.replace(cond, Operator::ConstantCondition, &replacement, ctx);
        }
    }
}

/// Makes a function return zero values at once: `return Z;` is inserted
/// right after the body's `{` and the original statements stay behind it as
/// dead code, so imports and variables they use are still used (Go rejects
/// unused ones) and the mutant builds.
fn replace_body(func: Node<'_>, ctx: &Ctx, out: &mut Out<'_>) {
    let Some(body) = func.child_by_field_name("body") else {
        return;
    };
    let mut results: Vec<Node<'_>> = Vec::new();
    match func.child_by_field_name("result") {
        None => {}
        Some(list) if list.kind() == "parameter_list" => {
            for decl in named_children(list).into_iter().filter(|d| d.kind() == "parameter_declaration") {
                let Some(ty) = decl.child_by_field_name("type") else {
                    continue;
                };
                let mut cursor = decl.walk();
                let names = decl.children_by_field_name("name", &mut cursor).count().max(1);
                results.extend(std::iter::repeat_n(ty, names));
            }
        }
        Some(ty) => results.push(ty),
    }
    let mut returns: Vec<String> = Vec::new();
    match results.as_slice() {
        [] => returns.push("return".to_string()),
        [single] => {
            let zero = zero_value(*single, out);
            let extra = match zero.as_str() {
                "false" => Some("true"),
                "0" => Some("1"),
                _ => None,
            };
            returns.push(format!("return {zero}"));
            if let Some(extra) = extra {
                returns.push(format!("return {extra}"));
            }
        }
        many => {
            let zeros: Vec<String> = many.iter().map(|t| zero_value(*t, out)).collect();
            returns.push(format!("return {}", zeros.join(", ")));
        }
    }
    let body_text = out.text(body);
    let statements = body_text.trim_start_matches('{').trim_end_matches('}').trim();
    let at = body.start_byte() + 1;
    for ret in returns {
        if statements.is_empty() || super::same_code(statements, &ret) {
            continue;
        }
        out.push(at, at, Operator::ReplaceBody, &format!(" {ret};"), ctx);
    }
}

/// The zero value of a Go type, as an expression.
fn zero_value(ty: Node<'_>, out: &Out<'_>) -> String {
    let text = out.text(ty).trim();
    match ty.kind() {
        "type_identifier" => match text {
            "int" | "int8" | "int16" | "int32" | "int64" | "uint" | "uint8" | "uint16" | "uint32" | "uint64"
            | "uintptr" | "byte" | "rune" | "float32" | "float64" | "complex64" | "complex128" => "0".to_string(),
            "string" => "\"\"".to_string(),
            "bool" => "false".to_string(),
            "error" | "any" => "nil".to_string(),
            _ => format!("*new({text})"),
        },
        "pointer_type" | "slice_type" | "map_type" | "channel_type" | "function_type" | "interface_type" => {
            "nil".to_string()
        }
        _ => format!("*new({text})"),
    }
}

/// Whether a statement is an assertion (`t.Errorf(…)`, `t.Fatal(…)`,
/// `assert.Equal(…)`, `require.NoError(…)`): deleting one always leaves the
/// test passing.
fn is_assertion(text: &str) -> bool {
    let t = text.trim_start();
    ["t.Error", "t.Fatal", "t.Fail", "assert.", "require."].iter().any(|p| t.starts_with(p))
}

/// Deletes one statement of a `Test*` body: calls (not assertions) and
/// declarations or assignments whose names the rest of the body does not use.
fn remove_test_statements(func: Node<'_>, ctx: &Ctx, out: &mut Out<'_>) {
    let Some(body) = func.child_by_field_name("body") else {
        return;
    };
    let statements: Vec<Node<'_>> = named_children(body)
        .into_iter()
        .flat_map(|c| if c.kind() == "statement_list" { named_children(c) } else { vec![c] })
        .collect();
    for stmt in statements {
        let removable = match stmt.kind() {
            "expression_statement" => !is_assertion(out.text(stmt)),
            "inc_statement" | "dec_statement" => true,
            "short_var_declaration" | "assignment_statement" | "var_declaration" => {
                let left = stmt.child_by_field_name("left").unwrap_or(stmt);
                let names = identifiers(left, out.src);
                unused_later(&names, out.src, stmt, body)
            }
            _ => false,
        };
        if removable {
            out.replace(stmt, Operator::RemoveTestStatement, "", ctx);
        }
    }
}
