//! The imports of a source file, read from its tree-sitter syntax tree.
//!
//! [`python_imports`] lists Python's `import` and `from … import`
//! statements as [`Import`]s; [`js_imports`] lists the module specifiers of
//! JavaScript and TypeScript (`import`, `export … from`, `import()`,
//! `require()`) as [`JsImport`]s; [`rust_imports`] lists the paths of
//! Rust's `use` declarations and its `mod NAME;` declarations as
//! [`RustImport`]s. All read the syntax tree, so a word `import` in a
//! comment or a string is not an import, a statement may span several
//! lines, and an import nested in a function or an `if` counts. A syntax
//! error hides only the region tree-sitter could not recover.
//!
//! ```
//! use agent_syntax::imports::python_imports;
//!
//! let src = "# import os\nfrom pkg.calc import (\n    add,\n    sub as minus,\n)\n";
//! let imports = python_imports(src);
//! assert_eq!(imports.len(), 1);
//! assert_eq!(imports[0].module, "pkg.calc");
//! assert_eq!(imports[0].names, ["add", "sub"]);
//! assert_eq!(imports[0].line, 2);
//! assert!(imports[0].mentions("calc") && imports[0].mentions("sub"));
//! ```

use crate::Lang;
use tree_sitter::{Node, Tree};

/// One Python import statement, or one module of an `import a, b` statement.
///
/// | source | `module` | `names` | `relative` |
/// |---|---|---|---|
/// | `import a.b as c` | `a.b` | `[]` | no |
/// | `from a.b import c, d as e` | `a.b` | `[c, d]` | no |
/// | `from .a import *` | `a` | `[*]` | yes |
/// | `from .. import c` | (empty) | `[c]` | yes |
/// | `from __future__ import annotations` | `__future__` | `[annotations]` | no |
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Import {
    /// The imported module, its segments joined by `.` (`pkg.calc`); for a
    /// relative import, the part after the leading dots (empty for `from . import x`).
    pub module: String,
    /// The names a `from` import takes from the module, without their
    /// aliases (`add` for `from pkg.calc import add as plus`; `*` for a
    /// wildcard). Empty for a plain `import`.
    pub names: Vec<String>,
    /// The 1-based line where the statement starts.
    pub line: u32,
    /// Whether the import is relative to the importing package (`from .x import y`).
    pub relative: bool,
}

impl Import {
    /// The first segment of the module (`pkg` for `pkg.calc`), empty for `from . import x`.
    pub fn top_level(&self) -> &str {
        self.module.split('.').next().unwrap_or_default()
    }

    /// The segments of the module (`pkg`, `calc` for `pkg.calc`).
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.module.split('.').filter(|s| !s.is_empty())
    }

    /// Whether `name` is a segment of the module or a name imported from it:
    /// `import pkg.calc`, `from pkg.calc import add` and `from pkg import calc`
    /// all mention `calc`. An alias is not a mention.
    pub fn mentions(&self, name: &str) -> bool {
        self.segments().any(|s| s == name) || self.names.iter().any(|n| n == name)
    }
}

