//! The top-level symbols of a source file, read from its tree-sitter syntax
//! tree: what a repository map lists per file.
//!
//! [`top_level_symbols`] lists the items declared at the top of a file
//! (functions, types, classes, traits and interfaces, constants, modules)
//! and the methods of the blocks that define them (Rust `impl` and `trait`
//! blocks, Python and JavaScript/TypeScript classes, Go methods by their
//! receiver). Nested functions, local variables and fields are left out: a
//! map says where things are, not what they do. A syntax error hides only
//! the region tree-sitter could not recover.
//!
//! | language | symbols |
//! |---|---|
//! | Rust | `fn`, `struct`, `enum`, `union`, `trait` (and its methods), `type`, `const`, `static`, `mod`, `macro_rules!`, methods of `impl` blocks (`Type::method`); items under `#[cfg(test)]` left out |
//! | Python | `def`, `class` (and its methods, `Class.method`), module-level `UPPER_CASE` constants |
//! | JavaScript, TypeScript | functions, classes (and their methods), `const` bindings (functions when bound to one), `interface`, `type`, `enum`, `namespace`; `export` and `declare` see through |
//! | Go | `func`, methods (`Type.Method`), `type` (struct, interface or other), `const`, exported `var` |
//!
//! ```
//! use agent_syntax::Lang;
//! use agent_syntax::symbols::{SymbolKind, top_level_symbols};
//!
//! let src = "pub struct Stack { items: Vec<u32> }\n\nimpl Stack {\n    pub fn push(&mut self, x: u32) {\n        fn helper() {}\n    }\n}\n\npub const MAX: usize = 8;\n";
//! let symbols = top_level_symbols(Lang::Rust, src);
//! let found: Vec<(SymbolKind, &str, u32)> = symbols.iter().map(|s| (s.kind, s.name.as_str(), s.line)).collect();
//! assert_eq!(
//!     found,
//!     [(SymbolKind::Struct, "Stack", 1), (SymbolKind::Method, "Stack::push", 4), (SymbolKind::Const, "MAX", 9)]
//! );
//! ```

use crate::Lang;
use serde::{Deserialize, Serialize};
use tree_sitter::Node;

/// What a [`Symbol`] declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SymbolKind {
    /// A free function.
    Function,
    /// A function of an `impl` block, a trait, a class or a Go receiver type.
    Method,
    /// A Rust or Go struct.
    Struct,
    /// An enum.
    Enum,
    /// A Rust union.
    Union,
    /// A Rust trait.
    Trait,
    /// A TypeScript or Go interface.
    Interface,
    /// A type alias or a Go named type that is neither a struct nor an interface.
    Type,
    /// A Python, JavaScript or TypeScript class.
    Class,
    /// A constant.
    Const,
    /// A Rust `static`.
    Static,
    /// A Go package-level `var` (exported ones only).
    Var,
    /// A Rust `mod`, a TypeScript `namespace`.
    Module,
    /// A Rust `macro_rules!` macro.
    Macro,
}

impl SymbolKind {
    /// The stable lower-case name (`function`, `method`, `struct`, …), as serialised.
    pub fn name(self) -> &'static str {
        match self {
            SymbolKind::Function => "function",
            SymbolKind::Method => "method",
            SymbolKind::Struct => "struct",
            SymbolKind::Enum => "enum",
            SymbolKind::Union => "union",
            SymbolKind::Trait => "trait",
            SymbolKind::Interface => "interface",
            SymbolKind::Type => "type",
            SymbolKind::Class => "class",
            SymbolKind::Const => "const",
            SymbolKind::Static => "static",
            SymbolKind::Var => "var",
            SymbolKind::Module => "module",
            SymbolKind::Macro => "macro",
        }
    }
}

/// One declared symbol of a file.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Symbol {
    /// What it declares.
    pub kind: SymbolKind,
    /// Its name; a method's is qualified by its type (`Stack::push` in
    /// Rust, `Stack.push` in the other languages).
    pub name: String,
    /// The 1-based line of its name.
    pub line: u32,
    /// The type, trait or class a method belongs to (`Stack`), else `None`.
    pub parent: Option<String>,
}

