//! Mutant generation (`agent_mutants::generate`) on small sources of
//! every language and on the fixture projects in `tests/testdata/mutate`,
//! property tests on random programs and random bytes, and the `--in-diff`
//! parser on real `git diff -U0` output.

use agent_mutants::{Mutant, Operator, TypeFacts, changed_lines, generate, generate_with};
use agent_syntax::Lang;
use agent_testkit::git;
use proptest::prelude::*;
use std::path::{Path, PathBuf};

use Operator::{
    ArithmeticFlip, BooleanFlip, Boundary, ConstantCondition, DeleteArm, EqualityFlip, NegateCondition, RelationalFlip,
    RemoveTestStatement, ReplaceBody,
};

/// `(operator, line, column, original, replacement)` of every mutant.
fn summary(mutants: &[Mutant]) -> Vec<(Operator, u32, u32, &str, &str)> {
    mutants.iter().map(|m| (m.operator, m.line, m.column, m.original.as_str(), m.replacement.as_str())).collect()
}

/// `(operator, line, original, replacement)` of the mutants made by `op`.
fn of(mutants: &[Mutant], op: Operator) -> Vec<(u32, &str, &str)> {
    mutants.iter().filter(|m| m.operator == op).map(|m| (m.line, m.original.as_str(), m.replacement.as_str())).collect()
}

/// The replacements of the body replacements, in order.
fn bodies(mutants: &[Mutant]) -> Vec<(&str, &str)> {
    mutants
        .iter()
        .filter(|m| m.operator == ReplaceBody)
        .map(|m| (m.function.as_deref().unwrap_or(""), m.replacement.as_str()))
        .collect()
}

/// Byte ranges of every string and comment node of `src`.
fn string_and_comment_ranges(lang: Lang, src: &str) -> Vec<(usize, usize)> {
    let tree = lang.parse(src).unwrap();
    let mut ranges = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if lang.is_string_or_comment(node.kind()) {
            ranges.push((node.start_byte(), node.end_byte()));
        }
        let mut cursor = node.walk();
        stack.extend(node.children(&mut cursor));
    }
    ranges
}

/// Every mutant applies to a source that still parses without `ERROR` nodes.
fn assert_all_parse(lang: Lang, src: &str, mutants: &[Mutant]) {
    assert!(!lang.parse(src).unwrap().root_node().has_error(), "the original must parse");
    for m in mutants {
        let mutated = m.apply(src);
        let tree = lang.parse(&mutated).unwrap();
        assert!(!tree.root_node().has_error(), "{m:?} gives a source that does not parse:\n{mutated}");
    }
}

/// The invariants every mutant keeps: the original text is the range, the
/// position is the first changed byte, `apply` changes exactly the range,
/// mutants come in file order, nothing cuts inside a string or a comment.
fn assert_invariants(lang: Lang, src: &str, mutants: &[Mutant]) {
    let strings = string_and_comment_ranges(lang, src);
    let mut last_start = 0;
    for m in mutants {
        assert_eq!(&src[m.byte_start..m.byte_end], m.original, "{m:?}");
        assert_ne!(m.original, m.replacement, "{m:?}");
        let line_start = src[..m.byte_start].rfind('\n').map_or(0, |i| i + 1);
        assert_eq!(m.line as usize, src[..m.byte_start].matches('\n').count() + 1, "{m:?}");
        assert_eq!(m.column as usize, m.byte_start - line_start + 1, "{m:?}");
        let applied = m.apply(src);
        assert_eq!(&applied[..m.byte_start], &src[..m.byte_start]);
        assert_eq!(&applied[m.byte_start..m.byte_start + m.replacement.len()], m.replacement);
        assert_eq!(&applied[m.byte_start + m.replacement.len()..], &src[m.byte_end..]);
        assert!(m.byte_start >= last_start, "mutants out of file order: {m:?}");
        last_start = m.byte_start;
        assert_eq!(m.in_test, m.operator == RemoveTestStatement, "{m:?}");
        for &(s, e) in &strings {
            let disjoint = m.byte_end <= s || e <= m.byte_start;
            let swallows = m.byte_start <= s && e <= m.byte_end;
            assert!(disjoint || swallows, "{m:?} cuts inside the string or comment {:?}", &src[s..e]);
            if matches!(m.operator, EqualityFlip | RelationalFlip | BooleanFlip | ArithmeticFlip | Boundary) {
                assert!(disjoint, "{m:?} touches the string or comment {:?}", &src[s..e]);
            }
        }
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/mutate")
}

/// Mutants of one fixture file, path relative to the fixture project.
fn fixture(project: &str, rel: &str) -> (String, Vec<Mutant>) {
    let src = std::fs::read_to_string(fixtures().join(project).join(rel)).unwrap();
    let lang = Lang::from_path(rel.as_ref()).unwrap();
    let mutants = generate(rel, lang, &src);
    (src, mutants)
}

// ---------------------------------------------------------------- Rust

#[test]
fn rust_comparison_and_boolean_give_flips_boundaries_and_bool_bodies() {
    let src = "fn f(a: u32) -> bool { a >= 3 && a != 7 }\n";
    let mutants = generate("src/lib.rs", Lang::Rust, src);
    let body = "{ a >= 3 && a != 7 }";
    assert_eq!(
        summary(&mutants),
        vec![
            (ReplaceBody, 1, 22, body, "{ true }"),
            (ReplaceBody, 1, 22, body, "{ false }"),
            (RelationalFlip, 1, 26, ">=", ">"),
            (RelationalFlip, 1, 26, ">=", "<"),
            (Boundary, 1, 29, "3", "4"),
            (Boundary, 1, 29, "3", "2"),
            (BooleanFlip, 1, 31, "&&", "||"),
            (EqualityFlip, 1, 36, "!=", "=="),
            (Boundary, 1, 39, "7", "8"),
            (Boundary, 1, 39, "7", "6"),
        ]
    );
    assert!(mutants.iter().all(|m| m.function.as_deref() == Some("f") && !m.in_test && m.file == "src/lib.rs"));
    assert_all_parse(Lang::Rust, src, &mutants);
}

#[test]
fn rust_strings_comments_and_macros_with_operators_give_no_operator_mutants() {
    let src = r####"/// Doc: a == b && c < d
pub fn log(a: u32) {
    // a + b - c * d / e
    /* a != b || c >= 3 */
    let s = "x == y && 1 < 2";
    let r = r#"a + b"#;
    let c = '+';
    println!("{} > {}", a, a * 2);
}
"####;
    let mutants = generate("src/lib.rs", Lang::Rust, src);
    assert_eq!(summary(&mutants), vec![(ReplaceBody, 2, 20, &src[src.find('{').unwrap()..src.len() - 1], "{}")]);
    assert_invariants(Lang::Rust, src, &mutants);
}

#[test]
fn rust_arithmetic_flips_except_string_concatenation() {
    let src = "fn f(a: i64, b: i64) {\n    let x = a + b * 2;\n    let y = a - b / 2;\n    let s = String::new() + \"x\";\n    let mut t = 0;\n    t += a;\n    t *= b;\n}\n";
    let mutants = generate("src/lib.rs", Lang::Rust, src);
    assert_eq!(
        of(&mutants, ArithmeticFlip),
        vec![(2, "+", "-"), (2, "*", "/"), (3, "-", "+"), (3, "/", "*"), (6, "+=", "-="), (7, "*=", "/=")]
    );
    assert_all_parse(Lang::Rust, src, &mutants);
}

#[test]
fn rust_conditions_of_if_and_while_are_negated_but_not_if_let() {
    let src = "fn f(mut i: u32, o: Option<u32>) {\n    while i < 10 {\n        i += 1;\n    }\n    if let Some(v) = o {\n        drop(v);\n    }\n    if i == 10 || o.is_none() {\n        return;\n    }\n}\n";
    let mutants = generate("src/lib.rs", Lang::Rust, src);
    assert_eq!(
        of(&mutants, NegateCondition),
        vec![(2, "i < 10", "!(i < 10)"), (8, "i == 10 || o.is_none()", "!(i == 10 || o.is_none())")]
    );
    assert_all_parse(Lang::Rust, src, &mutants);
}

#[test]
fn rust_match_arms_are_deleted_only_where_a_catch_all_arm_keeps_the_match_exhaustive() {
    // f has no catch-all (deleting `Some(n)` would leave `Some(1..)` uncovered), g has `_`,
    // h too few arms, k a binding `n` and a guarded `_` that is no catch-all.
    let src = "fn f(x: Option<u8>) -> u8 {\n    match x {\n        Some(0) => 1,\n        Some(n) => n,\n        None => 0,\n    }\n}\n\nfn g(x: u8) -> u8 {\n    match x {\n        0 => 1,\n        _ => 3,\n        1 => 2,\n    }\n}\n\nfn h(x: bool) -> u8 {\n    match x {\n        true => 1,\n    }\n}\n\nfn k(x: u8) -> u8 {\n    match x {\n        0 => 1,\n        _ if x > 9 => 9,\n        n => n,\n    }\n}\n";
    let mutants = generate("src/lib.rs", Lang::Rust, src);
    assert_eq!(
        of(&mutants, DeleteArm),
        vec![(11, "0 => 1,", ""), (13, "1 => 2,", ""), (25, "0 => 1,", ""), (26, "_ if x > 9 => 9,", "")]
    );
}

#[test]
fn rust_bodies_are_replaced_by_plain_values_of_the_declared_return_type() {
    let src = r#"fn a() {}
fn b() { work(); }
fn c() -> String { s() }
fn d() -> Option<u8> { s() }
fn e() -> Result<(), Error> { s() }
fn f() -> Vec<u8> { s() }
fn g() -> &'static str { s() }
fn h() -> Config { s() }
fn i() -> io::Result<bool> { s() }
fn j() -> impl Iterator<Item = u8> { s() }
fn k() -> f64 { s() }
fn l() -> Box<str> { s() }
fn m() -> ! { loop {} }
fn n(x: &mut Config) -> &mut Config { x }
fn o() -> u8 { 1 }
fn p() -> Result<Config, Error> { s() }
fn q() -> &'static [u8] { s() }
unsafe fn r() -> u8 { s() }
trait T {
    fn sig(&self) -> u8;
    fn provided(&self) -> bool { true }
}
"#;
    let mutants = generate("src/lib.rs", Lang::Rust, src);
    assert_eq!(
        bodies(&mutants),
        vec![
            ("b", "{}"),
            ("c", "{ String::new() }"),
            ("c", "{ \"xyzzy\".into() }"),
            ("d", "{ None }"),
            ("d", "{ Some(0) }"),
            ("d", "{ Some(1) }"),
            ("e", "{ Ok(()) }"),
            ("f", "{ vec![] }"),
            ("f", "{ vec![0] }"),
            ("f", "{ vec![1] }"),
            ("g", "{ \"\" }"),
            ("g", "{ \"xyzzy\" }"),
            // h: `Config` has no known `Default` here, so no replacement (it would not compile).
            ("i", "{ Ok(true) }"),
            ("i", "{ Ok(false) }"),
            ("j", "{ ::std::iter::empty() }"),
            ("j", "{ ::std::iter::once(0) }"),
            ("j", "{ ::std::iter::once(1) }"),
            ("k", "{ 0.0 }"),
            ("k", "{ 1.0 }"),
            ("k", "{ -1.0 }"),
            ("l", "{ \"\".into() }"),
            ("l", "{ \"xyzzy\".into() }"),
            ("o", "{ 0 }"),
            // p: no value of `Config`, so no `Ok(..)` either.
            ("q", "{ &[] }"),
            ("q", "{ Vec::leak(vec![0]) }"),
            ("q", "{ Vec::leak(vec![1]) }"),
            ("provided", "{ false }"),
        ]
    );
    assert_all_parse(Lang::Rust, src, &mutants);
}

/// The body replacements of one function, in order.
fn bodies_of<'m>(mutants: &'m [Mutant], function: &str) -> Vec<&'m str> {
    bodies(mutants).into_iter().filter(|(f, _)| *f == function).map(|(_, r)| r).collect()
}

