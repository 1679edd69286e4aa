//! [`RepoMap`] on small real trees (Rust, Python, Go, JavaScript/TypeScript)
//! written to temporary directories: ranking toward the focus, the token
//! budget, determinism, relative paths, and nothing read outside the root.

use agent_classify::{RepoMap, count_tokens};
use agent_core::context::RepoMapper;
use std::path::{Path, PathBuf};

/// Writes `files` (`path`, `content`) under `root`, creating directories.
fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
}

fn map(root: &Path, focus: &[&str], budget: usize) -> String {
    let focus: Vec<PathBuf> = focus.iter().map(PathBuf::from).collect();
    RepoMap::new().map(root, &focus, budget)
}

const RUST: &[(&str, &str)] = &[
    ("Cargo.toml", "[workspace]\nmembers = [\"calc\"]\n"),
    ("calc/Cargo.toml", "[package]\nname = \"calc\"\n"),
    (
        "calc/src/lib.rs",
        "pub mod parse;\nmod eval;\npub use eval::run;\n\npub fn version() -> &'static str {\n    \"1\"\n}\n",
    ),
    (
        "calc/src/parse.rs",
        "use crate::eval::Value;\n\npub struct Token;\n\npub fn tokenize(s: &str) -> Vec<Token> {\n    let _ = s;\n    Vec::new()\n}\n",
    ),
    (
        "calc/src/eval.rs",
        "pub enum Value {\n    Int(i64),\n}\n\nimpl Value {\n    pub fn as_int(&self) -> i64 {\n        0\n    }\n}\n\npub fn run() {}\n",
    ),
    ("calc/tests/cli.rs", "use calc::parse::tokenize;\n\n#[test]\nfn tokenizes() {\n    tokenize(\"1\");\n}\n"),
    ("calc/target/debug/build.rs", "fn built() {}\n"),
    ("calc/.cache/x.rs", "fn hidden() {}\n"),
    (".gitignore", "generated/\n"),
    ("generated/big.rs", "fn generated() {}\n"),
];

#[test]
fn rust_focus_comes_first_then_its_mod_and_use_links_then_the_rest_by_depth() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), RUST);
    let text = map(dir.path(), &["calc/src/eval.rs"], 10_000);
    #[cfg(feature = "syntax")]
    assert_eq!(
        text,
        "calc/src/eval.rs:\n  enum Value (1)\n  method Value::as_int (6)\n  function run (11)\n\
         calc/src/lib.rs:\n  module parse (1)\n  module eval (2)\n  function version (5)\n\
         calc/src/parse.rs:\n  struct Token (3)\n  function tokenize (5)\n\
         Cargo.toml\n\
         calc/Cargo.toml\n\
         calc/tests/cli.rs:\n  function tokenizes (4)\n"
    );
    #[cfg(not(feature = "syntax"))]
    assert_eq!(
        text,
        "calc/src/eval.rs\nCargo.toml\ncalc/Cargo.toml\ncalc/src/lib.rs\ncalc/src/parse.rs\ncalc/tests/cli.rs\n"
    );
    // Ignored, hidden and build directories are not listed.
    for absent in ["target", ".cache", "generated", ".gitignore"] {
        assert!(!text.contains(absent), "{absent}: {text}");
    }
}

#[cfg(feature = "syntax")]
#[test]
fn a_rust_test_importing_the_crate_by_name_is_related_to_the_module_it_uses() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), RUST);
    let text = map(dir.path(), &["calc/src/parse.rs"], 10_000);
    let order: Vec<&str> = text.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(
        order,
        [
            "calc/src/parse.rs:",
            "calc/src/eval.rs:",
            "calc/src/lib.rs:",
            "calc/tests/cli.rs:",
            "Cargo.toml",
            "calc/Cargo.toml"
        ]
    );
}

const PYTHON: &[(&str, &str)] = &[
    ("setup.py", "from setuptools import setup\n\nsetup(name=\"pkg\")\n"),
    ("app.py", "import os\n\n\ndef main():\n    pass\n"),
    ("pkg/__init__.py", ""),
    (
        "pkg/calc.py",
        "LIMIT = 10\n\n\nclass Calculator:\n    def add(self, a, b):\n        return a + b\n\n\ndef parse(text):\n    return int(text)\n",
    ),
    ("pkg/util.py", "from .calc import parse\n\n\ndef helper():\n    return parse(\"1\")\n"),
    (
        "tests/test_calc.py",
        "from pkg.calc import Calculator\n\n\ndef test_add():\n    assert Calculator().add(1, 2) == 3\n",
    ),
    (".venv/lib/site.py", "def venv(): pass\n"),
    ("venv/lib/site.py", "def venv(): pass\n"),
    ("pkg/__pycache__/calc.cpython-311.pyc", "\0\0"),
];