/// Every import of a Python source, in source order. An `import a, b`
/// statement gives one [`Import`] per module; a `from` statement gives one.
///
/// ```
/// use agent_syntax::imports::python_imports;
///
/// let imports = python_imports("import os, numpy as np\nfrom . import sibling\n");
/// let modules: Vec<&str> = imports.iter().map(|i| i.module.as_str()).collect();
/// assert_eq!(modules, ["os", "numpy", ""]);
/// assert!(imports[2].relative);
/// assert_eq!(imports[2].names, ["sibling"]);
/// ```
pub fn python_imports(source: &str) -> Vec<Import> {
    let Some(tree) = Lang::Python.parse(source) else { return Vec::new() };
    let mut out = Vec::new();
    for_each_node(&tree, |node| {
        let line = line_of(node);
        match node.kind() {
            "import_statement" => {
                let mut cursor = node.walk();
                for name in node.children_by_field_name("name", &mut cursor) {
                    if let Some(module) = imported_name(name, source) {
                        out.push(Import { module, names: Vec::new(), line, relative: false });
                    }
                }
            }
            kind @ ("import_from_statement" | "future_import_statement") => {
                let (module, relative) = if kind == "future_import_statement" {
                    ("__future__".to_owned(), false)
                } else {
                    match node.child_by_field_name("module_name") {
                        Some(m) if m.kind() == "relative_import" => {
                            let mut cursor = m.walk();
                            let after_dots = m.named_children(&mut cursor).find(|c| c.kind() == "dotted_name");
                            (after_dots.and_then(|d| dotted(d, source)).unwrap_or_default(), true)
                        }
                        Some(m) => match dotted(m, source) {
                            Some(module) => (module, false),
                            None => return,
                        },
                        None => return,
                    }
                };
                let mut cursor = node.walk();
                let mut names: Vec<String> =
                    node.children_by_field_name("name", &mut cursor).filter_map(|n| imported_name(n, source)).collect();
                let mut cursor = node.walk();
                if node.named_children(&mut cursor).any(|c| c.kind() == "wildcard_import") {
                    names.push("*".to_owned());
                }
                out.push(Import { module, names, line, relative });
            }
            _ => {}
        }
    });
    out
}

/// How a JavaScript or TypeScript source names a module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JsImportKind {
    /// `import x from 'm'`, `import 'm'`, `import type { T } from 'm'`.
    Static,
    /// `export { x } from 'm'`, `export * from 'm'`.
    ReExport,
    /// `import('m')`.
    Dynamic,
    /// `require('m')`, and TypeScript's `import x = require('m')`.
    Require,
}

/// One module specifier of a JavaScript or TypeScript source.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JsImport {
    /// The specifier without its quotes (`lodash/fp`, `./local`, `node:fs`).
    pub specifier: String,
    /// The 1-based line where the statement or call starts.
    pub line: u32,
    /// The syntax that names the module.
    pub kind: JsImportKind,
}

/// Every module specifier of a JavaScript, TypeScript or TSX source, in
/// source order. Only string literals count: `require(name)` and
/// ``import(`./${x}`)`` name no module. Empty for the other languages.
///
/// ```
/// use agent_syntax::Lang;
/// use agent_syntax::imports::{JsImportKind, js_imports};
///
/// let src = "import x from 'lodash/fp';\n// require('in-comment')\nconst fs = require('node:fs');\n";
/// let imports = js_imports(Lang::JavaScript, src);
/// let specs: Vec<&str> = imports.iter().map(|i| i.specifier.as_str()).collect();
/// assert_eq!(specs, ["lodash/fp", "node:fs"]);
/// assert_eq!((imports[1].line, imports[1].kind), (3, JsImportKind::Require));
/// ```
pub fn js_imports(lang: Lang, source: &str) -> Vec<JsImport> {
    if !matches!(lang, Lang::JavaScript | Lang::TypeScript | Lang::Tsx) {
        return Vec::new();
    }
    let Some(tree) = lang.parse(source) else { return Vec::new() };
    let mut out = Vec::new();
    for_each_node(&tree, |node| {
        let found = match node.kind() {
            "import_statement" => node.child_by_field_name("source").map(|s| (s, JsImportKind::Static)),
            "export_statement" => node.child_by_field_name("source").map(|s| (s, JsImportKind::ReExport)),
            "import_require_clause" => node.child_by_field_name("source").map(|s| (s, JsImportKind::Require)),
            "call_expression" => {
                let kind = match node.child_by_field_name("function").and_then(|f| text(f, source)) {
                    Some("require") => Some(JsImportKind::Require),
                    Some("import") => Some(JsImportKind::Dynamic),
                    _ => None,
                };
                let args = node.child_by_field_name("arguments");
                let first = args.and_then(|a| {
                    let mut cursor = a.walk();
                    a.named_children(&mut cursor).find(|c| c.kind() != "comment")
                });
                first.zip(kind)
            }
            _ => None,
        };
        if let Some((string, kind)) = found.filter(|(s, _)| s.kind() == "string") {
            if let Some(specifier) = text(string, source) {
                let specifier = specifier.trim_matches(['"', '\'']).to_owned();
                out.push(JsImport { specifier, line: line_of(node), kind });
            }
        }
    });
    out
}