const RUST_SHAPES: &str = r#"use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::rc::Rc;
use std::sync::Arc;

#[derive(Clone, Debug, Default)]
pub struct Options { n: u8 }
pub struct Plain { n: u8 }
pub struct Wrapper<T>(Vec<T>);
impl<T> Default for Wrapper<T> { fn default() -> Self { Wrapper(Vec::new()) } }
pub struct Manual;
impl Default for Manual { fn default() -> Self { Manual } }

fn signed() -> i32 { s() }
fn unsigned() -> u64 { s() }
fn letter() -> char { s() }
fn maybe_text() -> Option<String> { s() }
fn flags() -> Result<Vec<bool>, E> { s() }
fn table() -> HashMap<String, u8> { s() }
fn set() -> BTreeSet<u8> { s() }
fn queue() -> VecDeque<bool> { s() }
fn boxed() -> Box<u8> { s() }
fn shared_str() -> Rc<str> { s() }
fn shared_vec() -> Arc<Vec<u8>> { s() }
fn cow() -> Cow<'static, str> { s() }
fn pair() -> (u8, bool) { s() }
fn bytes() -> [u8; 4] { s() }
fn names() -> [String; 2] { s() }
fn iter(&self) -> impl Iterator<Item = bool> + '_ { s() }
fn full_path() -> std::sync::Arc<u8> { s() }
fn scratch() -> &'static mut [u8] { s() }
fn options() -> Options { s() }
fn callback() -> Box<dyn Fn()> { s() }
fn write(f: &mut fmt::Formatter<'_>) -> fmt::Result { s() }
fn plain() -> Option<Plain> { s() }
fn options_ref() -> &'static Options { s() }
fn wrapped() -> Wrapper<u8> { s() }
fn wrapped_any<T>() -> Wrapper<T> { s() }
fn manual() -> Manual { s() }
impl Options { fn new() -> Self { s() } }
impl Plain { fn new() -> Self { s() } }
trait Make { fn make() -> Self where Self: Sized { s() } }
"#;

#[test]
fn rust_body_values_follow_the_shape_of_the_return_type() {
    let m = generate("src/lib.rs", Lang::Rust, RUST_SHAPES);
    let b = |f: &str| bodies_of(&m, f);
    assert_eq!(b("signed"), ["{ 0 }", "{ 1 }", "{ -1 }"]);
    assert_eq!(b("unsigned"), ["{ 0 }", "{ 1 }"]);
    assert_eq!(b("letter"), ["{ '\\0' }", "{ 'x' }"]);
    assert_eq!(b("maybe_text"), ["{ None }", "{ Some(String::new()) }", "{ Some(\"xyzzy\".into()) }"]);
    assert_eq!(b("flags"), ["{ Ok(vec![]) }", "{ Ok(vec![true]) }", "{ Ok(vec![false]) }"]);
    assert_eq!(
        b("table"),
        [
            "{ HashMap::new() }",
            "{ HashMap::from([(String::new(), 0)]) }",
            "{ HashMap::from([(String::new(), 1)]) }",
            "{ HashMap::from([(\"xyzzy\".into(), 0)]) }",
            "{ HashMap::from([(\"xyzzy\".into(), 1)]) }",
        ]
    );
    assert_eq!(b("set"), ["{ BTreeSet::new() }", "{ BTreeSet::from([0]) }", "{ BTreeSet::from([1]) }"]);
    assert_eq!(b("queue"), ["{ VecDeque::new() }", "{ VecDeque::from([true]) }", "{ VecDeque::from([false]) }"]);
    assert_eq!(b("boxed"), ["{ Box::new(0) }", "{ Box::new(1) }"]);
    assert_eq!(b("shared_str"), ["{ \"\".into() }", "{ \"xyzzy\".into() }"]);
    assert_eq!(b("shared_vec"), ["{ Arc::new(vec![]) }", "{ Arc::new(vec![0]) }", "{ Arc::new(vec![1]) }"]);
    assert_eq!(
        b("cow"),
        [
            "{ Cow::Borrowed(\"\") }",
            "{ Cow::Borrowed(\"xyzzy\") }",
            "{ Cow::Owned(String::new()) }",
            "{ Cow::Owned(\"xyzzy\".to_owned()) }",
        ]
    );
    assert_eq!(b("pair"), ["{ (0, true) }", "{ (0, false) }", "{ (1, true) }", "{ (1, false) }"]);
    assert_eq!(b("bytes"), ["{ [0; 4] }", "{ [1; 4] }"]);
    assert_eq!(
        b("names"),
        ["{ ::std::array::from_fn(|_| String::new()) }", "{ ::std::array::from_fn(|_| \"xyzzy\".into()) }"]
    );
    assert_eq!(b("iter"), ["{ ::std::iter::empty() }", "{ ::std::iter::once(true) }", "{ ::std::iter::once(false) }"]);
    assert_eq!(b("full_path"), ["{ std::sync::Arc::new(0) }", "{ std::sync::Arc::new(1) }"]);
    assert_eq!(b("scratch"), ["{ &mut [] }", "{ Vec::leak(vec![0]) }", "{ Vec::leak(vec![1]) }"]);
    assert_eq!(b("options"), ["{ Default::default() }"], "derive(Default) in the same source");
    assert!(b("callback").is_empty(), "no value of a trait object");
    assert_eq!(b("write"), ["{ Ok(()) }"]);
    assert_eq!(b("plain"), ["{ None }"], "Plain has no Default: only None");
    assert_eq!(b("options_ref"), ["{ Box::leak(Box::new(Default::default())) }"]);
    assert_eq!(b("wrapped"), ["{ Default::default() }"], "impl<T> Default for Wrapper<T>, u8: Default");
    assert!(b("wrapped_any").is_empty(), "T is not known to implement Default");
    assert_eq!(b("manual"), ["{ Default::default() }"]);
    assert!(b("default").iter().all(|r| !r.contains("Default::default()")), "Default::default inside itself recurses");
    assert_eq!(b("new"), ["{ Default::default() }"], "Self = Options has Default; Self = Plain has none");
    assert!(b("make").is_empty(), "Self in a trait is unknown");
    assert_all_parse(Lang::Rust, RUST_SHAPES, &m);
}

#[test]
fn rust_default_is_offered_for_a_type_that_derives_it_in_another_file_of_the_crate() {
    let lib = "mod config;\nuse config::Config;\n\npub fn load() -> Config {\n    read()\n}\n";
    let config =
        "/// Settings.\n#[derive(Debug,\n    Default)]\n#[non_exhaustive]\npub struct Config {\n    pub n: u32,\n}\n";
    assert!(generate("src/lib.rs", Lang::Rust, lib).iter().all(|m| m.operator != ReplaceBody), "not known alone");
    let facts = TypeFacts::scan_rust([lib, config]);
    assert!(facts.implements_default("Config"));
    let with = generate_with("src/lib.rs", Lang::Rust, lib, &facts);
    assert_eq!(bodies(&with), [("load", "{ Default::default() }")]);
}

#[test]
fn rust_type_facts_read_derives_and_default_impls_but_not_lookalikes() {
    let src = r#"#[derive(Clone, std::default::Default)] enum Mode { #[default] A, B }
#[derive(Debug)] struct NoDefault;
impl<T: Clone> core::default::Default for crate::deep::Generic<T> { fn default() -> Self { todo!() } }
// a comment: impl Default for Comment? no: this line has a brace { first
impl From<u8> for NotDefault { fn from(_: u8) -> Self { NotDefault } }
#[derive(PartialEq)] pub(crate) struct Other;
#[cfg_attr(feature = "serde", derive(Default))] struct Gated;
"#;
    let facts = TypeFacts::scan_rust([src]);
    assert!(facts.implements_default("Mode"));
    assert!(facts.implements_default("Generic"));
    assert!(!facts.implements_default("NoDefault"));
    assert!(!facts.implements_default("NotDefault"));
    assert!(!facts.implements_default("Other"));
    assert!(!facts.implements_default("Gated"), "only with a feature");
}

/// `rustc`'s errors for the library crate at `root` (its `src/lib.rs`), or
/// `None` when it type-checks (metadata only, no code generation).
fn rustc_errors(root: &Path) -> Option<String> {
    let out = std::process::Command::new("rustc")
        .args(["--edition", "2021", "--crate-type", "lib", "--emit=metadata", "--crate-name", "shapes", "--out-dir"])
        .arg(root.join("out"))
        .arg(root.join("src/lib.rs"))
        .output()
        .unwrap();
    (!out.status.success()).then(|| String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn rust_every_body_replacement_of_the_shapes_fixture_compiles() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("shapes");
    std::fs::create_dir_all(root.join("src")).unwrap();
    for rel in ["Cargo.toml", "src/lib.rs", "src/types.rs"] {
        std::fs::copy(fixtures().join("rust-shapes").join(rel), root.join(rel)).unwrap();
    }
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let types = std::fs::read_to_string(root.join("src/types.rs")).unwrap();
    assert_eq!(rustc_errors(&root), None, "the fixture compiles unmutated");

    let facts = TypeFacts::scan_rust([lib.as_str(), types.as_str()]);
    let mutants: Vec<Mutant> = generate_with("src/lib.rs", Lang::Rust, &lib, &facts)
        .into_iter()
        .filter(|m| m.operator == ReplaceBody)
        .collect();
    let with_bodies: std::collections::BTreeSet<&str> = mutants.iter().filter_map(|m| m.function.as_deref()).collect();
    let functions: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("pub fn ").or_else(|| l.trim_start().strip_prefix("pub async fn ")))
        .map(|l| l.split(['(', '<']).next().unwrap())
        .collect();
    let without: Vec<&str> = functions.iter().copied().filter(|f| !with_bodies.contains(f)).collect();
    // Exactly the functions whose return type has no value known to compile.
    assert_eq!(
        without,
        ["plain", "checked_plain", "holder_of", "pair_of", "identity", "callback", "display", "never", "twin"],
        "{mutants:#?}"
    );
    assert!(mutants.len() > 150, "{} body replacements", mutants.len());
    assert!(mutants.iter().any(|m| m.function.as_deref() == Some("options") && m.replacement.contains("Default")));
    assert!(
        mutants.iter().any(|m| m.function.as_deref() == Some("pair_of_bytes") && m.replacement.contains("Default"))
    );
    let of_fn = |f: &str| {
        mutants.iter().filter(|m| m.function.as_deref() == Some(f)).map(|m| m.replacement.as_str()).collect::<Vec<_>>()
    };
    // A `const fn` keeps only const-evaluable values.
    assert_eq!(of_fn("const_name"), ["{ \"\" }", "{ \"xyzzy\" }"]);
    assert!(of_fn("const_text").is_empty(), "String::new() is the body already; \"xyzzy\".into() is not const");
    assert_eq!(of_fn("const_list"), ["{ vec![] }"], "vec![0] allocates: not const");
    assert_eq!(of_fn("const_pair").len(), 1 + 6, "None and Some of the six (u8, f32) pairs");
    assert_eq!(of_fn("scratch"), ["{ &mut [] }", "{ Vec::leak(vec![0]) }", "{ Vec::leak(vec![1]) }"]);

    let mut failures = Vec::new();
    for m in &mutants {
        std::fs::write(root.join("src/lib.rs"), m.apply(&lib)).unwrap();
        if let Some(errors) = rustc_errors(&root) {
            failures.push(format!("{:?} `{}`:\n{errors}", m.function, m.replacement));
        }
    }
    assert!(failures.is_empty(), "{} of {} do not compile:\n{}", failures.len(), mutants.len(), failures.join("\n"));

    // The check does see a wrong replacement: `Default::default()` where the type has none.
    for function in ["plain", "pair_of"] {
        let at = lib.find(&format!("pub fn {function}")).unwrap();
        let open = at + lib[at..].find('{').unwrap();
        let close = open + lib[open..].find("\n}").unwrap() + 2;
        let wrong = format!("{}{{ Default::default() }}{}", &lib[..open], &lib[close..]);
        std::fs::write(root.join("src/lib.rs"), wrong).unwrap();
        assert!(rustc_errors(&root).is_some(), "Default::default() in {function} must not compile");
    }
}

#[test]
fn rust_test_code_only_gets_test_statement_removals() {
    let src = r#"pub fn add(a: i32, b: i32) -> i32 {
    a + b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn helper(x: i32) -> bool {
        x > 0
    }

    #[test]
    fn adds() {
        let unused = add(1, 1);
        let sum = add(2, 3);
        assert_eq!(sum, 5);
        if sum > 0 {
            println!("ok");
        }
        helper(sum);
    }

    #[tokio::test]
    async fn tail_stays() -> Result<(), String> {
        check().await?;
        Ok(())
    }
}
"#;
    let mutants = generate("src/lib.rs", Lang::Rust, src);
    let in_code: Vec<_> = mutants.iter().filter(|m| m.line <= 3).map(|m| m.operator).collect();
    assert_eq!(in_code, vec![ReplaceBody, ReplaceBody, ReplaceBody, ArithmeticFlip], "0, 1 and -1 for an i32");
    let in_tests: Vec<_> = mutants.iter().filter(|m| m.line > 3).collect();
    assert!(in_tests.iter().all(|m| m.operator == RemoveTestStatement && m.in_test));
    assert_eq!(
        of(&mutants, RemoveTestStatement),
        vec![
            (15, "let unused = add(1, 1);", ""),
            // `assert_eq!` stays: deleting an assertion always leaves a test passing.
            (21, "helper(sum);", ""),
            (26, "check().await?;", "")
        ]
    );
    let functions: Vec<_> = in_tests.iter().map(|m| m.function.as_deref().unwrap()).collect();
    assert_eq!(functions, vec!["adds", "adds", "tail_stays"]);
    assert_all_parse(Lang::Rust, src, &mutants);
}

