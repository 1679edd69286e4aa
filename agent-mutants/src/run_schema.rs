//! Mutant schemata for Rust: many mutants compiled into one build.
//!
//! Each mutant of ordinary code (an operator flip, a boundary constant, a
//! negated condition, a replaced body) is written into the source once,
//! behind a runtime switch: the smallest expression holding it becomes
//! `(if crate::__agentkit_mutant(ID) { MUTATED } else { ORIGINAL })`
//! (several mutants of one expression chain `else if`s), a replaced body
//! becomes `{ if crate::__agentkit_mutant(ID) { VALUE } else BODY }`.
//! `__agentkit_mutant(ID)` compares `ID` with `AGENTKIT_MUTANT`, read once
//! (a `OnceLock`), and with `AGENTKIT_MUTANT_TRACE` set appends every id it
//! is asked about to that file: a run with no mutant active then lists the
//! sites its tests reach, and a mutant whose site no test reaches cannot
//! change any test's outcome (the run is the same up to the site). It is
//! appended to the package's crate roots (`src/lib.rs`, `src/main.rs`).
//! The test binaries are built once, then run once per mutant with
//! `AGENTKIT_MUTANT=ID`: no build per mutant.
//!
//! Left to the per-mutant path: match-arm deletions and test-statement
//! removals, test code, files outside a package's `src/` (or under
//! `src/bin/`), body replacements of functions returning `impl Trait`
//! (the two arms would differ in type), mutants in const contexts (`const`/`static` items, `const fn`,
//! array lengths, enum discriminants, patterns, attributes, macro token
//! trees, generic arguments), and every mutant the compiler names in an
//! error of the schema build.
//!
//! Sites nest: a mutant inside an expression that is itself switched is
//! switched inside that expression's original arm. A compile error of the
//! schema build is blamed by its primary span on the innermost range that
//! holds it: inside one mutant's arm, that mutant; elsewhere in a switched
//! expression, all of that expression's mutants. Those go back to the
//! per-mutant path and the schema is built again (see the
//! `run_schema_build` module). Reports, mutant keys and the results cache
//! do not depend on which path a mutant took.

use crate::{Mutant, Operator};
use agent_syntax::Lang;
use std::collections::BTreeMap;
use tree_sitter::Node;

/// The environment variable that selects the active mutant (0 or unset: none).
pub(crate) const SWITCH: &str = "AGENTKIT_MUTANT";

/// The environment variable naming a file where every process of a schema
/// build appends the id of each mutant site it reaches (once per process).
pub(crate) const TRACE: &str = "AGENTKIT_MUTANT_TRACE";

/// The helper appended to every crate root of a schema build:
/// `__agentkit_mutant(ID)` is true when mutant `ID` is the active one, and
/// records that its site was reached when [`TRACE`] names a file. It names
/// `std` itself (`extern crate` in the function's scope) and uses no macro
/// and no `use`, so the schema of a `#![no_std]` crate of any edition builds
/// too: its tests run on the host, where `std` is.
pub(crate) const HELPER: &str = r#"
#[doc(hidden)]
#[allow(dead_code, unreachable_pub, missing_docs, clippy::all)]
pub(crate) fn __agentkit_mutant(id: u32) -> bool {
    extern crate std as __agentkit_std;
    struct State {
        active: u32,
        trace: Option<
            __agentkit_std::sync::Mutex<(__agentkit_std::collections::BTreeSet<u32>, __agentkit_std::fs::File)>,
        >,
    }
    static STATE: __agentkit_std::sync::OnceLock<State> = __agentkit_std::sync::OnceLock::new();
    let state = STATE.get_or_init(|| State {
        active: __agentkit_std::env::var("AGENTKIT_MUTANT").ok().and_then(|v| v.parse().ok()).unwrap_or(0),
        trace: __agentkit_std::env::var_os("AGENTKIT_MUTANT_TRACE")
            .and_then(|p| __agentkit_std::fs::OpenOptions::new().create(true).append(true).open(p).ok())
            .map(|f| __agentkit_std::sync::Mutex::new((__agentkit_std::collections::BTreeSet::new(), f))),
    });
    if let Some(trace) = &state.trace {
        if let Ok(mut t) = trace.lock() {
            if t.0.insert(id) {
                let mut line = __agentkit_std::string::ToString::to_string(&id);
                line.push('\n');
                let _ = __agentkit_std::io::Write::write_all(&mut t.1, line.as_bytes());
            }
        }
    }
    state.active == id
}
"#;