/// What a [`RustImport`] comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RustImportKind {
    /// A path of a `use` declaration.
    Use,
    /// A `mod NAME;` declaration: a module in another file.
    Mod,
}

/// One path a Rust `use` declaration names (a `use a::{b, c}` names two),
/// or one `mod NAME;` declaration.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RustImport {
    /// The path's segments as written (`crate`, `repair`, `Prompt` for
    /// `use crate::repair::Prompt`); a glob ends with `*`; an alias is
    /// dropped. For a `mod NAME;` declaration, the name alone.
    pub path: Vec<String>,
    /// The 1-based line where the declaration starts.
    pub line: u32,
    /// `use` or `mod`.
    pub kind: RustImportKind,
}

/// Every `use` path and every `mod NAME;` declaration (a module whose body
/// is in another file) of a Rust source, in source order. Inline modules
/// (`mod tests { … }`) are not imports; the `use` declarations inside them are.
///
/// ```
/// use agent_syntax::imports::{RustImportKind, rust_imports};
///
/// let src = "mod parse;\nuse crate::parse::{self, Token as T};\nuse std::io::*;\n";
/// let paths: Vec<String> = rust_imports(src).iter().map(|i| i.path.join("::")).collect();
/// assert_eq!(paths, ["parse", "crate::parse::self", "crate::parse::Token", "std::io::*"]);
/// assert_eq!(rust_imports(src)[0].kind, RustImportKind::Mod);
/// ```
pub fn rust_imports(source: &str) -> Vec<RustImport> {
    let Some(tree) = Lang::Rust.parse(source) else { return Vec::new() };
    let mut out = Vec::new();
    for_each_node(&tree, |node| match node.kind() {
        "use_declaration" => {
            if let Some(argument) = node.child_by_field_name("argument") {
                let mut paths = Vec::new();
                use_paths(argument, source, &[], &mut paths, 0);
                let line = line_of(node);
                out.extend(paths.into_iter().map(|path| RustImport { path, line, kind: RustImportKind::Use }));
            }
        }
        "mod_item" if node.child_by_field_name("body").is_none() => {
            if let Some(name) = node.child_by_field_name("name").and_then(|n| text(n, source)) {
                if !name.is_empty() {
                    out.push(RustImport {
                        path: vec![name.to_owned()],
                        line: line_of(node),
                        kind: RustImportKind::Mod,
                    });
                }
            }
        }
        _ => {}
    });
    out
}

/// The segments of a path node (`a::b::c`, `crate`, `super::x`); empty for other nodes.
fn path_segments(node: Node<'_>, source: &str, depth: usize) -> Vec<String> {
    match node.kind() {
        "identifier" | "crate" | "self" | "super" | "metavariable" => {
            text(node, source).filter(|t| !t.is_empty()).map(|t| vec![t.to_owned()]).unwrap_or_default()
        }
        "scoped_identifier" if depth < 64 => {
            let mut segments =
                node.child_by_field_name("path").map(|p| path_segments(p, source, depth + 1)).unwrap_or_default();
            segments.extend(
                node.child_by_field_name("name").map(|n| path_segments(n, source, depth + 1)).unwrap_or_default(),
            );
            segments
        }
        _ => Vec::new(),
    }
}