#[test]
fn rust_files_under_tests_and_skipped_items_get_no_code_mutants() {
    let src = "fn helper(a: u32) -> bool { a > 1 }\n\n#[test]\nfn t() {\n    setup();\n    assert!(helper(2));\n}\n";
    let mutants = generate("tests/it.rs", Lang::Rust, src);
    assert_eq!(summary(&mutants), vec![(RemoveTestStatement, 5, 5, "setup();", "")]);

    let src = "#[mutants::skip]\nfn skipped(a: u32) -> bool { a == 1 }\n\n#[cfg_attr(test, mutants::skip)]\nfn also(a: u32) -> bool { a == 1 }\n\nfn kept(a: u32) -> u32 { a * 2 }\n";
    let mutants = generate("src/lib.rs", Lang::Rust, src);
    assert!(mutants.iter().all(|m| m.function.as_deref() == Some("kept")), "{mutants:?}");
    assert_eq!(mutants.len(), 3, "{mutants:?}");
}

#[test]
fn rust_small_fixture_weak_test_leaves_max_price_flips_to_be_missed() {
    let (src, mutants) = fixture("rust-small", "src/lib.rs");
    let max_price: Vec<_> = mutants
        .iter()
        .filter(|m| m.function.as_deref() == Some("max_price"))
        .map(|m| (m.operator, m.original.as_str(), m.replacement.as_str()))
        .collect();
    // The weak test only calls max_price(7, 7): these three are MISSED.
    assert!(max_price.contains(&(RelationalFlip, ">", ">=")));
    assert!(max_price.contains(&(RelationalFlip, ">", "<")));
    assert!(max_price.contains(&(NegateCondition, "a > b", "!(a > b)")));
    let flip = mutants.iter().find(|m| m.operator == RelationalFlip && m.replacement == ">=" && m.line == 47).unwrap();
    assert_eq!(src.lines().nth(46).unwrap().trim(), "if a > b {");
    assert!(flip.apply(&src).contains("if a >= b {"));
}

