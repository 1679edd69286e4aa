//! `agent-syntax`: source languages parsed with tree-sitter, and the helpers
//! that the mutation engine, the gates and the repair-context builder share:
//! [`enclosing_function`], the test-file convention of each language
//! ([`is_test_path`]), the imports of a file ([`imports`]) and its
//! top-level symbols ([`symbols`]).
//!
//! ```
//! use agent_syntax::Lang;
//!
//! assert_eq!(Lang::from_path("src/lib.rs".as_ref()), Some(Lang::Rust));
//! assert_eq!(Lang::from_path("app/util.test.ts".as_ref()), Some(Lang::TypeScript));
//! let tree = Lang::Python.parse("def f():\n    return 1\n").unwrap();
//! assert_eq!(tree.root_node().kind(), "module");
//! ```

pub mod imports;
pub mod symbols;

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

    /// Whether `path` (relative to the workspace root, `/`- or
    /// `\`-separated) names a test file of this language by its
    /// conventions, from the path alone (see [`is_test_path`]).
    pub fn is_test_file(self, path: &Path) -> bool {
        let path = path.to_string_lossy().replace('\\', "/");
        let name = path.rsplit('/').next().unwrap_or(&path);
        let in_dir = |dir: &str| path.starts_with(&format!("{dir}/")) || path.contains(&format!("/{dir}/"));
        match self {
            Lang::Rust => in_dir("tests") || name == "tests.rs",
            Lang::Python => {
                let stem = name.strip_suffix(".pyi").or_else(|| name.strip_suffix(".py")).unwrap_or(name);
                stem.starts_with("test_") || stem.ends_with("_test") || stem == "conftest"
            }
            Lang::JavaScript | Lang::TypeScript | Lang::Tsx => {
                name.contains(".test.") || name.contains(".spec.") || in_dir("__tests__")
            }
            Lang::Go => name.ends_with("_test.go"),
        }
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

/// Whether `path` (relative to the workspace root, `/`- or `\`-separated)
/// is a test file, judged by its path alone, its language from its extension:
///
/// - Rust: under a `tests/` directory, or a file named `tests.rs`;
/// - Python: `test_*.py`, `*_test.py`, `conftest.py` (and the `.pyi` stubs);
/// - JavaScript/TypeScript: `*.test.*`, `*.spec.*`, or under `__tests__/`;
/// - Go: `*_test.go`.
///
/// Test code inside a source file (a Rust `#[cfg(test)]` module) is not a
/// test file; a file of no known language never is.
///
/// ```
/// use agent_syntax::is_test_path;
///
/// assert!(is_test_path("tests/cli.rs".as_ref()));
/// assert!(is_test_path("pkg/test_calc.py".as_ref()));
/// assert!(is_test_path("src/__tests__/app.tsx".as_ref()));
/// assert!(is_test_path("calc/calc_test.go".as_ref()));
/// assert!(!is_test_path("src/testing.rs".as_ref()));
/// assert!(!is_test_path("tests/data.json".as_ref()));
/// ```
pub fn is_test_path(path: &Path) -> bool {
    Lang::from_path(path).is_some_and(|lang| lang.is_test_file(path))
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn test_path(path: &str) -> bool {
        is_test_path(Path::new(path))
    }

    #[test]
    fn test_paths_follow_the_convention_of_their_language() {
        for path in [
            "tests/cli.rs",
            "crate/tests/it/main.rs",
            "src/tests.rs",
            "test_calc.py",
            "pkg/calc_test.py",
            "tests/conftest.py",
            "stubs/test_calc.pyi",
            "app.test.js",
            "src/app.spec.ts",
            "src/__tests__/app.tsx",
            "web/__tests__/util.mjs",
            "calc/calc_test.go",
        ] {
            assert!(test_path(path), "{path}");
        }
    }

    #[test]
    fn source_paths_and_unknown_languages_are_not_test_paths() {
        for path in [
            "src/lib.rs",
            "src/testing.rs",
            "src/contests/mod.rs",
            "latest.py",
            "pkg/contest.py",
            "tests.py",
            "src/attest.ts",
            "tests/app.js",
            "calc/testdata.go",
            "tests/fixture.json",
            "test_notes.txt",
            "README",
        ] {
            assert!(!test_path(path), "{path}");
        }
    }

    #[test]
    fn backslash_separated_paths_are_judged_like_slash_separated_ones() {
        assert!(test_path("crate\\tests\\cli.rs"));
        assert!(test_path("src\\__tests__\\app.ts"));
        assert!(test_path("pkg\\test_calc.py"));
        assert!(!test_path("src\\lib.rs"));
    }

    #[test]
    fn the_language_given_decides_the_convention() {
        assert!(Lang::Rust.is_test_file(Path::new("tests/helper")));
        assert!(!Lang::Go.is_test_file(Path::new("tests/helper")));
        assert!(Lang::Python.is_test_file(Path::new("test_calc")));
    }

    proptest! {
        #[test]
        fn is_test_path_never_panics_on_arbitrary_paths(path in any::<String>()) {
            let _ = test_path(&path);
            for lang in [Lang::Rust, Lang::Python, Lang::JavaScript, Lang::TypeScript, Lang::Tsx, Lang::Go] {
                let _ = lang.is_test_file(Path::new(&path));
            }
        }
    }
}