#[test]
fn python_focus_comes_first_then_the_files_importing_it() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), PYTHON);
    let text = map(dir.path(), &["pkg/calc.py"], 10_000);
    #[cfg(feature = "syntax")]
    assert_eq!(
        text,
        "pkg/calc.py:\n  const LIMIT (1)\n  class Calculator (4)\n  method Calculator.add (5)\n  function parse (9)\n\
         pkg/util.py:\n  function helper (4)\n\
         tests/test_calc.py:\n  function test_add (4)\n\
         app.py:\n  function main (4)\n\
         setup.py\n\
         pkg/__init__.py\n"
    );
    #[cfg(not(feature = "syntax"))]
    assert_eq!(text, "pkg/calc.py\napp.py\nsetup.py\npkg/__init__.py\npkg/util.py\ntests/test_calc.py\n");
    assert!(!text.contains("venv") && !text.contains("__pycache__"), "{text}");
}

const GO: &[(&str, &str)] = &[
    ("go.mod", "module example.com/m\n\ngo 1.21\n"),
    ("main.go", "package main\n\nfunc main() {}\n"),
    (
        "calc/calc.go",
        "package calc\n\ntype Calculator struct{}\n\nfunc (c *Calculator) Reset() {}\n\nfunc Add(a, b int) int { return a + b }\n",
    ),
    ("calc/calc_test.go", "package calc\n\nimport \"testing\"\n\nfunc TestAdd(t *testing.T) {}\n"),
    ("calc/extra.go", "package calc\n\nconst Max = 10\n"),
    ("internal/x/x.go", "package x\n\nfunc X() {}\n"),
    ("vendor/github.com/foo/foo.go", "package foo\n\nfunc Foo() {}\n"),
];

#[test]
fn go_focus_comes_first_then_its_package() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), GO);
    let text = map(dir.path(), &["calc/calc.go"], 10_000);
    #[cfg(feature = "syntax")]
    assert_eq!(
        text,
        "calc/calc.go:\n  struct Calculator (3)\n  method Calculator.Reset (5)\n  function Add (7)\n\
         calc/calc_test.go:\n  function TestAdd (5)\n\
         calc/extra.go:\n  const Max (3)\n\
         go.mod\n\
         main.go:\n  function main (3)\n\
         internal/x/x.go:\n  function X (3)\n"
    );
    #[cfg(not(feature = "syntax"))]
    assert_eq!(text, "calc/calc.go\ncalc/calc_test.go\ncalc/extra.go\ngo.mod\nmain.go\ninternal/x/x.go\n");
    assert!(!text.contains("vendor"), "{text}");
}

const JS: &[(&str, &str)] = &[
    ("package.json", "{\"name\": \"demo\"}\n"),
    (
        "src/math.js",
        "export function add(a, b) {\n  return a + b;\n}\n\nexport const PI = 3.14;\n\nexport class Vec {\n  norm() {\n    return 0;\n  }\n}\n",
    ),
    ("src/index.js", "import { add } from './math.js';\n\nexport function main() {\n  return add(1, 2);\n}\n"),
    ("src/types.ts", "export interface Shape {\n  area(): number;\n}\n\nexport type Id = string;\n"),
    ("src/app.tsx", "import { add } from './math';\n\nexport function App() {\n  return <div>{add(1, 2)}</div>;\n}\n"),
    ("test/math.test.js", "const { add } = require('../src/math');\n\ntest('adds', () => {\n  add(1, 2);\n});\n"),
    ("node_modules/lib/index.js", "export function dep() {}\n"),
    ("dist/bundle.js", "function bundled() {}\n"),
];

#[test]
fn javascript_focus_comes_first_then_the_files_importing_it() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), JS);
    let text = map(dir.path(), &["src/math.js"], 10_000);
    #[cfg(feature = "syntax")]
    assert_eq!(
        text,
        "src/math.js:\n  function add (1)\n  const PI (5)\n  class Vec (7)\n  method Vec.norm (8)\n\
         src/app.tsx:\n  function App (3)\n\
         src/index.js:\n  function main (3)\n\
         test/math.test.js\n\
         package.json\n\
         src/types.ts:\n  interface Shape (1)\n  type Id (5)\n"
    );
    #[cfg(not(feature = "syntax"))]
    assert_eq!(text, "src/math.js\npackage.json\nsrc/app.tsx\nsrc/index.js\nsrc/types.ts\ntest/math.test.js\n");
    assert!(!text.contains("node_modules") && !text.contains("dist"), "{text}");
}

#[test]
fn without_focus_files_are_ordered_by_depth_then_path() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), GO);
    let text = map(dir.path(), &[], 10_000);
    let order: Vec<&str> = text.lines().filter(|l| !l.starts_with(' ')).map(|l| l.trim_end_matches(':')).collect();
    assert_eq!(order, ["go.mod", "main.go", "calc/calc.go", "calc/calc_test.go", "calc/extra.go", "internal/x/x.go"]);
}

