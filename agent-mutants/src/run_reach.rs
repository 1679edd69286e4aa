//! Which tests can reach a mutated file, for test selection.
//!
//! - Go: a mutant of package `P` runs the tests of `P` and of every package
//!   of the module that imports `P`, directly or through other packages of
//!   the module, and of every package whose test files import one of those
//!   (an external `_test` package included). The imports are read from
//!   the files' syntax trees and resolved against the module path in
//!   `go.mod`; imports of other modules and the standard library do not
//!   matter here.
//! - Python: a mutant of module `M` runs the test files that import `M`, or
//!   import a module of the project that imports `M`, directly or through
//!   more such modules. A name is resolved loosely, by the module's file
//!   stem (`pkg/calc.py` is `calc`, `pkg/__init__.py` is `pkg`), so a
//!   selection can hold a test too many, never one too few for an import
//!   it can see.

use agent_syntax::Lang;
use agent_syntax::imports::Import;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The packages of a Go module and the module's packages each one imports.
#[derive(Clone, Debug, Default)]
pub(crate) struct GoPackages {
    /// Per package directory (relative, `""` for the module root): the
    /// module's package directories its non-test files import.
    imports: BTreeMap<String, BTreeSet<String>>,
    /// Per package directory: the module's package directories its test
    /// files (`_test.go`, both the package's own and its `_test` package) import.
    test_imports: BTreeMap<String, BTreeSet<String>>,
}

impl GoPackages {
    /// Reads the imports of the Go `files` (relative to `root`, test files
    /// included) and resolves them against the module path of `root/go.mod`.
    /// Without a readable module path no import resolves (each package is
    /// then reached by its own tests only). Unreadable files are left out.
    pub(crate) fn index(root: &Path, files: &[String]) -> Self {
        let module = std::fs::read_to_string(root.join("go.mod")).ok().and_then(|text| go_module_path(&text));
        let mut out = Self::default();
        for file in files.iter().filter(|f| f.ends_with(".go")) {
            let dir = file.rsplit_once('/').map_or("", |(d, _)| d).to_owned();
            let is_test = file.ends_with("_test.go");
            let imported: BTreeSet<String> = match (&module, std::fs::read_to_string(root.join(file))) {
                (Some(module), Ok(text)) => {
                    go_imports(&text).iter().filter_map(|path| module_dir(module, path)).collect()
                }
                _ => BTreeSet::new(),
            };
            let (mine, other) = if is_test {
                (&mut out.test_imports, &mut out.imports)
            } else {
                (&mut out.imports, &mut out.test_imports)
            };
            mine.entry(dir.clone()).or_default().extend(imported);
            other.entry(dir).or_default();
        }
        out
    }

    /// The package directories whose tests can reach the package in `dir`:
    /// itself, every package that imports it (transitively), and every
    /// package whose tests import one of those. Sorted.
    pub(crate) fn reaching(&self, dir: &str) -> BTreeSet<String> {
        let mut reach: BTreeSet<String> = std::iter::once(dir.to_owned()).collect();
        loop {
            let more: Vec<String> = self
                .imports
                .iter()
                .filter(|(pkg, deps)| !reach.contains(*pkg) && deps.iter().any(|d| reach.contains(d)))
                .map(|(pkg, _)| pkg.clone())
                .collect();
            if more.is_empty() {
                break;
            }
            reach.extend(more);
        }
        let tested: Vec<String> = self
            .test_imports
            .iter()
            .filter(|(_, deps)| deps.iter().any(|d| reach.contains(d)))
            .map(|(pkg, _)| pkg.clone())
            .collect();
        reach.extend(tested);
        reach
    }
}

/// The module path of a `go.mod` (`module example.com/x`, quoted or not).
fn go_module_path(go_mod: &str) -> Option<String> {
    go_mod.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("module")?;
        if !rest.starts_with([' ', '\t', '"']) {
            return None;
        }
        let path = rest.split("//").next().unwrap_or_default().trim().trim_matches(['"', '`']);
        (!path.is_empty()).then(|| path.to_owned())
    })
}

/// The directory (relative to the module root) of an import path in `module`.
fn module_dir(module: &str, path: &str) -> Option<String> {
    if path == module {
        return Some(String::new());
    }
    path.strip_prefix(module)?.strip_prefix('/').map(str::to_owned)
}

/// The import paths of a Go source, from its syntax tree.
fn go_imports(source: &str) -> Vec<String> {
    let Some(tree) = Lang::Go.parse(source) else { return Vec::new() };
    let mut out = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.kind() == "import_spec" {
            if let Some(path) = node.child_by_field_name("path") {
                let text = path.utf8_text(source.as_bytes()).unwrap_or_default();
                out.push(text.trim_matches(['"', '`']).to_owned());
            }
            continue;
        }
        // Imports sit at the top of a file: no need to descend into declarations.
        if matches!(node.kind(), "source_file" | "import_declaration" | "import_spec_list") {
            let mut cursor = node.walk();
            let children: Vec<_> = node.named_children(&mut cursor).collect();
            // Reversed onto the stack, so the imports come out in source order.
            stack.extend(children.into_iter().rev());
        }
    }
    out
}