// ---------------------------------------------------------------- Python

#[test]
fn python_if_elif_gives_negations_flips_branch_deletions_and_boundaries() {
    let src = "def clamp(x: int, lo: int = 0) -> int:\n    if x < lo:\n        return lo\n    elif x > 100:\n        return 100\n    return x\n";
    let mutants = generate("app/clamp.py", Lang::Python, src);
    let body = &src[src.find("if x").unwrap()..src.len() - 1];
    assert_eq!(
        summary(&mutants),
        vec![
            (ReplaceBody, 2, 5, body, "return 0"),
            (ReplaceBody, 2, 5, body, "return 1"),
            (NegateCondition, 2, 8, "x < lo", "not (x < lo)"),
            (ConstantCondition, 2, 8, "x < lo", "True"),
            (ConstantCondition, 2, 8, "x < lo", "False"),
            (RelationalFlip, 2, 10, "<", "<="),
            (RelationalFlip, 2, 10, "<", ">"),
            (DeleteArm, 4, 5, "elif x > 100:\n        return 100", ""),
            (NegateCondition, 4, 10, "x > 100", "not (x > 100)"),
            (ConstantCondition, 4, 10, "x > 100", "True"),
            (ConstantCondition, 4, 10, "x > 100", "False"),
            (RelationalFlip, 4, 12, ">", ">="),
            (RelationalFlip, 4, 12, ">", "<"),
            (Boundary, 4, 14, "100", "101"),
            (Boundary, 4, 14, "100", "99"),
            (Boundary, 5, 16, "100", "101"),
            (Boundary, 5, 16, "100", "99"),
        ]
    );
    assert_all_parse(Lang::Python, src, &mutants);
}

#[test]
fn python_identity_membership_and_boolean_operators_flip() {
    let src = "def f(a, b):\n    return a is not None and b not in a or a is b\n";
    let mutants = generate("m.py", Lang::Python, src);
    assert_eq!(
        summary(&mutants),
        vec![
            // Every `return` is a comparison chain: evidently a bool.
            (ReplaceBody, 2, 5, "return a is not None and b not in a or a is b", "return True"),
            (ReplaceBody, 2, 5, "return a is not None and b not in a or a is b", "return False"),
            (EqualityFlip, 2, 14, "is not", "is"),
            (BooleanFlip, 2, 26, "and", "or"),
            (EqualityFlip, 2, 32, "not in", "in"),
            (BooleanFlip, 2, 41, "or", "and"),
            (EqualityFlip, 2, 46, "is", "is not"),
        ]
    );
    assert_all_parse(Lang::Python, src, &mutants);
}

#[test]
fn python_strings_and_comments_with_operators_give_no_operator_mutants() {
    let src =
        "def f(x):\n    # a == b and c < d\n    s = \"x + y or z\"\n    t = f\"{x} > 1\"\n    return s + 'a - b'\n";
    let mutants = generate("m.py", Lang::Python, src);
    assert_eq!(of(&mutants, ReplaceBody).len(), 1);
    assert_eq!(mutants.len(), 1, "{mutants:?}");
    assert_invariants(Lang::Python, src, &mutants);
}

