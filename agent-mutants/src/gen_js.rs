//! JavaScript, TypeScript and TSX mutation rules.
//!
//! Test code is a `*.test.*` / `*.spec.*` file or one under `__tests__/`;
//! test bodies are the callbacks passed to `test(…)` / `it(…)` (and
//! `test.only`, `it.each(…)(…)` and the like), and their mutants carry the
//! test's title as the function name. Only named functions get body
//! replacements (declarations, methods other than `constructor`, and
//! function or arrow expressions bound to a variable), so callbacks are left
//! alone. A function without a return type whose every `return` (or arrow
//! expression body) is evidently a boolean gets `return true` and `return
//! false`; an `if` condition is negated and replaced by `true` and `false`
//! (in TypeScript only a condition that narrows no type).
//! Other JavaScript bodies become `return undefined`; TypeScript bodies get
//! a value of the declared return type (`undefined as never` for types with
//! no plain value, which type-checks and fails at the first use).

use super::{
    Ctx, Out, binary, boundary, every_return_is, identifiers, is_comparison, named_children, operator_token, same_code,
    unused_later,
};
use crate::Operator;
use agent_syntax::Lang;
use tree_sitter::Node;

/// The context inside a named function.
pub(super) fn enter(node: Node<'_>, src: &str, ctx: &Ctx) -> Option<Ctx> {
    let name = function_name(node)?;
    Some(Ctx { function: src.get(name.byte_range()).map(str::to_string), ..ctx.clone() })
}