/// The test files (of `tests`) whose imports reach the Python module
/// `file`, directly or through the project's other `modules` (non-test
/// files with their imports); `stem` gives a file's module name. In the
/// order of `tests`.
pub(crate) fn python_reaching<'a>(
    file: &str,
    modules: &[(String, Vec<Import>)],
    tests: &'a [(String, Vec<Import>)],
    stem: impl Fn(&str) -> String,
) -> Vec<&'a str> {
    let mut names: BTreeSet<String> = std::iter::once(stem(file)).collect();
    let mut reached: BTreeSet<&str> = std::iter::once(file).collect();
    loop {
        let more: Vec<&str> = modules
            .iter()
            .filter(|(m, imports)| {
                !reached.contains(m.as_str()) && imports.iter().any(|i| names.iter().any(|n| i.mentions(n)))
            })
            .map(|(m, _)| m.as_str())
            .collect();
        if more.is_empty() {
            break;
        }
        for m in more {
            reached.insert(m);
            names.insert(stem(m));
        }
    }
    tests
        .iter()
        .filter(|(_, imports)| imports.iter().any(|i| names.iter().any(|n| i.mentions(n))))
        .map(|(f, _)| f.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_syntax::imports::python_imports;

    #[test]
    fn go_module_path_reads_plain_and_quoted_forms() {
        assert_eq!(
            go_module_path("// c\nmodule example.com/x // trailing\n\ngo 1.19\n").as_deref(),
            Some("example.com/x")
        );
        assert_eq!(go_module_path("module \"example.com/q\"\n").as_deref(), Some("example.com/q"));
        assert_eq!(go_module_path("modules x\n"), None);
        assert_eq!(go_module_path("go 1.19\n"), None);
    }

    #[test]
    fn go_imports_reads_single_grouped_aliased_and_raw_imports() {
        let src = "package a\n\nimport \"fmt\"\nimport (\n\tm \"example.com/x/money\"\n\t_ `example.com/x/raw`\n\t// \"example.com/x/comment\"\n)\n\nfunc f() { s := \"example.com/x/str\"; _ = s }\n";
        assert_eq!(go_imports(src), ["fmt", "example.com/x/money", "example.com/x/raw"]);
    }

    #[test]
    fn go_reaching_follows_importers_transitively_and_their_tests() {
        let root = tempfile::tempdir().unwrap();
        let files = [
            ("go.mod", "module example.com/x\n\ngo 1.19\n"),
            ("money/money.go", "package money\n"),
            ("cart/cart.go", "package cart\n\nimport \"example.com/x/money\"\n"),
            ("cmd/app/main.go", "package main\n\nimport \"example.com/x/cart\"\n"),
            ("report/report_test.go", "package report_test\n\nimport \"example.com/x/money\"\n"),
            ("other/other.go", "package other\n\nimport \"example.com/y/money\"\n"),
            ("root.go", "package x\n"),
            ("root_test.go", "package x_test\n\nimport \"example.com/x\"\n"),
        ];
        for (f, text) in files {
            let path = root.path().join(f);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let go: Vec<String> = files.iter().map(|(f, _)| (*f).to_owned()).filter(|f| f.ends_with(".go")).collect();
        let packages = GoPackages::index(root.path(), &go);
        let reach: Vec<String> = packages.reaching("money").into_iter().collect();
        assert_eq!(reach, ["cart", "cmd/app", "money", "report"]);
        assert_eq!(packages.reaching("cmd/app").into_iter().collect::<Vec<_>>(), ["cmd/app"]);
        assert_eq!(packages.reaching("").into_iter().collect::<Vec<_>>(), [""]);
    }

    #[test]
    fn python_reaching_follows_modules_that_import_the_module() {
        let stem = |f: &str| Path::new(f).file_stem().unwrap().to_str().unwrap().to_owned();
        let module = |f: &str, src: &str| (f.to_owned(), python_imports(src));
        let modules = vec![
            module("shop/pricing.py", ""),
            module("shop/cart.py", "from shop.pricing import discounted\n"),
            module("shop/receipt.py", "from . import cart\n"),
            module("shop/unrelated.py", "import os.path\n"),
        ];
        let tests = vec![
            module("tests/test_receipt.py", "from shop.receipt import line\n"),
            module("tests/test_unrelated.py", "from shop.unrelated import x\n"),
            module("tests/test_pricing.py", "import shop.pricing\n"),
        ];
        assert_eq!(
            python_reaching("shop/pricing.py", &modules, &tests, stem),
            ["tests/test_receipt.py", "tests/test_pricing.py"]
        );
        assert_eq!(python_reaching("shop/receipt.py", &modules, &tests, stem), ["tests/test_receipt.py"]);
    }
}