/// The top-level symbols of `source` in `lang`, in source order (see the
/// [module docs](self) for what each language lists). A name declared twice
/// with the same kind (TypeScript overloads) is listed once, at its first line.
///
/// ```
/// use agent_syntax::Lang;
/// use agent_syntax::symbols::top_level_symbols;
///
/// let src = "import os\nLIMIT = 3\n\nclass Stack:\n    def push(self, x):\n        pass\n\ndef helper():\n    def inner():\n        pass\n";
/// let names: Vec<String> = top_level_symbols(Lang::Python, src).into_iter().map(|s| format!("{} {} {}", s.kind.name(), s.name, s.line)).collect();
/// assert_eq!(names, ["const LIMIT 2", "class Stack 4", "method Stack.push 5", "function helper 8"]);
/// ```
pub fn top_level_symbols(lang: Lang, source: &str) -> Vec<Symbol> {
    let Some(tree) = lang.parse(source) else { return Vec::new() };
    let mut out = Out { source, symbols: Vec::new() };
    let root = tree.root_node();
    let mut cursor = root.walk();
    for node in root.named_children(&mut cursor) {
        match lang {
            Lang::Rust => rust_item(&mut out, node),
            Lang::Python => python_item(&mut out, node),
            Lang::JavaScript | Lang::TypeScript | Lang::Tsx => js_item(&mut out, node, 0),
            Lang::Go => go_item(&mut out, node),
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.symbols.retain(|s| seen.insert((s.kind, s.name.clone())));
    out.symbols
}

/// The symbols found so far, and the source their names are read from.
struct Out<'s> {
    source: &'s str,
    symbols: Vec<Symbol>,
}

impl Out<'_> {
    /// The source text of `node` (empty if its range is not in the source).
    fn text(&self, node: Node<'_>) -> &str {
        self.source.get(node.byte_range()).unwrap_or_default()
    }

    /// Adds the symbol named by `node`'s `name` field; nothing when it has none.
    fn named(&mut self, kind: SymbolKind, node: Node<'_>) {
        if let Some(name) = node.child_by_field_name("name") {
            self.push(kind, name, None, "");
        }
    }

    /// Adds a symbol named by the text of `name`, qualified by `parent` with `sep`.
    fn push(&mut self, kind: SymbolKind, name: Node<'_>, parent: Option<&str>, sep: &str) {
        let text = self.text(name).trim();
        if text.is_empty() || name.is_missing() || !name.is_named() {
            return;
        }
        let line = u32::try_from(name.start_position().row).unwrap_or(u32::MAX - 1) + 1;
        let name = match parent {
            Some(p) => format!("{p}{sep}{text}"),
            None => text.to_owned(),
        };
        self.symbols.push(Symbol { kind, name, line, parent: parent.map(str::to_owned) });
    }
}

/// The named children of `node`'s `body` field.
fn body_items<'t>(node: Node<'t>) -> Vec<Node<'t>> {
    let Some(body) = node.child_by_field_name("body") else { return Vec::new() };
    let mut cursor = body.walk();
    body.named_children(&mut cursor).collect()
}

/// A type's name without generics or pointers (`Stack` for `Stack<T>`, `*Stack`, `G[T]`).
fn bare_type(text: &str) -> &str {
    let text = text.trim().trim_start_matches(['*', '&']).trim_start();
    let text = text.strip_prefix("mut ").unwrap_or(text);
    let end = text.find(['<', '[', '(', ' ']).unwrap_or(text.len());
    text[..end].trim()
}

/// Whether a Rust item carries `#[cfg(test)]` (its attributes are the siblings before it).
fn rust_test_only(out: &Out<'_>, node: Node<'_>) -> bool {
    let mut prev = node.prev_named_sibling();
    while let Some(p) = prev.filter(|p| p.kind() == "attribute_item") {
        if out.text(p).replace(' ', "").contains("cfg(test)") {
            return true;
        }
        prev = p.prev_named_sibling();
    }
    false
}

fn rust_item(out: &mut Out<'_>, node: Node<'_>) {
    if rust_test_only(out, node) {
        return;
    }
    let kind = match node.kind() {
        "function_item" | "function_signature_item" => SymbolKind::Function,
        "struct_item" => SymbolKind::Struct,
        "enum_item" => SymbolKind::Enum,
        "union_item" => SymbolKind::Union,
        "type_item" => SymbolKind::Type,
        "const_item" => SymbolKind::Const,
        "static_item" => SymbolKind::Static,
        "mod_item" => SymbolKind::Module,
        "macro_definition" => SymbolKind::Macro,
        "trait_item" => {
            out.named(SymbolKind::Trait, node);
            let parent = node.child_by_field_name("name").map(|n| out.text(n).to_owned());
            rust_members(out, node, parent.as_deref());
            return;
        }
        "impl_item" => {
            let parent = node.child_by_field_name("type").map(|t| bare_type(out.text(t)).to_owned());
            rust_members(out, node, parent.as_deref());
            return;
        }
        _ => return,
    };
    out.named(kind, node);
}