/// The ids in a trace file's text (see [`TRACE`]); unreadable lines are skipped.
pub(crate) fn parse_trace(text: &str) -> std::collections::BTreeSet<u32> {
    text.lines().filter_map(|l| l.trim().parse().ok()).collect()
}

/// Whether a mutant's kind can go into a schema at all (its place is checked by [`rewrite`]).
pub(crate) fn candidate(m: &Mutant) -> bool {
    m.lang == Lang::Rust
        && !m.in_test
        && !matches!(m.operator, Operator::DeleteArm | Operator::RemoveTestStatement)
        && !m.file.contains("/bin/")
        && !m.file.starts_with("tests/")
        && !m.file.contains("/tests/")
}

/// A file rewritten with its schema mutants.
#[derive(Debug, Default)]
pub(crate) struct Rewrite {
    /// The new source.
    pub(crate) text: String,
    /// The ids written into `text`.
    pub(crate) included: Vec<u32>,
    /// The ids that could not be (back to the per-mutant path).
    pub(crate) excluded: Vec<u32>,
    /// Byte ranges of `text` and the ids a compile error there is blamed on:
    /// a mutated arm names its mutant, a whole site all of its mutants.
    pub(crate) blame: Vec<(usize, usize, Vec<u32>)>,
}

impl Rewrite {
    /// The ids to blame for a compile error at `start..end` of the rewritten
    /// text: the innermost range holding it; `None` when no range does.
    pub(crate) fn blame_at(&self, start: usize, end: usize) -> Option<&[u32]> {
        self.blame
            .iter()
            .filter(|(s, e, _)| *s <= start && end <= *e)
            .min_by_key(|(s, e, _)| e - s)
            .map(|(_, _, ids)| ids.as_slice())
    }
}

/// One expression (or body) and the mutants switched in it.
struct Site {
    start: usize,
    end: usize,
    body: bool,
    /// Mutant id and the text of its arm.
    arms: Vec<(u32, String)>,
}

/// Rewrites `source` (Rust) with every mutant of `mutants` it can hold.
pub(crate) fn rewrite(source: &str, mutants: &[(u32, &Mutant)]) -> Rewrite {
    let Some(tree) = Lang::Rust.parse(source) else {
        return Rewrite {
            text: source.to_owned(),
            excluded: mutants.iter().map(|(id, _)| *id).collect(),
            ..Rewrite::default()
        };
    };
    let root = tree.root_node();
    let mut excluded = Vec::new();
    let mut sites: BTreeMap<(usize, usize), Site> = BTreeMap::new();
    for &(id, m) in mutants {
        let Some(node) = site_node(root, m).filter(|n| !in_const_context(*n, source)) else {
            excluded.push(id);
            continue;
        };
        let (start, end) = (node.start_byte(), node.end_byte());
        let body = m.operator == Operator::ReplaceBody;
        let arm = if body {
            m.replacement.clone()
        } else {
            match (source.get(start..m.byte_start), source.get(m.byte_end..end)) {
                (Some(before), Some(after)) => format!("{before}{}{after}", m.replacement),
                _ => {
                    excluded.push(id);
                    continue;
                }
            }
        };
        let site = sites.entry((start, end)).or_insert(Site { start, end, body, arms: Vec::new() });
        if site.body != body {
            excluded.push(id);
            continue;
        }
        site.arms.push((id, arm));
    }
    // Outer sites before the sites they hold.
    let mut ordered: Vec<Site> = sites.into_values().collect();
    ordered.sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
    let mut out = Rewrite { text: String::with_capacity(source.len() * 2), excluded, ..Rewrite::default() };
    let mut next = 0;
    render(source, &ordered, 0, source.len(), &mut next, &mut out);
    out
}