#[test]
fn python_a_function_whose_every_return_is_a_bool_gets_true_and_false_bodies() {
    let src = "def a(x):\n    return x > 1\n\ndef b(x):\n    if x:\n        return True\n    return not x\n\ndef c(x):\n    if x:\n        return x > 1\n    return x\n\ndef d(x):\n    def inner():\n        return 3\n    return isinstance(x, int) and (x == 2)\n\ndef e(x):\n    return x and x > 1\n\ndef f(x):\n    print(x)\n";
    let mutants = generate("m.py", Lang::Python, src);
    assert_eq!(
        bodies(&mutants),
        vec![
            ("a", "return True"),
            ("a", "return False"),
            ("b", "return True"),
            ("b", "return False"),
            // c: one `return x` is not evidently a bool.
            ("c", "return None"),
            // d: the nested function's `return 3` is not d's (d's body starts first).
            ("d", "return True"),
            ("d", "return False"),
            ("inner", "return None"),
            // e: `x and …` is `x` when `x` is falsy.
            ("e", "return None"),
            ("f", "return None"),
        ]
    );
    assert_eq!(
        of(&mutants, ConstantCondition),
        vec![(5, "x", "True"), (5, "x", "False"), (10, "x", "True"), (10, "x", "False")]
    );
    assert_all_parse(Lang::Python, src, &mutants);
}

#[test]
fn javascript_a_function_whose_every_return_is_a_boolean_gets_true_and_false_bodies() {
    let src = "function a(x) { return x > 1; }\nconst b = (x) => !x;\nfunction c(x) { if (x) { return true; } return x; }\nfunction d(x) { const f = () => 3; return x instanceof Date || Array.isArray(x); }\n";
    let mutants = generate("src/m.js", Lang::JavaScript, src);
    assert_eq!(
        bodies(&mutants),
        vec![
            ("a", "{ return true; }"),
            ("a", "{ return false; }"),
            ("b", "true"),
            ("b", "false"),
            ("c", "{ return undefined; }"),
            ("d", "{ return true; }"),
            ("d", "{ return false; }"),
            ("f", "undefined"),
        ]
    );
    assert_eq!(of(&mutants, ConstantCondition), vec![(3, "x", "true"), (3, "x", "false")]);
    assert_all_parse(Lang::JavaScript, src, &mutants);
}

#[test]
fn typescript_constant_conditions_only_where_no_type_is_narrowed() {
    let src = "export function f(x: number | undefined, s: Shape): number {\n  if (x !== undefined) { return x; }\n  if (s.kind === \"circle\") { return s.r; }\n  if (x > 3 && (s.n <= 2 || s.n >= 9)) { return 1; }\n  return 0;\n}\n";
    let mutants = generate("src/f.ts", Lang::TypeScript, src);
    assert_eq!(
        of(&mutants, ConstantCondition),
        vec![(4, "x > 3 && (s.n <= 2 || s.n >= 9)", "true"), (4, "x > 3 && (s.n <= 2 || s.n >= 9)", "false"),]
    );
    assert_eq!(of(&mutants, NegateCondition).len(), 3, "negation is unchanged");
}

#[test]
fn python_bodies_follow_annotations() {
    let src = "def a():\n    work()\n\ndef b() -> bool:\n    return check()\n\ndef c() -> str:\n    return name()\n\ndef d() -> list[int]:\n    return items()\n\ndef e() -> Optional[int]:\n    return find()\n\ndef f() -> float:\n    return ratio()\n\ndef g() -> dict:\n    return table()\n\ndef h():\n    \"\"\"Abstract.\"\"\"\n    ...\n\ndef i() -> None:\n    return None\n";
    let mutants = generate("m.py", Lang::Python, src);
    assert_eq!(
        bodies(&mutants),
        vec![
            ("a", "return None"),
            ("b", "return True"),
            ("b", "return False"),
            ("c", "return \"\""),
            ("d", "return []"),
            ("e", "return None"),
            ("f", "return 0.0"),
            ("f", "return 1.0"),
            ("g", "return {}"),
        ]
    );
    assert_all_parse(Lang::Python, src, &mutants);
}

#[test]
fn python_test_functions_only_lose_statements() {
    let src = "def helper(x):\n    return x + 1\n\ndef test_adds():\n    \"\"\"Adds.\"\"\"\n    x = compute()\n    y = other()\n    assert x == 1\n    helper(x)\n    if x > 0:\n        assert True\n";
    let in_code = generate("pkg/mod.py", Lang::Python, src);
    assert_eq!(of(&in_code, RemoveTestStatement), vec![(7, "y = other()", "pass"), (9, "helper(x)", "pass")]);
    assert!(in_code.iter().filter(|m| m.line >= 4).all(|m| m.in_test), "{in_code:?}");
    assert_eq!(in_code.iter().filter(|m| !m.in_test).count(), 2, "helper: body and +");
    let in_test_file = generate("tests/test_mod.py", Lang::Python, src);
    assert!(in_test_file.iter().all(|m| m.operator == RemoveTestStatement), "{in_test_file:?}");
    assert_eq!(in_test_file.len(), 2, "y = other() and helper(x); the assertion stays");
    assert_all_parse(Lang::Python, src, &in_code);
}

#[test]
fn python_functions_named_test_like_outside_test_files_need_the_underscore() {
    let src = "def testimonial(a):\n    return a + 1\n";
    let mutants = generate("app/quotes.py", Lang::Python, src);
    assert_eq!(of(&mutants, ArithmeticFlip), vec![(2, "+", "-")]);
    assert!(mutants.iter().all(|m| !m.in_test));
    // In a test file pytest collects `test*`: a test whose only statement is a `return` loses nothing.
    assert!(generate("tests/test_quotes.py", Lang::Python, src).is_empty());
}

#[test]
fn crlf_sources_get_the_line_and_column_of_the_first_changed_byte() {
    let src = "fn f(a: u32) -> bool {\r\n    a < 3\r\n}\r\n";
    let mutants = generate("src/lib.rs", Lang::Rust, src);
    let flips: Vec<_> = summary(&mutants).into_iter().filter(|m| m.0 == RelationalFlip).collect();
    assert_eq!(flips, vec![(RelationalFlip, 2, 7, "<", "<="), (RelationalFlip, 2, 7, "<", ">")]);
    assert_invariants(Lang::Rust, src, &mutants);
}

// ---------------------------------------------------------------- JavaScript / TypeScript

#[test]
fn javascript_gives_flips_negations_and_undefined_bodies_but_spares_concatenation() {
    let src = "function f(a, b) { if (a === b) return a + 1; return \"n: \" + a; }\n";
    let mutants = generate("src/f.js", Lang::JavaScript, src);
    let body = &src[17..src.len() - 1];
    assert_eq!(
        summary(&mutants),
        vec![
            (ReplaceBody, 1, 18, body, "{ return undefined; }"),
            (NegateCondition, 1, 24, "a === b", "!(a === b)"),
            (ConstantCondition, 1, 24, "a === b", "true"),
            (ConstantCondition, 1, 24, "a === b", "false"),
            (EqualityFlip, 1, 26, "===", "!=="),
            (ArithmeticFlip, 1, 42, "+", "-"),
        ]
    );
    assert_all_parse(Lang::JavaScript, src, &mutants);
}

#[test]
fn javascript_switch_cases_are_deleted_but_not_default() {
    let src = "function kind(n) {\n  switch (n) {\n    case 0:\n      return 'zero';\n    case 1:\n      return 'one';\n    default:\n      return 'many';\n  }\n}\n";
    let mutants = generate("k.mjs", Lang::JavaScript, src);
    assert_eq!(
        of(&mutants, DeleteArm),
        vec![(3, "case 0:\n      return 'zero';", ""), (5, "case 1:\n      return 'one';", "")]
    );
    assert_all_parse(Lang::JavaScript, src, &mutants);
}