#[test]
fn the_budget_is_respected_and_what_is_left_out_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), PYTHON);
    let full = map(dir.path(), &["pkg/calc.py"], 10_000);
    assert!(!full.contains("left out"), "{full}");
    let full_cost = count_tokens(&full);
    let mut previous_blocks = 0;
    for budget in 0..=full_cost + 5 {
        let text = map(dir.path(), &["pkg/calc.py"], budget);
        assert!(count_tokens(&text) <= budget, "{budget}: {text}");
        if budget >= full_cost {
            assert_eq!(text, full, "{budget}");
        }
        if let Some(first) = text.lines().next().filter(|l| !l.starts_with("(left out")) {
            // Whatever fits, the focus file comes first.
            assert!(first.starts_with("pkg/calc.py"), "{budget}: {text}");
        }
        if text.lines().count() > 0 && text != full {
            assert!(
                text.ends_with(")\n") && text.lines().last().unwrap().starts_with("(left out: "),
                "{budget}: {text}"
            );
        }
        // Blocks with symbols come first, in rank order; more budget never shows fewer.
        let heads: Vec<&str> = text.lines().filter(|l| !l.starts_with(' ') && !l.starts_with("(left out")).collect();
        let blocks = heads.iter().take_while(|l| l.ends_with(':')).count();
        assert!(heads[blocks..].iter().all(|l| !l.ends_with(':')), "{budget}: {text}");
        assert!(blocks >= previous_blocks, "{budget}: {text}");
        previous_blocks = blocks;
    }
    // Some budgets fit blocks and paths but not every block: those files are paths, their symbols counted.
    #[cfg(feature = "syntax")]
    assert!(
        (0..full_cost).any(|budget| {
            let text = map(dir.path(), &["pkg/calc.py"], budget);
            text.starts_with("pkg/calc.py:\n")
                && text.contains("\ntests/test_calc.py\n")
                && text.contains(" symbols)\n")
        }),
        "no budget shows the focus block with a file reduced to its path"
    );
}

#[test]
fn the_walk_and_the_symbols_per_file_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), GO);
    let focus = [PathBuf::from("calc/calc.go")];
    let text = RepoMap::new().with_max_files(2).map(dir.path(), &focus, 10_000);
    // The walk keeps the two shallowest files; the focus file is listed anyway.
    assert!(text.starts_with("calc/calc.go"), "{text}");
    assert!(text.ends_with("(left out: 0 files and any beyond the first 2)\n"), "{text}");
    assert_eq!(text.lines().filter(|l| !l.starts_with(' ')).count(), 4, "{text}");
    #[cfg(feature = "syntax")]
    {
        let text = RepoMap::new().with_max_symbols_per_file(1).map(dir.path(), &focus, 10_000);
        assert!(text.starts_with("calc/calc.go:\n  struct Calculator (3)\n  … 2 more\n"), "{text}");
        assert!(text.ends_with("(left out: 2 symbols)\n"), "{text}");
    }
}

#[test]
fn the_map_is_deterministic_and_independent_of_where_and_in_which_order_the_tree_was_written() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    write_tree(a.path(), JS);
    let reversed: Vec<(&str, &str)> = JS.iter().rev().copied().collect();
    write_tree(b.path(), &reversed);
    for budget in [0, 20, 60, 10_000] {
        let first = map(a.path(), &["src/math.js", "src/types.ts"], budget);
        assert_eq!(first, map(a.path(), &["src/math.js", "src/types.ts"], budget));
        assert_eq!(first, map(b.path(), &["src/math.js", "src/types.ts"], budget));
        assert!(!first.contains(&a.path().display().to_string()));
    }
}

#[test]
fn paths_are_relative_and_nothing_outside_the_root_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ws");
    let outside = dir.path().join("outside");
    write_tree(&root, PYTHON);
    write_tree(&outside, &[("secret.py", "def outside_secret_symbol():\n    pass\n")]);
    std::os::unix::fs::symlink(outside.join("secret.py"), root.join("pkg/leak.py")).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("linked")).unwrap();
    let focus = [
        PathBuf::from("../outside/secret.py"),
        outside.join("secret.py"),
        PathBuf::from("pkg/leak.py"),
        PathBuf::from("linked/secret.py"),
        PathBuf::from("/etc/passwd"),
        root.join("pkg/calc.py"),
    ];
    let text = RepoMap::new().map(&root, &focus, 10_000);
    assert!(!text.contains("outside_secret_symbol"), "{text}");
    assert!(!text.contains("secret.py") && !text.contains("leak.py") && !text.contains("passwd"), "{text}");
    assert!(!text.contains(&dir.path().display().to_string()), "{text}");
    assert!(text.lines().all(|l| !l.starts_with('/') && !l.starts_with("..")), "{text}");
    // The absolute focus path inside the root is the focus, shown relative.
    assert!(text.starts_with("pkg/calc.py"), "{text}");
    // A root that does not exist maps to nothing.
    assert_eq!(RepoMap::new().map(&dir.path().join("missing"), &focus, 10_000), "");
}

#[cfg(not(feature = "syntax"))]
#[test]
fn without_the_syntax_feature_the_map_lists_paths_only() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), RUST);
    let text = map(dir.path(), &["calc/src/eval.rs"], 10_000);
    assert!(text.lines().all(|l| !l.starts_with(' ') && !l.ends_with(':')), "{text}");
}