/// The paths a `use` argument names, each after `prefix`.
fn use_paths(node: Node<'_>, source: &str, prefix: &[String], out: &mut Vec<Vec<String>>, depth: usize) {
    if depth > 64 {
        return;
    }
    let with = |rest: Vec<String>| -> Vec<String> { prefix.iter().cloned().chain(rest).collect() };
    match node.kind() {
        "use_as_clause" => {
            if let Some(path) = node.child_by_field_name("path") {
                use_paths(path, source, prefix, out, depth + 1);
            }
        }
        "use_wildcard" => {
            let mut cursor = node.walk();
            let inner = node.named_children(&mut cursor).find_map(|c| {
                let s = path_segments(c, source, 0);
                (!s.is_empty()).then_some(s)
            });
            let mut path = with(inner.unwrap_or_default());
            path.push("*".to_owned());
            out.push(path);
        }
        "scoped_use_list" => {
            let base = with(node.child_by_field_name("path").map(|p| path_segments(p, source, 0)).unwrap_or_default());
            if let Some(list) = node.child_by_field_name("list") {
                use_paths(list, source, &base, out, depth + 1);
            }
        }
        "use_list" => {
            let mut cursor = node.walk();
            let items: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
            for item in items {
                use_paths(item, source, prefix, out, depth + 1);
            }
        }
        _ => {
            let segments = path_segments(node, source, 0);
            if !segments.is_empty() {
                out.push(with(segments));
            }
        }
    }
}

/// Calls `visit` on every node of `tree` in source order (pre-order),
/// without recursion, so deep nesting cannot overflow the stack.
fn for_each_node<'t>(tree: &'t Tree, mut visit: impl FnMut(Node<'t>)) {
    let mut cursor = tree.walk();
    loop {
        visit(cursor.node());
        if cursor.goto_first_child() {
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return;
            }
        }
    }
}

/// The 1-based line a node starts on.
fn line_of(node: Node<'_>) -> u32 {
    u32::try_from(node.start_position().row).unwrap_or(u32::MAX - 1) + 1
}

/// The source text of a node (`None` only if its range is not in `source`).
fn text<'s>(node: Node<'_>, source: &'s str) -> Option<&'s str> {
    source.get(node.byte_range())
}

/// A dotted name's segments joined by `.` (`os . path` → `os.path`); `None`
/// when it has no segment (a name tree-sitter had to invent).
fn dotted(node: Node<'_>, source: &str) -> Option<String> {
    let segments: Vec<&str> = match node.kind() {
        "identifier" => text(node, source).into_iter().collect(),
        "dotted_name" => {
            let mut cursor = node.walk();
            node.named_children(&mut cursor)
                .filter(|c| c.kind() == "identifier")
                .filter_map(|c| text(c, source))
                .collect()
        }
        _ => return None,
    };
    let segments: Vec<&str> = segments.into_iter().filter(|s| !s.is_empty()).collect();
    (!segments.is_empty()).then(|| segments.join("."))
}