#[test]
fn typescript_bodies_follow_the_declared_return_type() {
    let src = r#"interface Item { id: number }
export function n(): number { return count(); }
export function s(): string { return name(); }
export function v(): void { work(); }
export async function p(): Promise<boolean> { return ok(); }
export function q(): Promise<number> { return later(); }
export function u(): Item | undefined { return find(); }
export function o(): Item { return make(); }
export const a = (x: number): number[] => [x];
class C {
  constructor() { init(); }
  get one(): number { return 1; }
  *gen(): Generator<number> { yield 1; }
}
"#;
    let mutants = generate("src/m.ts", Lang::TypeScript, src);
    assert_eq!(
        bodies(&mutants),
        vec![
            ("n", "{ return 0; }"),
            ("n", "{ return 1; }"),
            ("s", "{ return \"\"; }"),
            ("v", "{}"),
            ("p", "{ return true; }"),
            ("p", "{ return false; }"),
            ("q", "{ return Promise.resolve(0); }"),
            ("q", "{ return Promise.resolve(1); }"),
            ("u", "{ return undefined; }"),
            ("o", "{ return undefined as never; }"),
            ("a", "[]"),
            ("one", "{ return 0; }"),
        ]
    );
    assert_all_parse(Lang::TypeScript, src, &mutants);
}

#[test]
fn tsx_components_are_mutated_and_still_parse() {
    let src = "export const Badge = (props: { n: number }): JSX.Element => <b>{props.n > 9 ? \"9+ && more\" : props.n}</b>;\n";
    let mutants = generate("src/Badge.tsx", Lang::Tsx, src);
    assert_eq!(
        summary(&mutants).into_iter().map(|(op, _, _, o, r)| (op, o, r)).collect::<Vec<_>>(),
        vec![
            (ReplaceBody, &src[src.find("<b>").unwrap()..src.len() - 2], "undefined as never"),
            (RelationalFlip, ">", ">="),
            (RelationalFlip, ">", "<"),
            (Boundary, "9", "10"),
            (Boundary, "9", "8"),
        ]
    );
    assert_all_parse(Lang::Tsx, src, &mutants);
}

#[test]
fn javascript_test_files_only_lose_statements_of_test_callbacks() {
    let src = "import { f } from './f.js';\n\nconst limit = 3 > 2;\n\ndescribe('f', () => {\n  it('works', () => {\n    const a = f();\n    const unused = f();\n    expect(a).toBe(1);\n    if (a > 0) { expect(a).toBeTruthy(); }\n  });\n  test.only(\"again\", async () => {\n    await f();\n  });\n});\n";
    let mutants = generate("src/f.test.js", Lang::JavaScript, src);
    let summary: Vec<_> =
        mutants.iter().map(|m| (m.operator, m.line, m.original.as_str(), m.function.as_deref().unwrap())).collect();
    assert_eq!(
        summary,
        vec![
            (RemoveTestStatement, 8, "const unused = f();", "works"),
            // `expect(a).toBe(1)` stays: an assertion is never removed.
            (RemoveTestStatement, 13, "await f();", "again"),
        ]
    );
    assert_all_parse(Lang::JavaScript, src, &mutants);
    assert!(generate("src/__tests__/f.ts", Lang::TypeScript, "const x = 1 + 2;\n").is_empty());
    assert!(generate("src/f.spec.ts", Lang::TypeScript, "const x = 1 + 2;\n").is_empty());
}

// ---------------------------------------------------------------- Go

#[test]
fn go_function_gives_zero_value_bodies_negations_and_boundaries() {
    let src =
        "package p\n\nfunc Sign(x int) (int, error) {\n\tif x < 0 {\n\t\treturn -1, nil\n\t}\n\treturn 1, nil\n}\n";
    let mutants = generate("sign.go", Lang::Go, src);
    assert_eq!(
        summary(&mutants),
        vec![
            (ReplaceBody, 3, 32, "", " return 0, nil;"),
            (NegateCondition, 4, 5, "x < 0", "!(x < 0)"),
            (ConstantCondition, 4, 5, "x < 0", "(x < 0) || true"),
            (ConstantCondition, 4, 5, "x < 0", "(x < 0) && false"),
            (RelationalFlip, 4, 7, "<", "<="),
            (RelationalFlip, 4, 7, "<", ">"),
            (Boundary, 4, 9, "0", "1"),
            (Boundary, 7, 9, "1", "2"),
            (Boundary, 7, 9, "1", "0"),
        ]
    );
    assert_all_parse(Lang::Go, src, &mutants);
}

#[test]
fn go_bodies_return_the_zero_values_of_the_results_at_once() {
    let src = "package p\n\nfunc A() {}\nfunc B() { work() }\nfunc C() string { return name() }\nfunc D() error { return check() }\nfunc E() *T { return make() }\nfunc F() (n int, err error) { return parse() }\nfunc G() []byte { return read() }\nfunc H() T { return get() }\nfunc I() (a, b string) { return split() }\nfunc J() bool { return ok() }\nfunc (t *T) K() map[string]int { return t.m }\n";
    let mutants = generate("p.go", Lang::Go, src);
    let c = mutants.iter().find(|m| m.function.as_deref() == Some("C")).unwrap();
    assert!(c.apply(src).contains("func C() string { return \"\"; return name() }"), "the old body stays as dead code");
    assert_eq!(
        bodies(&mutants),
        vec![
            ("B", " return;"),
            ("C", " return \"\";"),
            ("D", " return nil;"),
            ("E", " return nil;"),
            ("F", " return 0, nil;"),
            ("G", " return nil;"),
            ("H", " return *new(T);"),
            ("I", " return \"\", \"\";"),
            ("J", " return false;"),
            ("J", " return true;"),
            ("K", " return nil;"),
        ]
    );
    assert_all_parse(Lang::Go, src, &mutants);
}

#[test]
fn go_switch_cases_are_deleted_and_strings_are_left_alone() {
    let src = "package p\n\n// Kind: n == 0 && n < 2\nfunc Kind(n int) string {\n\tswitch n {\n\tcase 0:\n\t\treturn \"zero == none\"\n\tcase 1:\n\t\treturn `one + one`\n\tdefault:\n\t\treturn \"many\" + \"!\"\n\t}\n}\n";
    let mutants = generate("kind.go", Lang::Go, src);
    assert_eq!(
        summary(&mutants).into_iter().skip(1).collect::<Vec<_>>(),
        vec![
            (DeleteArm, 6, 2, "case 0:\n\t\treturn \"zero == none\"\n", ""),
            (DeleteArm, 8, 2, "case 1:\n\t\treturn `one + one`\n", ""),
        ]
    );
    assert_invariants(Lang::Go, src, &mutants);
    assert_all_parse(Lang::Go, src, &mutants);
}

#[test]
fn go_test_files_only_lose_statements_of_test_functions() {
    let src = "package p\n\nimport \"testing\"\n\nfunc helper(a int) bool { return a > 1 }\n\nfunc TestX(t *testing.T) {\n\tgot := F(2)\n\t_ = F(3)\n\tReset()\n\tif got != 3 {\n\t\tt.Errorf(\"got %d\", got)\n\t}\n}\n";
    let mutants = generate("p_test.go", Lang::Go, src);
    assert_eq!(
        summary(&mutants),
        vec![(RemoveTestStatement, 9, 2, "_ = F(3)", ""), (RemoveTestStatement, 10, 2, "Reset()", "")]
    );
    assert!(mutants.iter().all(|m| m.in_test && m.function.as_deref() == Some("TestX")));
    assert_all_parse(Lang::Go, src, &mutants);
}

// ---------------------------------------------------------------- fixtures

/// Every source file of the four fixture projects.
const FIXTURE_FILES: &[(&str, &str)] = &[
    ("rust-small", "src/lib.rs"),
    ("python-small", "pricing.py"),
    ("python-small", "test_pricing.py"),
    ("ts-small", "src/pricing.ts"),
    ("ts-small", "src/pricing.test.ts"),
    ("go-small", "pricing.go"),
    ("go-small", "pricing_test.go"),
];

#[test]
fn every_fixture_mutant_applies_to_a_source_that_still_parses() {
    for (project, rel) in FIXTURE_FILES {
        let (src, mutants) = fixture(project, rel);
        let test_file = rel.contains("test");
        assert!(test_file || !mutants.is_empty(), "{project}/{rel}");
        assert!(!test_file || mutants.iter().all(|m| m.operator == Operator::RemoveTestStatement), "{project}/{rel}");
        let lang = Lang::from_path(rel.as_ref()).unwrap();
        assert_invariants(lang, &src, &mutants);
        assert_all_parse(lang, &src, &mutants);
    }
}