/// Writes `source[lo..hi]` with the sites from `*next` on that lie inside it switched in.
fn render(source: &str, sites: &[Site], lo: usize, hi: usize, next: &mut usize, out: &mut Rewrite) {
    let mut pos = lo;
    while let Some(site) = sites.get(*next) {
        if site.start >= hi {
            break;
        }
        *next += 1;
        if site.start < pos || site.end > hi {
            // Overlaps what is already written: back to the per-mutant path.
            out.excluded.extend(site.arms.iter().map(|(id, _)| *id));
            continue;
        }
        out.text.push_str(&source[pos..site.start]);
        let site_start = out.text.len();
        let ids: Vec<u32> = site.arms.iter().map(|(id, _)| *id).collect();
        out.text.push_str(if site.body { "{ " } else { "(" });
        for (id, arm) in &site.arms {
            out.text.push_str(&format!("if crate::__agentkit_mutant({id}) "));
            let arm_start = out.text.len();
            if site.body {
                out.text.push_str(arm);
            } else {
                out.text.push_str("{ ");
                out.text.push_str(arm);
                out.text.push_str(" }");
            }
            out.blame.push((arm_start, out.text.len(), vec![*id]));
            out.text.push_str(" else ");
        }
        if !site.body {
            out.text.push_str("{ ");
        }
        render(source, sites, site.start, site.end, next, out);
        out.text.push_str(if site.body { " }" } else { " })" });
        out.blame.push((site_start, out.text.len(), ids.clone()));
        out.included.extend(ids);
        pos = site.end;
    }
    out.text.push_str(&source[pos..hi]);
}

/// The node a mutant's switch wraps: the body block, the binary expression
/// of a flipped operator, or the exact node replaced.
fn site_node<'t>(root: Node<'t>, m: &Mutant) -> Option<Node<'t>> {
    let found = root.descendant_for_byte_range(m.byte_start, m.byte_end)?;
    let exact = found.start_byte() == m.byte_start && found.end_byte() == m.byte_end;
    match m.operator {
        Operator::ReplaceBody => (exact && found.kind() == "block" && !returns_opaque(found)).then_some(found),
        Operator::EqualityFlip | Operator::RelationalFlip | Operator::BooleanFlip | Operator::ArithmeticFlip => {
            let parent = found.parent()?;
            (exact && matches!(parent.kind(), "binary_expression" | "compound_assignment_expr")).then_some(parent)
        }
        Operator::NegateCondition | Operator::ConstantCondition | Operator::Boundary => {
            (exact && found.is_named()).then_some(found)
        }
        Operator::DeleteArm | Operator::RemoveTestStatement => None,
    }
}

/// Whether a body belongs to a function returning `impl Trait`: the two arms
/// of a switch would be two different concrete types, which never compiles.
fn returns_opaque(body: Node<'_>) -> bool {
    body.parent()
        .and_then(|f| f.child_by_field_name("return_type"))
        .is_some_and(|t| matches!(t.kind(), "abstract_type" | "bounded_type"))
}