/// The functions of an `impl` or `trait` block, as methods of `parent`.
fn rust_members(out: &mut Out<'_>, node: Node<'_>, parent: Option<&str>) {
    let Some(parent) = parent.filter(|p| !p.is_empty()) else { return };
    for item in body_items(node) {
        if matches!(item.kind(), "function_item" | "function_signature_item") {
            if let Some(name) = item.child_by_field_name("name") {
                out.push(SymbolKind::Method, name, Some(parent), "::");
            }
        }
    }
}

fn python_item(out: &mut Out<'_>, node: Node<'_>) {
    let node = unwrap_decorated(node);
    match node.kind() {
        "function_definition" => out.named(SymbolKind::Function, node),
        "class_definition" => {
            out.named(SymbolKind::Class, node);
            let Some(class) = node.child_by_field_name("name").map(|n| out.text(n).to_owned()) else { return };
            for item in body_items(node) {
                let item = unwrap_decorated(item);
                if item.kind() == "function_definition" {
                    if let Some(name) = item.child_by_field_name("name") {
                        out.push(SymbolKind::Method, name, Some(&class), ".");
                    }
                }
            }
        }
        "expression_statement" => {
            let mut cursor = node.walk();
            for assignment in node.named_children(&mut cursor).filter(|c| c.kind() == "assignment") {
                let Some(left) = assignment.child_by_field_name("left").filter(|l| l.kind() == "identifier") else {
                    continue;
                };
                let name = out.text(left);
                let constant = name.chars().any(|c| c.is_ascii_uppercase())
                    && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                if constant {
                    out.push(SymbolKind::Const, left, None, "");
                }
            }
        }
        _ => {}
    }
}