/// The name node of a function-like node, when it has one.
fn function_name(node: Node<'_>) -> Option<Node<'_>> {
    match node.kind() {
        "function_declaration" | "generator_function_declaration" | "method_definition" => {
            node.child_by_field_name("name")
        }
        "arrow_function" | "function_expression" | "function" => {
            let parent = node.parent()?;
            match parent.kind() {
                "variable_declarator" => parent.child_by_field_name("name"),
                _ => node.child_by_field_name("name"),
            }
        }
        _ => None,
    }
}

/// The mutants of one JavaScript or TypeScript node.
pub(super) fn visit(node: Node<'_>, ctx: &Ctx, out: &mut Out<'_>) {
    match node.kind() {
        "binary_expression" | "augmented_assignment_expression" => binary(node, ctx, out),
        "if_statement" | "while_statement" | "do_statement" => {
            negate(node, ctx, out);
            if node.kind() == "if_statement" {
                constant(node, ctx, out);
            }
        }
        "number" => {
            let counted = node.parent().is_some_and(|p| match p.kind() {
                "binary_expression" => operator_token(p).is_some_and(|op| is_comparison(out.text(op))),
                "return_statement" => true,
                _ => false,
            });
            if counted {
                boundary(node, ctx, out);
            }
        }
        "switch_body" if ctx.mutable() => {
            for case in named_children(node).into_iter().filter(|c| c.kind() == "switch_case") {
                out.replace(case, Operator::DeleteArm, "", ctx);
            }
        }
        "call_expression" if ctx.in_test => remove_test_statements(node, ctx, out),
        "function_declaration" | "method_definition" | "arrow_function" | "function_expression" | "function"
            if ctx.mutable() =>
        {
            replace_body(node, ctx, out)
        }
        _ => {}
    }
}

/// `if (c)` → `if (!(c))`, also for `while` and `do … while`.
fn negate(node: Node<'_>, ctx: &Ctx, out: &mut Out<'_>) {
    if !ctx.mutable() {
        return;
    }
    let Some(paren) = node.child_by_field_name("condition") else {
        return;
    };
    let inner = if paren.kind() == "parenthesized_expression" {
        named_children(paren).into_iter().find(|c| c.kind() != "comment")
    } else {
        Some(paren)
    };
    if let Some(cond) = inner {
        let replacement = format!("!({})", out.text(cond));
        out.replace(cond, Operator::NegateCondition, &replacement, ctx);
    }
}

/// The condition of an `if`, inside its parentheses.
fn condition(node: Node<'_>) -> Option<Node<'_>> {
    let paren = node.child_by_field_name("condition")?;
    if paren.kind() == "parenthesized_expression" {
        named_children(paren).into_iter().find(|c| c.kind() != "comment")
    } else {
        Some(paren)
    }
}

/// `if (c)` → `if (true)` and `if (false)`. In TypeScript only for
/// conditions that cannot narrow a type (relational comparisons and
/// `&&`/`||` of them): `if (true)` in place of `if (x !== undefined)` would
/// leave `x` un-narrowed in the branch and fail to type-check.
fn constant(node: Node<'_>, ctx: &Ctx, out: &mut Out<'_>) {
    if !ctx.mutable() {
        return;
    }
    let typed = matches!(out.lang(), Lang::TypeScript | Lang::Tsx);
    if let Some(cond) = condition(node).filter(|c| !typed || narrows_nothing(*c, out)) {
        for value in ["true", "false"] {
            out.replace(cond, Operator::ConstantCondition, value, ctx);
        }
    }
}

/// Whether a condition is a relational comparison (`<`, `<=`, `>`, `>=`)
/// or `&&`/`||` of such: TypeScript narrows no type on it.
fn narrows_nothing(cond: Node<'_>, out: &Out<'_>) -> bool {
    match cond.kind() {
        "parenthesized_expression" => named_children(cond).first().is_some_and(|c| narrows_nothing(*c, out)),
        "binary_expression" => operator_token(cond).is_some_and(|op| match out.text(op) {
            "<" | "<=" | ">" | ">=" => true,
            "&&" | "||" => {
                ["left", "right"].iter().all(|f| cond.child_by_field_name(f).is_some_and(|c| narrows_nothing(c, out)))
            }
            _ => false,
        }),
        _ => false,
    }
}

/// Whether every `return` of a function body (nested functions left out),
/// or an arrow function's expression body, is evidently a boolean, and
/// there is at least one.
fn returns_bool(body: Node<'_>, out: &Out<'_>) -> bool {
    if body.kind() != "statement_block" {
        return is_bool(body, out);
    }
    const NESTED: &[&str] = &[
        "function_declaration",
        "function_expression",
        "function",
        "arrow_function",
        "method_definition",
        "class_declaration",
        "class",
        "generator_function_declaration",
    ];
    every_return_is(body, NESTED, |e| is_bool(e, out))
}

/// Whether an expression is evidently a boolean: `true`/`false`, a
/// comparison, `instanceof`/`in`, `!x`, `&&`/`||` of such, `Boolean(x)`,
/// `Array.isArray(x)`.
fn is_bool(expr: Node<'_>, out: &Out<'_>) -> bool {
    match expr.kind() {
        "true" | "false" => true,
        "parenthesized_expression" => named_children(expr).first().is_some_and(|e| is_bool(*e, out)),
        "unary_expression" => operator_token(expr).is_some_and(|op| out.text(op) == "!"),
        "binary_expression" => operator_token(expr).is_some_and(|op| match out.text(op) {
            "&&" | "||" => {
                ["left", "right"].iter().all(|f| expr.child_by_field_name(f).is_some_and(|e| is_bool(e, out)))
            }
            o => is_comparison(o) || matches!(o, "instanceof" | "in"),
        }),
        "call_expression" => {
            expr.child_by_field_name("function").is_some_and(|f| matches!(out.text(f), "Boolean" | "Array.isArray"))
        }
        _ => false,
    }
}

/// A value that means "the function returns nothing".
const UNIT: &str = "";

/// Replaces the body of a named function with a plain value of its type.
fn replace_body(func: Node<'_>, ctx: &Ctx, out: &mut Out<'_>) {
    let Some(body) = func.child_by_field_name("body") else {
        return;
    };
    let Some(name) = function_name(func) else {
        return;
    };
    let mut cursor = func.walk();
    let tokens: Vec<&str> = func.children(&mut cursor).filter(|c| !c.is_named()).map(|c| c.kind()).collect();
    if out.text(name) == "constructor" || tokens.contains(&"*") {
        return;
    }
    let is_async = tokens.contains(&"async");
    let setter = tokens.contains(&"set");
    let typed = matches!(out.lang(), Lang::TypeScript | Lang::Tsx);
    let annotated = func.child_by_field_name("return_type").is_some();
    let values: Vec<String> = if setter {
        vec![UNIT.to_string()]
    } else if !annotated && returns_bool(body, out) {
        vec!["true".to_string(), "false".to_string()]
    } else if !typed {
        vec!["undefined".to_string()]
    } else {
        match func.child_by_field_name("return_type").and_then(|a| named_children(a).into_iter().next()) {
            None => vec!["undefined".to_string()],
            Some(ty) if is_async => match promised(ty, out) {
                Some(inner) => values_of(inner, out),
                None => values_of(ty, out),
            },
            Some(ty) => match promised(ty, out) {
                Some(inner) => values_of(inner, out)
                    .into_iter()
                    .map(|v| if v == UNIT { "Promise.resolve()".to_string() } else { format!("Promise.resolve({v})") })
                    .collect(),
                None => values_of(ty, out),
            },
        }
    };
    for value in values {
        let replacement = match (body.kind() == "statement_block", value.as_str()) {
            (true, UNIT) => "{}".to_string(),
            (true, v) => format!("{{ return {v}; }}"),
            (false, UNIT) => "undefined".to_string(),
            (false, v) if v.starts_with('{') => format!("({v})"),
            (false, v) => v.to_string(),
        };
        if !same_code(out.text(body), &replacement) {
            out.replace(body, Operator::ReplaceBody, &replacement, ctx);
        }
    }
}

/// `T` when `ty` is `Promise<T>`.
fn promised<'t>(ty: Node<'t>, out: &Out<'_>) -> Option<Node<'t>> {
    if ty.kind() != "generic_type" || ty.child_by_field_name("name").map(|n| out.text(n)) != Some("Promise") {
        return None;
    }
    ty.child_by_field_name("type_arguments").and_then(|a| named_children(a).into_iter().next())
}

/// Plain values of a TypeScript type ([`UNIT`] for `void`).
fn values_of(ty: Node<'_>, out: &Out<'_>) -> Vec<String> {
    let text = out.text(ty).trim();
    let strs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match ty.kind() {
        "predefined_type" => match text {
            "number" => strs(&["0", "1"]),
            "boolean" => strs(&["true", "false"]),
            "string" => strs(&["\"\""]),
            "bigint" => strs(&["0n"]),
            "void" => strs(&[UNIT]),
            "never" => Vec::new(),
            "object" => strs(&["{}"]),
            _ => strs(&["undefined"]),
        },
        "array_type" | "tuple_type" => strs(&["[]"]),
        "generic_type" => {
            let name = ty.child_by_field_name("name").map(|n| out.text(n)).unwrap_or("");
            match name {
                "Array" | "ReadonlyArray" => strs(&["[]"]),
                "Set" | "Map" => vec![format!("new {name}()")],
                _ => strs(&["undefined as never"]),
            }
        }
        "union_type" => {
            let members = union_members(ty, out);
            if members.contains(&"undefined") {
                strs(&["undefined"])
            } else if members.contains(&"null") {
                strs(&["null"])
            } else {
                named_children(ty).into_iter().next().map(|first| values_of(first, out)).unwrap_or_default()
            }
        }
        "literal_type" if text == "undefined" => strs(&["undefined"]),
        "literal_type" if text == "null" => strs(&["null"]),
        "parenthesized_type" => named_children(ty).into_iter().next().map(|t| values_of(t, out)).unwrap_or_default(),
        _ => strs(&["undefined as never"]),
    }
}

/// The member texts of a (nested) union type.
fn union_members<'s>(ty: Node<'_>, out: &Out<'s>) -> Vec<&'s str> {
    let mut members = Vec::new();
    let mut stack = vec![ty];
    while let Some(t) = stack.pop() {
        if t.kind() == "union_type" {
            stack.extend(named_children(t));
        } else {
            members.push(out.text(t).trim());
        }
    }
    members
}

/// Whether a call registers a test: `test(…)`, `it(…)`, `test.only(…)`, `it.each(…)(…)`.
fn is_test_call(call: Node<'_>, out: &Out<'_>) -> bool {
    let Some(callee) = call.child_by_field_name("function") else {
        return false;
    };
    let text = out.text(callee);
    let head = text.split(['.', '(']).next().unwrap_or(text).trim();
    matches!(head, "test" | "it")
}

/// Whether an expression is an assertion (`expect(…)…`, `assert.equal(…)`,
/// `t.assert…`): deleting one always leaves the test passing.
fn is_assertion(text: &str) -> bool {
    let t = text.trim_start().trim_start_matches("await ");
    ["expect(", "expect.", "assert", "t.assert", "t.is(", "t.deepEqual(", "t.throws("].iter().any(|p| t.starts_with(p))
}

/// Deletes one statement of a test callback: expression statements (calls,
/// not assertions) and declarations whose names the rest of the body does
/// not use. Control flow, assertions and `return` stay.
fn remove_test_statements(call: Node<'_>, ctx: &Ctx, out: &mut Out<'_>) {
    if ctx.skip || !is_test_call(call, out) {
        return;
    }
    let Some(args) = call.child_by_field_name("arguments") else {
        return;
    };
    let callback = named_children(args)
        .into_iter()
        .rev()
        .find(|a| matches!(a.kind(), "arrow_function" | "function_expression" | "function"));
    let Some(body) = callback.and_then(|c| c.child_by_field_name("body")).filter(|b| b.kind() == "statement_block")
    else {
        return;
    };
    // The test's title stands for the function name: `test("adds", …)` → `adds`.
    let title = named_children(args)
        .into_iter()
        .next()
        .filter(|a| a.kind() == "string")
        .map(|a| out.text(a).trim_matches(|c| c == '"' || c == '\'' || c == '`').to_string());
    let ctx = &Ctx { function: title.or_else(|| ctx.function.clone()), ..ctx.clone() };
    for stmt in named_children(body) {
        let removable = match stmt.kind() {
            "expression_statement" => {
                named_children(stmt).first().is_some_and(|e| e.kind() != "string" && !is_assertion(out.text(*e)))
            }
            "lexical_declaration" | "variable_declaration" => {
                let names: Vec<&str> = named_children(stmt)
                    .into_iter()
                    .filter(|d| d.kind() == "variable_declarator")
                    .filter_map(|d| d.child_by_field_name("name"))
                    .flat_map(|n| identifiers(n, out.src))
                    .collect();
                unused_later(&names, out.src, stmt, body)
            }
            _ => false,
        };
        if removable {
            out.replace(stmt, Operator::RemoveTestStatement, "", ctx);
        }
    }
}
