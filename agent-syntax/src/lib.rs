//! `agent-syntax`: source languages parsed with tree-sitter, and the helpers
//! that the mutation engine and the repair-context builder share.
//!
//! ```
//! use agent_syntax::Lang;
//!
//! assert_eq!(Lang::from_path("src/lib.rs".as_ref()), Some(Lang::Rust));
//! assert_eq!(Lang::from_path("app/util.test.ts".as_ref()), Some(Lang::TypeScript));
//! let tree = Lang::Python.parse("def f():\n    return 1\n").unwrap();
//! assert_eq!(tree.root_node().kind(), "module");
//! ```

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A language with a tree-sitter grammar in this crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// `.rs`
    Rust,
    /// `.py`, `.pyi`
    Python,
    /// `.js`, `.mjs`, `.cjs`, `.jsx`
    JavaScript,
    /// `.ts`, `.mts`, `.cts`
    TypeScript,
    /// `.tsx`
    Tsx,
    /// `.go`
    Go,
}

impl Lang {
    /// The language of a file, from its extension.
    pub fn from_path(path: &Path) -> Option<Lang> {
        let ext = path.extension()?.to_str()?;
        Some(match ext {
            "rs" => Lang::Rust,
            "py" | "pyi" => Lang::Python,
            "js" | "mjs" | "cjs" | "jsx" => Lang::JavaScript,
            "ts" | "mts" | "cts" => Lang::TypeScript,
            "tsx" => Lang::Tsx,
            "go" => Lang::Go,
            _ => return None,
        })
    }

    /// The stable lower-case name (`rust`, `python`, `javascript`, `typescript`, `tsx`, `go`).
    pub fn name(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::JavaScript => "javascript",
            Lang::TypeScript => "typescript",
            Lang::Tsx => "tsx",
            Lang::Go => "go",
        }
    }

    /// The tree-sitter grammar.
    pub fn grammar(self) -> tree_sitter::Language {
        match self {
            Lang::Rust => tree_sitter_rust::LANGUAGE.into(),
            Lang::Python => tree_sitter_python::LANGUAGE.into(),
            Lang::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Lang::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Lang::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Lang::Go => tree_sitter_go::LANGUAGE.into(),
        }
    }

    /// Parses `source`. `None` only when the grammar could not be loaded
    /// (an ABI mismatch); syntax errors give a tree with `ERROR` nodes.
    pub fn parse(self, source: &str) -> Option<tree_sitter::Tree> {
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&self.grammar()).ok()?;
        parser.parse(source, None)
    }

    /// Whether a node kind is a string literal or a comment of this
    /// language: no mutant may land inside one.
    pub fn is_string_or_comment(self, kind: &str) -> bool {
        matches!(
            kind,
            "comment"
                | "line_comment"
                | "block_comment"
                | "doc_comment"
                | "string"
                | "string_literal"
                | "raw_string_literal"
                | "char_literal"
                | "string_content"
                | "template_string"
                | "interpreted_string_literal"
                | "raw_string_literal_content"
                | "rune_literal"
                | "concatenated_string"
                | "regex"
        )
    }

    /// Node kinds that are function-like definitions in this language.
    pub fn function_kinds(self) -> &'static [&'static str] {
        match self {
            Lang::Rust => &["function_item"],
            Lang::Python => &["function_definition"],
            Lang::JavaScript | Lang::TypeScript | Lang::Tsx => &[
                "function_declaration",
                "method_definition",
                "arrow_function",
                "function_expression",
                "generator_function_declaration",
            ],
            Lang::Go => &["function_declaration", "method_declaration", "func_literal"],
        }
    }
}

/// The 1-based line range (inclusive) of the innermost function that
/// encloses 1-based `line`, when the file's language has a grammar here.
///
/// ```
/// use agent_syntax::enclosing_function;
///
/// let src = "fn a() {}\n\nfn b(x: u32) -> u32 {\n    let y = x + 1;\n    y * 2\n}\n";
/// assert_eq!(enclosing_function("lib.rs".as_ref(), src, 4), Some((3, 6)));
/// assert_eq!(enclosing_function("lib.rs".as_ref(), src, 2), None);
/// ```
pub fn enclosing_function(path: &Path, source: &str, line: u32) -> Option<(u32, u32)> {
    let lang = Lang::from_path(path)?;
    let tree = lang.parse(source)?;
    let row = (line as usize).checked_sub(1)?;
    let point = tree_sitter::Point { row, column: 0 };
    let line_end = tree_sitter::Point { row, column: usize::MAX };
    let mut node = tree.root_node().descendant_for_point_range(point, line_end)?;
    loop {
        if lang.function_kinds().contains(&node.kind()) {
            return Some((node.start_position().row as u32 + 1, node.end_position().row as u32 + 1));
        }
        node = node.parent()?;
    }
}