#[test]
fn fixture_mutant_counts_per_operator() {
    let count = |project: &str, rel: &str| {
        let (_, mutants) = fixture(project, rel);
        let mut counts = std::collections::BTreeMap::new();
        for m in &mutants {
            *counts.entry(m.operator.name()).or_insert(0) += 1;
        }
        counts.into_iter().collect::<Vec<_>>()
    };
    assert_eq!(
        count("rust-small", "src/lib.rs"),
        vec![
            ("arithmetic_flip", 5),
            ("boolean_flip", 1),
            ("boundary", 11),
            ("delete_arm", 2),
            ("equality_flip", 1),
            ("negate_condition", 3),
            ("relational_flip", 8),
            // Two values for each of the eight functions (`""`/`"xyzzy"` for
            // `&str`, `String::new()`/`"xyzzy".into()` for `String`). The test
            // module holds only assertions, which are never removed.
            ("replace_body", 16),
        ]
    );
}

#[test]
fn generation_is_deterministic() {
    for (project, rel) in FIXTURE_FILES {
        assert_eq!(fixture(project, rel).1, fixture(project, rel).1);
    }
}

// ---------------------------------------------------------------- properties

/// Statements with operators inside strings and comments, per language.
fn snippets(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::Rust => &[
            "let s = \"a == b && c < d\";",
            "// x + y - z * w / v",
            "/* a != b || c >= 3 */",
            "let c = '+';",
            "let r = r#\"1 + 2 == 3\"#;",
            "if a > 1 { let _ = a - 2; }",
            "let m = a * b + 3;",
            "while a < 10 { break; }",
            "let k = match a { 1 => \"one > two\", _ => \"x\" };",
            "let f = format!(\"{} < {}\", a, b);",
            "let ok = a == b || b != 3;",
            "let t = \"é\u{1F600} <= \" ;",
        ],
        Lang::Python => &[
            "s = \"a == b and c < d\"",
            "# x + y - z * w / v",
            "t = f\"{a} != {b} or\"",
            "if a > 1:\n        a = a - 2",
            "m = a * b + 3",
            "while a < 10:\n        break",
            "ok = a == b or b != 3",
            "u = '''a\n<= b'''",
            "v = 'é\u{1F600} >= ' + s",
        ],
        Lang::JavaScript | Lang::TypeScript | Lang::Tsx => &[
            "const s = \"a == b && c < d\";",
            "// x + y - z * w / v",
            "/* a !== b || c >= 3 */",
            "const t = `${a} != ${b + 1} ||`;",
            "if (a > 1) { a = a - 2; }",
            "const m = a * b + 3;",
            "while (a < 10) { break; }",
            "const ok = a === b || b != 3;",
            "const r = /a+b*/.test(s);",
            "const u = 'é\u{1F600} >= ' + s;",
        ],
        Lang::Go => &[
            "s := \"a == b && c < d\"",
            "// x + y - z * w / v",
            "/* a != b || c >= 3 */",
            "r := `1 + 2 == 3`",
            "c := '+'",
            "if a > 1 {\n\t\ta = a - 2\n\t}",
            "m := a*b + 3",
            "for a < 10 {\n\t\tbreak\n\t}",
            "ok := a == b || b != 3",
            "u := \"é\u{1F600} >= \" + s",
        ],
    }
}

/// A function of `lang` around `body` statements.
fn program(lang: Lang, bodies: &[Vec<&str>]) -> String {
    let mut out = String::new();
    if lang == Lang::Go {
        out.push_str("package p\n\n");
    }
    for (i, body) in bodies.iter().enumerate() {
        let (open, sep, close) = match lang {
            Lang::Rust => (format!("fn f{i}(mut a: i64, b: i64) -> i64 {{\n"), "\n    ", "\n    a\n}\n"),
            Lang::Python => (format!("def f{i}(a, b):\n"), "\n    ", "\n    return a\n"),
            Lang::Go => (format!("func F{i}(a, b int) int {{\n"), "\n\t", "\n\treturn a\n}\n"),
            _ => (format!("function f{i}(a, b) {{\n"), "\n  ", "\n  return a;\n}\n"),
        };
        out.push_str(&open);
        out.push_str(&sep[1..]);
        out.push_str(&body.join(sep));
        out.push_str(close);
        out.push('\n');
    }
    out
}

fn any_lang() -> impl Strategy<Value = Lang> {
    prop_oneof![
        Just(Lang::Rust),
        Just(Lang::Python),
        Just(Lang::JavaScript),
        Just(Lang::TypeScript),
        Just(Lang::Tsx),
        Just(Lang::Go)
    ]
}

fn file_for(lang: Lang) -> &'static str {
    match lang {
        Lang::Rust => "src/lib.rs",
        Lang::Python => "pkg/mod.py",
        Lang::JavaScript => "src/mod.js",
        Lang::TypeScript => "src/mod.ts",
        Lang::Tsx => "src/mod.tsx",
        Lang::Go => "mod.go",
    }
}

/// A random program of `lang` assembled from [`snippets`].
fn random_program() -> impl Strategy<Value = (Lang, String)> {
    any_lang().prop_flat_map(|lang| {
        let pool = snippets(lang);
        let body = prop::collection::vec(prop::sample::select(pool), 1..7);
        prop::collection::vec(body, 1..4).prop_map(move |bodies| (lang, program(lang, &bodies)))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn random_programs_never_get_mutants_inside_strings_or_comments((lang, src) in random_program()) {
        let mutants = generate(file_for(lang), lang, &src);
        prop_assert!(mutants.iter().any(|m| m.operator == ReplaceBody), "every function has a body mutant:\n{src}");
        assert_invariants(lang, &src, &mutants);
        assert_all_parse(lang, &src, &mutants);
    }

    #[test]
    fn generation_never_panics_on_arbitrary_text(lang in any_lang(), src in "\\PC{0,300}") {
        let mutants = generate(file_for(lang), lang, &src);
        for m in &mutants {
            prop_assert_eq!(&src[m.byte_start..m.byte_end], m.original.as_str());
        }
    }

    #[test]
    fn generation_never_panics_on_code_like_noise(
        lang in any_lang(),
        src in "([a-z0-9_ ]|[-+*/<>=!&|(){}\\[\\];:,.'\"`#\n\t]|é|\u{1F600}|fn |def |func |if |match |switch |case |return |\\\\){0,200}",
    ) {
        let mutants = generate(file_for(lang), lang, &src);
        assert_invariants(lang, &src, &mutants);
    }
}

// ---------------------------------------------------------------- diff

fn numbered(n: u32) -> String {
    (1..=n).map(|i| format!("line {i}\n")).collect()
}

#[test]
fn real_git_diff_gives_new_side_lines_renames_deletions_and_test_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    git(dir, &["init", "-q"]);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::create_dir_all(dir.join("tests")).unwrap();
    std::fs::write(dir.join("src/lib.rs"), numbered(20)).unwrap();
    std::fs::write(dir.join("src/gone.rs"), numbered(3)).unwrap();
    std::fs::write(dir.join("src/old_name.rs"), numbered(30)).unwrap();
    std::fs::write(dir.join("src/no_eol.py"), "a = 1\nb = 2").unwrap();
    std::fs::write(dir.join("src/café.go"), numbered(4)).unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "base"]);
    let base = git(dir, &["rev-parse", "HEAD"]).trim().to_string();

    // lib.rs: line 2 changed, 2 lines inserted after 5, lines 10–11 deleted, line 20 changed.
    let mut lib: Vec<String> = (1..=20).map(|i| format!("line {i}")).collect();
    lib[1] = "line 2 changed".into();
    lib[19] = "line 20 changed".into();
    lib.drain(9..11);
    lib.insert(5, "inserted a".into());
    lib.insert(6, "++ b/looks like a header".into());
    std::fs::write(dir.join("src/lib.rs"), lib.join("\n") + "\n").unwrap();
    std::fs::remove_file(dir.join("src/gone.rs")).unwrap();
    let mut renamed = numbered(30);
    renamed.push_str("line 31\n");
    std::fs::write(dir.join("src/new_name.rs"), renamed).unwrap();
    std::fs::remove_file(dir.join("src/old_name.rs")).unwrap();
    std::fs::write(dir.join("src/no_eol.py"), "a = 1\nb = 3").unwrap();
    std::fs::write(dir.join("src/café.go"), "line 1\nline 2 changed\nline 3\nline 4\n").unwrap();
    std::fs::write(dir.join("tests/it.rs"), "#[test]\nfn t() {}\n").unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "change"]);

    let diff = git(dir, &["diff", "-U0", "-M", &base]);
    let changed = changed_lines(&diff);

    // New lib.rs: 1, "line 2 changed", 3, 4, 5, "inserted a", "++ b/…", 6, 7, 8, 9 (line 11), 12 (line 12), …,
    // 19, "line 20 changed" (line 20); the cut of old lines 10–11 sits between new lines 11 and 12.
    assert_eq!(changed.ranges("src/lib.rs"), &[(2, 2), (6, 7), (11, 12), (20, 20)]);
    assert!(changed.contains("src/lib.rs", 6) && !changed.contains("src/lib.rs", 8));
    assert_eq!(changed.ranges("src/new_name.rs"), &[(31, 31)]);
    assert_eq!(changed.ranges("src/no_eol.py"), &[(2, 2)]);
    assert_eq!(changed.ranges("src/café.go"), &[(2, 2)]);
    assert_eq!(changed.ranges("tests/it.rs"), &[(1, 2)]);
    assert!(changed.ranges("src/gone.rs").is_empty());
    assert_eq!(changed.deleted_files().collect::<Vec<_>>(), vec!["src/gone.rs"]);
    assert_eq!(
        changed.changed_files().collect::<Vec<_>>(),
        vec!["src/café.go", "src/lib.rs", "src/new_name.rs", "src/no_eol.py", "tests/it.rs"]
    );
    assert_eq!(changed.test_files(), vec!["tests/it.rs"]);

    // A pure rename without content changes marks no line but counts as changed.
    git(dir, &["mv", "src/new_name.rs", "src/third.rs"]);
    git(dir, &["commit", "-q", "-m", "rename"]);
    let diff = git(dir, &["diff", "-U0", "-M", "HEAD~1"]);
    let changed = changed_lines(&diff);
    assert!(changed.files().next().is_none(), "{diff}");
    assert_eq!(changed.changed_files().collect::<Vec<_>>(), vec!["src/third.rs"]);
}