/// Whether a node is evaluated at compile time or is not an expression
/// position at all (where a runtime switch cannot go).
fn in_const_context(node: Node<'_>, source: &str) -> bool {
    let mut cur = Some(node);
    while let Some(n) = cur {
        let kind = n.kind();
        let constant = matches!(
            kind,
            "const_item"
                | "static_item"
                | "const_block"
                | "const_parameter"
                | "array_type"
                | "enum_variant"
                | "attribute_item"
                | "inner_attribute_item"
                | "attribute"
                | "token_tree"
                | "macro_invocation"
                | "macro_definition"
                | "type_arguments"
                | "match_pattern"
        ) || kind.ends_with("_pattern");
        if constant {
            return true;
        }
        if kind == "function_item" {
            let mut walk = n.walk();
            let is_const = n.children(&mut walk).any(|c| {
                c.kind() == "function_modifiers"
                    && source.get(c.byte_range()).is_some_and(|t| t.split_whitespace().any(|w| w == "const"))
            });
            return is_const;
        }
        cur = n.parent();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate;

    fn ids(mutants: &[Mutant]) -> Vec<(u32, &Mutant)> {
        mutants.iter().enumerate().map(|(i, m)| (u32::try_from(i + 1).unwrap(), m)).collect()
    }

    #[test]
    fn every_ordinary_mutant_is_switched_in_and_the_original_stays_the_default_arm() {
        let src = "pub fn f(a: u32, b: u32) -> bool {\n    a > b && b >= 18\n}\n";
        let mutants = generate("src/lib.rs", Lang::Rust, src);
        let r = rewrite(src, &ids(&mutants));
        assert!(r.excluded.is_empty(), "{:?}", r.excluded);
        assert_eq!(r.included.len(), mutants.len());
        for (id, _) in ids(&mutants) {
            assert!(r.text.contains(&format!("__agentkit_mutant({id}) ")), "{id}: {}", r.text);
        }
        assert!(r.text.contains("else { a > b }"), "{}", r.text);
        assert!(Lang::Rust.parse(&r.text).is_some_and(|t| !t.root_node().has_error()), "{}", r.text);
    }

    #[test]
    fn mutants_in_const_items_and_const_fns_are_left_out() {
        let src = "const N: usize = 2 + 1;\npub const fn g(x: u32) -> u32 {\n    x + 1\n}\npub fn h(x: u32) -> u32 {\n    x * 2\n}\n";
        let mutants = generate("src/lib.rs", Lang::Rust, src);
        let r = rewrite(src, &ids(&mutants));
        for (id, m) in ids(&mutants) {
            let in_h = m.function.as_deref() == Some("h");
            assert_eq!(r.included.contains(&id), in_h, "{m:?}\n{}", r.text);
        }
        assert!(r.text.starts_with("const N: usize = 2 + 1;\n"));
    }

    #[test]
    fn a_compile_error_in_an_arm_is_blamed_on_that_mutant_only() {
        let src = "pub fn f(a: u32) -> u32 {\n    a + 1\n}\n";
        let mutants = generate("src/lib.rs", Lang::Rust, src);
        let r = rewrite(src, &ids(&mutants));
        let (id, m) = ids(&mutants).into_iter().find(|(_, m)| m.operator == Operator::ArithmeticFlip).unwrap();
        let arm = format!("{{ a {} 1 }}", m.replacement);
        let at = r.text.find(&arm).unwrap();
        assert_eq!(r.blame_at(at + 2, at + 3), Some(&[id][..]));
    }

    #[test]
    fn body_replacements_of_functions_returning_impl_trait_are_left_out() {
        let src = "pub fn evens(v: &[u8]) -> impl Iterator<Item = u8> + '_ {\n    v.iter().copied().filter(|x| x % 2 == 0)\n}\n";
        let mutants = generate("src/lib.rs", Lang::Rust, src);
        let r = rewrite(src, &ids(&mutants));
        let bodies: Vec<u32> =
            ids(&mutants).into_iter().filter(|(_, m)| m.operator == Operator::ReplaceBody).map(|(id, _)| id).collect();
        assert_eq!(bodies.len(), 3, "empty, once(0), once(1)");
        for (id, m) in ids(&mutants) {
            assert_eq!(r.included.contains(&id), !bodies.contains(&id), "{m:?}\n{}", r.text);
        }
    }
}