/// The module or name of an import clause item: `a.b` of `a.b` and of `a.b as c`.
fn imported_name(node: Node<'_>, source: &str) -> Option<String> {
    match node.kind() {
        "aliased_import" => dotted(node.child_by_field_name("name")?, source),
        _ => dotted(node, source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn modules(imports: &[Import]) -> Vec<&str> {
        imports.iter().map(|i| i.module.as_str()).collect()
    }

    #[test]
    fn python_imports_carry_the_full_dotted_module_and_the_statement_line() {
        let src = "from __future__ import annotations\nimport os, yaml as y\nimport a.b.c\nfrom requests.adapters import HTTPAdapter\ndef f():\n    import numpy\n";
        let imports = python_imports(src);
        assert_eq!(modules(&imports), ["__future__", "os", "yaml", "a.b.c", "requests.adapters", "numpy"]);
        let lines: Vec<u32> = imports.iter().map(|i| i.line).collect();
        assert_eq!(lines, [1, 2, 2, 3, 4, 6]);
        assert_eq!(imports[0].names, ["annotations"]);
        assert_eq!(imports[3].top_level(), "a");
        assert_eq!(imports[4].names, ["HTTPAdapter"]);
        assert!(imports.iter().all(|i| !i.relative));
    }

    #[test]
    fn python_import_words_inside_strings_and_comments_are_not_imports() {
        let src = "# import os\nx = \"import sys\"\ns = \"\"\"\nfrom pkg.calc import add\nimport calc\n\"\"\"\nimport json  # from yaml import load\n";
        let imports = python_imports(src);
        assert_eq!(modules(&imports), ["json"]);
        assert_eq!(imports[0].line, 7);
        assert!(!imports.iter().any(|i| i.mentions("calc")));
    }

    #[test]
    fn python_parenthesised_from_import_over_several_lines_lists_every_name() {
        let src = "from pkg.calc import (\n    add,  # the sum\n    sub as minus,\n    mul\n)\nimport os\n";
        let imports = python_imports(src);
        assert_eq!(modules(&imports), ["pkg.calc", "os"]);
        assert_eq!(imports[0].names, ["add", "sub", "mul"]);
        assert_eq!((imports[0].line, imports[1].line), (1, 6));
    }

    #[test]
    fn python_relative_imports_are_marked_with_the_module_after_the_dots() {
        let src = "from . import sibling\nfrom ..pkg.calc import add\nfrom .x import *\nfrom x import y\n";
        let imports = python_imports(src);
        assert_eq!(modules(&imports), ["", "pkg.calc", "x", "x"]);
        let relative: Vec<bool> = imports.iter().map(|i| i.relative).collect();
        assert_eq!(relative, [true, true, true, false]);
        assert_eq!(imports[0].names, ["sibling"]);
        assert_eq!(imports[0].top_level(), "");
        assert_eq!(imports[2].names, ["*"]);
    }

    #[test]
    fn python_aliased_imports_give_the_imported_name_not_the_alias() {
        let src = "import numpy as np\nimport a.b as ab, os\nfrom pkg import calc as c, util\n";
        let imports = python_imports(src);
        assert_eq!(modules(&imports), ["numpy", "a.b", "os", "pkg"]);
        assert_eq!(imports[3].names, ["calc", "util"]);
        assert!(!imports.iter().any(|i| i.mentions("np") || i.mentions("ab") || i.mentions("c")));
    }

    #[test]
    fn python_dotted_names_written_with_spaces_are_joined_without_them() {
        let imports = python_imports("import os . path\nfrom a .b import c\n");
        assert_eq!(modules(&imports), ["os.path", "a.b"]);
    }

    #[test]
    fn python_imports_after_a_syntax_error_are_still_found() {
        let imports = python_imports("def f(:\n    pass\n\nimport json\n");
        assert_eq!(modules(&imports), ["json"]);
        assert_eq!(imports[0].line, 4);
    }

    #[test]
    fn an_import_mentions_a_module_segment_or_an_imported_name() {
        for src in ["import pkg.calc", "from pkg.calc import add", "from pkg import calc", "from .calc import add"] {
            let imports = python_imports(src);
            assert!(imports.iter().any(|i| i.mentions("calc")), "{src}");
        }
        for src in ["import pkg.calculator", "from pkg import calculate as calc", "import calc_utils"] {
            let imports = python_imports(src);
            assert!(!imports.iter().any(|i| i.mentions("calc")), "{src}");
        }
    }

    #[test]
    fn js_imports_find_static_dynamic_require_and_reexports() {
        let src = "import x from 'lodash/fp';\nimport '@scope/pkg/sub';\nconst fs = require(\"node:fs\");\nexport { a } from './local';\nconst m = await import('chalk');\n// require('in-comment')\n";
        let imports = js_imports(Lang::JavaScript, src);
        let specs: Vec<&str> = imports.iter().map(|i| i.specifier.as_str()).collect();
        assert_eq!(specs, ["lodash/fp", "@scope/pkg/sub", "node:fs", "./local", "chalk"]);
        let kinds: Vec<JsImportKind> = imports.iter().map(|i| i.kind).collect();
        use JsImportKind::*;
        assert_eq!(kinds, [Static, Static, Require, ReExport, Dynamic]);
        let lines: Vec<u32> = imports.iter().map(|i| i.line).collect();
        assert_eq!(lines, [1, 2, 3, 4, 5]);
    }

    #[test]
    fn js_import_words_inside_strings_and_comments_are_not_imports() {
        let src =
            "const s = \"require('x')\";\n/* import y from 'y' */\nconst t = `import z from 'z'`;\nrequire(name);\n";
        assert_eq!(js_imports(Lang::JavaScript, src), []);
    }

    #[test]
    fn typescript_import_equals_require_and_type_imports_are_found() {
        let src = "import fs = require('fs');\nimport type { T } from \"./types\";\nexport * from 'pkg';\n";
        for lang in [Lang::TypeScript, Lang::Tsx] {
            let imports = js_imports(lang, src);
            let found: Vec<(&str, JsImportKind)> = imports.iter().map(|i| (i.specifier.as_str(), i.kind)).collect();
            assert_eq!(
                found,
                [("fs", JsImportKind::Require), ("./types", JsImportKind::Static), ("pkg", JsImportKind::ReExport)]
            );
        }
    }

    #[test]
    fn js_imports_of_a_language_without_js_syntax_are_empty() {
        assert_eq!(js_imports(Lang::Python, "import x from 'y'\n"), []);
        assert_eq!(js_imports(Lang::Go, "import \"fmt\"\n"), []);
    }

    #[test]
    fn rust_use_trees_are_flattened_into_paths_without_aliases() {
        let src = "use a::b::C;\nuse a::{b, c::D, self};\nuse a::b as c;\nuse a::*;\nuse super::super::y;\nuse ::std::z;\npub(crate) use self::m::{n::{o, r as s}, *};\n// use in::comment;\nfn f() {\n    use inner::Thing;\n}\n";
        let paths: Vec<String> = rust_imports(src).iter().map(|i| i.path.join("::")).collect();
        assert_eq!(
            paths,
            [
                "a::b::C",
                "a::b",
                "a::c::D",
                "a::self",
                "a::b",
                "a::*",
                "super::super::y",
                "std::z",
                "self::m::n::o",
                "self::m::n::r",
                "self::m::*",
                "inner::Thing",
            ]
        );
        let lines: Vec<u32> = rust_imports(src).iter().map(|i| i.line).collect();
        assert_eq!(lines, [1, 2, 2, 2, 3, 4, 5, 6, 7, 7, 7, 10]);
    }

    #[test]
    fn rust_out_of_line_modules_are_imports_and_inline_ones_are_not() {
        let src = "mod parse;\npub mod eval;\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n";
        let found: Vec<(String, RustImportKind, u32)> =
            rust_imports(src).into_iter().map(|i| (i.path.join("::"), i.kind, i.line)).collect();
        assert_eq!(
            found,
            [
                ("parse".to_owned(), RustImportKind::Mod, 1),
                ("eval".to_owned(), RustImportKind::Mod, 2),
                ("super::*".to_owned(), RustImportKind::Use, 5),
            ]
        );
    }

    /// Fragments of import syntax, to build sources that stress error recovery.
    fn import_soup() -> impl Strategy<Value = String> {
        let token = prop::sample::select(vec![
            "import", "from", "as", "export", "require", "(", ")", "'m'", "\"m\"", ".", "..", ",", "*", "\n", " ",
            "    ", "a", "b.c", "#", "//", "/*", "*/", "\"\"\"", "`", "${", "}", "{", "=", ";", "\\", "é", "\u{0}",
        ]);
        prop::collection::vec(token, 0..64).prop_map(|tokens| tokens.concat())
    }

    proptest! {
        #[test]
        fn extractors_never_panic_on_arbitrary_input(source in any::<String>()) {
            let _ = python_imports(&source);
            for lang in [Lang::JavaScript, Lang::TypeScript, Lang::Tsx] {
                let _ = js_imports(lang, &source);
            }
            for import in rust_imports(&source) {
                prop_assert!(!import.path.is_empty() && import.line >= 1);
            }
        }

        #[test]
        fn extractors_never_panic_on_broken_import_syntax(source in import_soup()) {
            for import in python_imports(&source) {
                prop_assert!(import.relative || !import.module.is_empty());
                prop_assert!(import.line >= 1);
            }
            for lang in [Lang::JavaScript, Lang::TypeScript, Lang::Tsx] {
                for import in js_imports(lang, &source) {
                    prop_assert!(import.line >= 1);
                }
            }
        }
    }
}