/// The definition inside a `@decorated` one.
fn unwrap_decorated(node: Node<'_>) -> Node<'_> {
    match node.kind() {
        "decorated_definition" => node.child_by_field_name("definition").unwrap_or(node),
        _ => node,
    }
}

fn js_item(out: &mut Out<'_>, node: Node<'_>, depth: usize) {
    match node.kind() {
        // `export …`, `declare …`, `namespace X {}` as a statement: the declaration inside.
        "export_statement" | "ambient_declaration" | "expression_statement" if depth < 4 => {
            if let Some(declaration) = node.child_by_field_name("declaration") {
                return js_item(out, declaration, depth + 1);
            }
            let mut cursor = node.walk();
            let inner: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
            for child in inner {
                js_item(out, child, depth + 1);
            }
        }
        "function_declaration" | "generator_function_declaration" | "function_signature" => {
            out.named(SymbolKind::Function, node);
        }
        "class_declaration" | "abstract_class_declaration" => {
            out.named(SymbolKind::Class, node);
            let Some(class) = node.child_by_field_name("name").map(|n| out.text(n).to_owned()) else { return };
            for member in body_items(node) {
                if matches!(member.kind(), "method_definition" | "abstract_method_signature") {
                    if let Some(name) = member.child_by_field_name("name") {
                        out.push(SymbolKind::Method, name, Some(&class), ".");
                    }
                }
            }
        }
        "interface_declaration" => out.named(SymbolKind::Interface, node),
        "type_alias_declaration" => out.named(SymbolKind::Type, node),
        "enum_declaration" => out.named(SymbolKind::Enum, node),
        // `declare module 'pkg' {}` names a package, not a namespace of this file.
        "internal_module" | "module" if node.child_by_field_name("name").is_some_and(|n| n.kind() != "string") => {
            out.named(SymbolKind::Module, node);
        }
        "lexical_declaration" => {
            let constant = node.child(0).is_some_and(|k| k.kind() == "const");
            if !constant {
                return;
            }
            let mut cursor = node.walk();
            let declarators: Vec<Node<'_>> =
                node.named_children(&mut cursor).filter(|c| c.kind() == "variable_declarator").collect();
            for declarator in declarators {
                let Some(name) = declarator.child_by_field_name("name").filter(|n| n.kind() == "identifier") else {
                    continue;
                };
                let function = declarator.child_by_field_name("value").is_some_and(|v| {
                    matches!(v.kind(), "arrow_function" | "function_expression" | "generator_function")
                });
                out.push(if function { SymbolKind::Function } else { SymbolKind::Const }, name, None, "");
            }
        }
        _ => {}
    }
}

fn go_item(out: &mut Out<'_>, node: Node<'_>) {
    match node.kind() {
        "function_declaration" => out.named(SymbolKind::Function, node),
        "method_declaration" => {
            let receiver = node.child_by_field_name("receiver").and_then(|r| {
                let mut cursor = r.walk();
                let param = r.named_children(&mut cursor).find(|p| p.kind() == "parameter_declaration")?;
                param.child_by_field_name("type").map(|t| bare_type(out.text(t)).to_owned())
            });
            match (node.child_by_field_name("name"), receiver.filter(|r| !r.is_empty())) {
                (Some(name), Some(receiver)) => out.push(SymbolKind::Method, name, Some(&receiver), "."),
                (Some(_), None) => out.named(SymbolKind::Function, node),
                _ => {}
            }
        }
        "type_declaration" => {
            let mut cursor = node.walk();
            let specs: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
            for spec in specs {
                let kind = match spec.child_by_field_name("type").map(|t| t.kind()) {
                    _ if spec.kind() == "type_alias" => SymbolKind::Type,
                    Some("struct_type") => SymbolKind::Struct,
                    Some("interface_type") => SymbolKind::Interface,
                    _ => SymbolKind::Type,
                };
                if matches!(spec.kind(), "type_spec" | "type_alias") {
                    out.named(kind, spec);
                }
            }
        }
        "const_declaration" | "var_declaration" => {
            let constant = node.kind() == "const_declaration";
            let mut specs = Vec::new();
            let mut cursor = node.walk();
            for child in node.named_children(&mut cursor) {
                match child.kind() {
                    "const_spec" | "var_spec" => specs.push(child),
                    "var_spec_list" => {
                        let mut inner = child.walk();
                        specs.extend(child.named_children(&mut inner).filter(|c| c.kind() == "var_spec"));
                    }
                    _ => {}
                }
            }
            for spec in specs {
                let mut cursor = spec.walk();
                let names: Vec<Node<'_>> = spec.children_by_field_name("name", &mut cursor).collect();
                for name in names {
                    let exported = out.text(name).starts_with(|c: char| c.is_uppercase());
                    if constant {
                        out.push(SymbolKind::Const, name, None, "");
                    } else if exported {
                        out.push(SymbolKind::Var, name, None, "");
                    }
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn listed(lang: Lang, source: &str) -> Vec<String> {
        top_level_symbols(lang, source)
            .into_iter()
            .map(|s| format!("{} {} {}", s.kind.name(), s.name, s.line))
            .collect()
    }

    #[test]
    fn rust_items_impl_methods_and_trait_methods_are_listed_with_their_lines() {
        let src = "#[derive(Debug)]\npub struct S<T> { a: T }\nimpl<T: Clone> Tr for S<T> {\n    const C: u8 = 1;\n    pub fn m(&self) {\n        fn nested() {}\n    }\n}\ntrait Tr {\n    fn a();\n    fn b() {}\n}\nmod m { fn hidden() {} }\nmod n;\nmacro_rules! mac { () => {} }\nconst K: u8 = 1;\nstatic ST: u8 = 2;\ntype Al = u8;\nenum E { A }\nunion U { a: u8 }\npub(crate) async unsafe fn f() {}\nimpl<'a> Wrapper<'a> { fn new() -> Self { todo!() } }\n#[cfg(test)]\n#[allow(unused)]\nmod tests {\n    fn t() {}\n}\n";
        assert_eq!(
            listed(Lang::Rust, src),
            [
                "struct S 2",
                "method S::m 5",
                "trait Tr 9",
                "method Tr::a 10",
                "method Tr::b 11",
                "module m 13",
                "module n 14",
                "macro mac 15",
                "const K 16",
                "static ST 17",
                "type Al 18",
                "enum E 19",
                "union U 20",
                "function f 21",
                "method Wrapper::new 22",
            ]
        );
        let s = &top_level_symbols(Lang::Rust, src)[1];
        assert_eq!(s.parent.as_deref(), Some("S"));
    }

    #[test]
    fn python_functions_classes_methods_and_constants_are_listed() {
        let src = "import os\nX = 1\nY: int = 2\nlow = 3\n@dec\ndef f(): pass\nclass C(B):\n    K = 1\n    def m(self): pass\n    @property\n    def p(self): pass\n    async def a(self): pass\nasync def g(): pass\nif True:\n    def h(): pass\n";
        assert_eq!(
            listed(Lang::Python, src),
            [
                "const X 2",
                "const Y 3",
                "function f 6",
                "class C 7",
                "method C.m 9",
                "method C.p 11",
                "method C.a 12",
                "function g 13"
            ]
        );
    }

    #[test]
    fn javascript_declarations_are_listed_through_exports() {
        let src = "export default function d() {}\nexport function f() {}\nfunction* g() {}\nclass C extends B { #priv() {} static s() {} constructor() {} field = 1 }\nexport class D {}\nconst a = () => 1, b = 2;\nlet c = 3;\nexport const E = 1;\nmodule.exports = { f };\nexport default class { m() {} }\n";
        assert_eq!(
            listed(Lang::JavaScript, src),
            [
                "function d 1",
                "function f 2",
                "function g 3",
                "class C 4",
                "method C.#priv 4",
                "method C.s 4",
                "method C.constructor 4",
                "class D 5",
                "function a 6",
                "const b 6",
                "const E 8",
            ]
        );
    }

    #[test]
    fn typescript_and_tsx_types_interfaces_namespaces_and_overloads_are_listed_once() {
        let src = "interface I { m(): void }\ntype T = number;\nenum E { A }\nabstract class A { abstract m(): void; n(): void {} }\nnamespace NS { export const x = 1 }\ndeclare function df(): void;\nexport function ov(a: string): void;\nexport function ov(a: any) {}\nexport interface J {}\ndeclare module 'm' {}\n";
        let expected = [
            "interface I 1",
            "type T 2",
            "enum E 3",
            "class A 4",
            "method A.m 4",
            "method A.n 4",
            "module NS 5",
            "function df 6",
            "function ov 7",
            "interface J 9",
        ];
        assert_eq!(listed(Lang::TypeScript, src), expected);
        assert_eq!(listed(Lang::Tsx, src), expected);
        let tsx = "export function App(): JSX.Element {\n  return <div>hi</div>;\n}\nexport const Button = () => <button />;\n";
        assert_eq!(listed(Lang::Tsx, tsx), ["function App 1", "function Button 4"]);
    }

    #[test]
    fn go_functions_methods_types_and_constants_are_listed() {
        let src = "package p\nimport \"fmt\"\nconst A = 1\nconst (\n  B, C = 2, 3\n)\nvar X = 1\nvar (\n  y int\n)\ntype S struct{}\ntype I interface{ M() }\ntype N int\ntype Al = int\ntype (\n  G[T any] struct{}\n)\nfunc F() {}\nfunc (s *S) M() {}\nfunc (g G[T]) N() {}\n";
        assert_eq!(
            listed(Lang::Go, src),
            [
                "const A 3",
                "const B 5",
                "const C 5",
                "var X 7",
                "struct S 11",
                "interface I 12",
                "type N 13",
                "type Al 14",
                "struct G 16",
                "function F 18",
                "method S.M 19",
                "method G.N 20",
            ]
        );
    }

    #[test]
    fn symbols_after_a_syntax_error_are_still_found() {
        let names = listed(Lang::Python, "def broken(:\n    pass\n\ndef fine():\n    pass\n");
        assert!(names.contains(&"function fine 4".to_owned()), "{names:?}");
        let names = listed(Lang::Rust, "fn broken( {\n}\n\npub struct Fine;\n");
        assert!(names.contains(&"struct Fine 4".to_owned()), "{names:?}");
    }

    proptest! {
        #[test]
        fn top_level_symbols_never_panics_and_lines_are_in_the_source(source in any::<String>()) {
            let lines = u32::try_from(source.split('\n').count()).unwrap_or(u32::MAX);
            for lang in [Lang::Rust, Lang::Python, Lang::JavaScript, Lang::TypeScript, Lang::Tsx, Lang::Go] {
                for s in top_level_symbols(lang, &source) {
                    prop_assert!(s.line >= 1 && s.line <= lines, "{s:?}");
                    prop_assert!(!s.name.is_empty());
                }
            }
        }
    }
}