#[test]
fn mutants_spanning_several_lines_are_in_the_diff_when_any_line_is() {
    let diff =
        "diff --git a/src/lib.rs b/src/lib.rs\n--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -4 +4 @@\n-    a\n+    b\n";
    let changed = changed_lines(diff);
    let src = "fn f() -> u32 {\n    let x = 1;\n    let y = 2;\n    b\n}\n";
    let mutants = generate("src/lib.rs", Lang::Rust, src);
    let body = mutants.iter().find(|m| m.operator == ReplaceBody).unwrap();
    assert_eq!(body.line, 1);
    assert!(changed.contains_mutant(body), "the body spans lines 1–5");
    let mut elsewhere = body.clone();
    elsewhere.file = "src/other.rs".into();
    assert!(!changed.contains_mutant(&elsewhere));
    let boundary = Mutant { line: 2, original: "1".into(), ..body.clone() };
    assert!(!changed.contains_mutant(&boundary));
}

#[test]
fn test_only_diffs_list_test_files_of_every_language() {
    let diff = "diff --git a/pkg/test_calc.py b/pkg/test_calc.py\n--- a/pkg/test_calc.py\n+++ b/pkg/test_calc.py\n@@ -1,0 +2 @@\n+x\n\
                diff --git a/web/a.spec.ts b/web/a.spec.ts\ndeleted file mode 100644\n--- a/web/a.spec.ts\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n\
                diff --git a/calc_test.go b/calc_test.go\nnew file mode 100644\n--- /dev/null\n+++ b/calc_test.go\n@@ -0,0 +1 @@\n+package p\n\
                diff --git a/src/calc.rs b/src/calc.rs\n--- a/src/calc.rs\n+++ b/src/calc.rs\n@@ -3 +3 @@\n-a\n+b\n";
    let changed = changed_lines(diff);
    assert_eq!(changed.test_files(), vec!["calc_test.go", "pkg/test_calc.py", "web/a.spec.ts"]);
    assert_eq!(changed.ranges("calc_test.go"), &[(1, 1)]);
}

#[test]
fn pure_deletions_mark_the_lines_around_the_cut() {
    let diff = "--- a/m.py\n+++ b/m.py\n@@ -5,2 +4,0 @@\n-x\n-y\n@@ -1 +0,0 @@\n-first\n";
    let changed = changed_lines(diff);
    assert_eq!(changed.ranges("m.py"), &[(1, 1), (4, 5)]);
}

#[test]
fn context_diffs_mark_only_added_lines() {
    let diff = "--- a/m.go\t2024-01-01 00:00:00\n+++ b/m.go\t2024-01-01 00:00:00\n@@ -1,4 +1,4 @@\n a\n-b\n+B\n c\n d\n\\ No newline at end of file\n";
    let changed = changed_lines(diff);
    assert_eq!(changed.ranges("m.go"), &[(2, 2)]);
    assert_eq!(changed.files().collect::<Vec<_>>(), vec!["m.go"]);
}

/// One random hunk: (old lines kept before it, old lines removed, new lines added).
fn hunks() -> impl Strategy<Value = Vec<(u32, u32, u32)>> {
    prop::collection::vec((0u32..6, 0u32..4, 0u32..4), 0..8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_hunks_mark_exactly_the_added_lines_and_deletion_neighbours(
        hunks in hunks(),
        header_like in any::<bool>(),
    ) {
        let mut diff = String::from("diff --git a/f.rs b/f.rs\n--- a/f.rs\n+++ b/f.rs\n");
        let mut expected = std::collections::BTreeSet::new();
        let (mut old_line, mut new_line) = (1u32, 1u32);
        for (keep, removed, added) in hunks {
            if removed == 0 && added == 0 {
                continue;
            }
            old_line += keep;
            new_line += keep;
            let old_start = if removed == 0 { old_line - 1 } else { old_line };
            let new_start = if added == 0 { new_line - 1 } else { new_line };
            diff.push_str(&format!("@@ -{old_start},{removed} +{new_start},{added} @@ ctx\n"));
            for i in 0..removed {
                diff.push_str(&format!("-old {i}\n"));
            }
            for i in 0..added {
                let text = if header_like { format!("++ b/x{i}") } else { format!("new {i}") };
                diff.push_str(&format!("+{text}\n"));
                expected.insert(new_line + i);
            }
            if added == 0 {
                if new_start >= 1 {
                    expected.insert(new_start);
                }
                expected.insert(new_start + 1);
            }
            old_line += removed;
            new_line += added;
        }
        let changed = changed_lines(&diff);
        for line in 1..new_line + 8 {
            prop_assert_eq!(changed.contains("f.rs", line), expected.contains(&line), "line {}:\n{}", line, diff);
        }
        prop_assert!(changed.files().all(|f| f == "f.rs"));
    }

    #[test]
    fn diff_parser_never_panics(text in "([-+@ \\\\]|@@ -|\\+\\+\\+ |--- |diff --git |[0-9,]|\n|[a-z/\"]){0,300}") {
        let changed = changed_lines(&text);
        for f in changed.files() {
            prop_assert!(changed.ranges(f).iter().all(|&(a, b)| 1 <= a && a <= b));
        }
    }
}
