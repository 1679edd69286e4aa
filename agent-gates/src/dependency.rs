//! [`DependencyGate`]: every import of the changed code resolves to the
//! standard library, the workspace itself or a declared dependency, and the
//! lockfile agrees with the manifest.

use agent_classify::CargoClassifier;
use agent_core::exec::CommandSpec;
use agent_core::failure::FailureKind;
use agent_core::gate::{GateContext, GateError, GateReport};
use agent_core::workspace::WorkspaceProfile;
use agent_core::{Executor, FailureClassifier, Gate, async_trait};
use agent_syntax::Lang;
use agent_syntax::imports::{JsImport, js_imports, python_imports};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Checks the imports of the changed files against what the manifests declare.
///
/// - Python: `import x` / `from x import y` (tree-sitter) against the
///   standard library (`sys.stdlib_module_names` of the workspace's
///   `python3`), modules of the workspace (`x.py`, `x/`, `src/x/`), and the
///   dependencies of `pyproject.toml` (PEP 621, dependency groups, Poetry)
///   and `requirements*.txt`; an import name maps to its distribution through
///   `importlib.metadata.packages_distributions()` where installed, and a
///   table of the usual mismatches (`yaml` → PyYAML) otherwise.
/// - JavaScript/TypeScript: `import … from 'x'`, `export … from 'x'`,
///   `require('x')` and `import('x')` against Node's built-in modules
///   (`node:` or `module.builtinModules`), relative paths, `tsconfig.json`
///   path aliases, the packages of the workspace, and the nearest
///   `package.json`'s dependencies. `package-lock.json` must list every
///   dependency of the root `package.json`.
/// - Rust: `cargo check --locked --message-format=json`, classified; an
///   unresolved import or a missing crate is a finding, and so is a
///   `Cargo.lock` that cargo would have to update.
///
/// Findings make the gate fail; a missing interpreter is an error of the gate
/// (it could not check), not a pass.
///
/// ```no_run
/// use agent_core::Gate;
/// use agent_gates::DependencyGate;
/// use std::sync::Arc;
///
/// # fn demo(executor: Arc<dyn agent_core::Executor>) {
/// let gate: Arc<dyn Gate> = Arc::new(DependencyGate::new(executor));
/// # }
/// ```
#[derive(Clone)]
pub struct DependencyGate {
    executor: Arc<dyn Executor>,
}

impl std::fmt::Debug for DependencyGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DependencyGate").finish_non_exhaustive()
    }
}

/// Import names whose distribution has another name.
const PY_ALIASES: &[(&str, &str)] = &[
    ("yaml", "pyyaml"),
    ("PIL", "pillow"),
    ("cv2", "opencv-python"),
    ("sklearn", "scikit-learn"),
    ("bs4", "beautifulsoup4"),
    ("dateutil", "python-dateutil"),
    ("attr", "attrs"),
    ("jwt", "pyjwt"),
    ("dotenv", "python-dotenv"),
    ("google", "protobuf"),
    ("magic", "python-magic"),
    ("serial", "pyserial"),
    ("usb", "pyusb"),
    ("Crypto", "pycryptodome"),
    ("OpenSSL", "pyopenssl"),
    ("_pytest", "pytest"),
];

/// PEP 503 normalisation: lower case, runs of `-_.` become `-`.
fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut dash = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            dash = true;
        } else {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The distribution name at the start of a requirement (`requests>=2; python_version>"3"` → `requests`).
fn requirement_name(req: &str) -> Option<String> {
    let req = req.trim();
    if req.is_empty() || req.starts_with(['#', '-']) {
        return None;
    }
    let end = req.find(|c: char| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))).unwrap_or(req.len());
    (end > 0).then(|| pep503(&req[..end]))
}

/// Top-level module names imported by a Python source, with their lines
/// (relative imports and `__future__` left out: neither names a distribution).
fn python_top_level_imports(source: &str) -> Vec<(String, u32)> {
    python_imports(source)
        .into_iter()
        .filter(|i| !i.relative && i.module != "__future__")
        .map(|i| (i.top_level().to_owned(), i.line))
        .collect()
}

/// The package a specifier names: `@scope/name/sub` → `@scope/name`, `lodash/fp` → `lodash`.
fn package_of(spec: &str) -> String {
    let mut parts = spec.split('/');
    let first = parts.next().unwrap_or_default();
    if first.starts_with('@') { format!("{first}/{}", parts.next().unwrap_or_default()) } else { first.to_owned() }
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

const JS_DEP_FIELDS: &[&str] = &["dependencies", "devDependencies", "peerDependencies", "optionalDependencies"];

fn js_declared(pkg: &Value) -> BTreeSet<String> {
    JS_DEP_FIELDS.iter().filter_map(|f| pkg.get(f).and_then(Value::as_object)).flat_map(|m| m.keys().cloned()).collect()
}

/// Python distributions the workspace declares, and the files that declare them.
fn python_declared(root: &Path) -> (BTreeSet<String>, Vec<String>) {
    let mut names = BTreeSet::new();
    let mut files = Vec::new();
    if let Some(doc) =
        std::fs::read_to_string(root.join("pyproject.toml")).ok().and_then(|t| t.parse::<toml::Table>().ok())
    {
        files.push("pyproject.toml".to_owned());
        let strs = |v: Option<&toml::Value>| -> Vec<String> {
            v.and_then(toml::Value::as_array)
                .map(|a| a.iter().filter_map(toml::Value::as_str).filter_map(requirement_name).collect())
                .unwrap_or_default()
        };
        let project = doc.get("project");
        names.extend(strs(project.and_then(|p| p.get("dependencies"))));
        for table in [project.and_then(|p| p.get("optional-dependencies")), doc.get("dependency-groups")]
            .into_iter()
            .flatten()
            .filter_map(toml::Value::as_table)
        {
            for v in table.values() {
                names.extend(strs(Some(v)));
            }
        }
        let poetry = doc.get("tool").and_then(|t| t.get("poetry"));
        let mut poetry_tables: Vec<&toml::Value> = poetry.and_then(|p| p.get("dependencies")).into_iter().collect();
        poetry_tables.extend(poetry.and_then(|p| p.get("dev-dependencies")));
        if let Some(groups) = poetry.and_then(|p| p.get("group")).and_then(toml::Value::as_table) {
            poetry_tables.extend(groups.values().filter_map(|g| g.get("dependencies")));
        }
        for t in poetry_tables.into_iter().filter_map(toml::Value::as_table) {
            names.extend(t.keys().filter(|k| *k != "python").map(|k| pep503(k)));
        }
    }
    let mut reqs: Vec<PathBuf> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("requirements") && n.ends_with(".txt"))
        })
        .collect();
    reqs.sort();
    for path in reqs {
        if let Ok(text) = std::fs::read_to_string(&path) {
            names.extend(text.lines().filter_map(requirement_name));
            files.push(path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
        }
    }
    (names, files)
}

/// Whether `name` is a module or package of the workspace itself.
fn python_local(root: &Path, file: &Path, name: &str) -> bool {
    let mut bases = vec![root.to_path_buf(), root.join("src")];
    if let Some(dir) = root.join(file).parent() {
        bases.push(dir.to_path_buf());
    }
    bases.iter().any(|b| b.join(format!("{name}.py")).is_file() || b.join(name).is_dir())
}

const GATE: &str = "dependencies";

fn could_not(reason: String) -> GateError {
    GateError::CouldNotCheck { gate: GATE.to_owned(), reason }
}

fn exec_error(source: agent_core::exec::ExecError) -> GateError {
    GateError::Exec { gate: GATE.to_owned(), source }
}

impl DependencyGate {
    /// A gate that asks the workspace's own `python3`, `node` and `cargo` through `executor`.
    pub fn new(executor: Arc<dyn Executor>) -> Self {
        Self { executor }
    }

    async fn output_of(&self, root: &Path, program: &str, args: &[&str]) -> Result<String, GateError> {
        let spec = CommandSpec::new(program).args(args.iter().copied()).cwd(root).wall_timeout(Duration::from_secs(60));
        let run = self.executor.run(spec).await.map_err(exec_error)?;
        if !run.success() {
            return Err(could_not(format!("`{program}` exited {:?}: {}", run.exit_code, run.stderr.text().trim())));
        }
        Ok(run.stdout.text())
    }

    async fn check_python(&self, root: &Path, files: &[PathBuf], findings: &mut Vec<String>) -> Result<(), GateError> {
        const PROBE: &str = "import sys, json, importlib.metadata as m\nprint(json.dumps({'stdlib': sorted(sys.stdlib_module_names), 'dists': m.packages_distributions()}))";
        let probe: Value = serde_json::from_str(&self.output_of(root, "python3", &["-c", PROBE]).await?)
            .map_err(|e| could_not(format!("python3 probe printed no JSON: {e}")))?;
        let stdlib: BTreeSet<&str> =
            probe["stdlib"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let (declared, manifests) = python_declared(root);
        let manifests = if manifests.is_empty() { "none found".to_owned() } else { manifests.join(", ") };
        for file in files {
            let Ok(source) = std::fs::read_to_string(root.join(file)) else { continue };
            let mut seen = BTreeSet::new();
            for (name, line) in python_top_level_imports(&source) {
                if !seen.insert(name.clone()) || stdlib.contains(name.as_str()) || python_local(root, file, &name) {
                    continue;
                }
                let mut dists: Vec<String> = probe["dists"][&name]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(pep503)
                    .collect();
                dists.extend(PY_ALIASES.iter().filter(|(i, _)| *i == name).map(|(_, d)| pep503(d)));
                dists.push(pep503(&name));
                if !dists.iter().any(|d| declared.contains(d)) {
                    findings.push(format!(
                        "{}:{line} imports `{name}`, which no manifest declares ({manifests})",
                        file.display()
                    ));
                }
            }
        }
        Ok(())
    }

    async fn check_js(
        &self,
        root: &Path,
        files: &[(PathBuf, Lang)],
        findings: &mut Vec<String>,
    ) -> Result<(), GateError> {
        let builtins_text =
            self.output_of(root, "node", &["-p", "require('module').builtinModules.join('\\n')"]).await?;
        let builtins: BTreeSet<&str> = builtins_text.lines().map(str::trim).collect();
        // Packages of the workspace itself and tsconfig path aliases resolve locally.
        let mut local: BTreeSet<String> = BTreeSet::new();
        let mut aliases: Vec<String> = Vec::new();
        if let Some(ts) = read_json(&root.join("tsconfig.json")) {
            if let Some(paths) = ts["compilerOptions"]["paths"].as_object() {
                aliases.extend(paths.keys().map(|k| k.trim_end_matches('*').to_owned()));
            }
        }
        let mut stack = vec![root.to_path_buf()];
        let mut listed = 0;
        while let Some(dir) = stack.pop() {
            listed += 1;
            if listed > 2000 {
                break;
            }
            if let Some(name) = read_json(&dir.join("package.json")).and_then(|p| p["name"].as_str().map(str::to_owned))
            {
                local.insert(name);
            }
            for e in std::fs::read_dir(&dir).into_iter().flatten().filter_map(Result::ok) {
                let n = e.file_name().to_string_lossy().into_owned();
                if e.path().is_dir()
                    && !(n.starts_with(".") || agent_oracles::SKIPPED_DIRS.contains(&n.as_str()))
                    && dir.strip_prefix(root).map_or(0, |r| r.components().count()) < 3
                {
                    stack.push(e.path());
                }
            }
        }
        for (file, lang) in files {
            let Ok(source) = std::fs::read_to_string(root.join(file)) else { continue };
            // The nearest package.json at or above the file declares its dependencies.
            let mut declared = BTreeSet::new();
            let mut manifest = None;
            for dir in root.join(file).ancestors().skip(1) {
                if let Some(pkg) = read_json(&dir.join("package.json")) {
                    declared.extend(js_declared(&pkg));
                    manifest.get_or_insert_with(|| dir.join("package.json"));
                }
                if dir == root {
                    break;
                }
            }
            let manifest = manifest
                .and_then(|m| m.strip_prefix(root).ok().map(|p| p.display().to_string()))
                .unwrap_or_else(|| "no package.json".to_owned());
            let mut seen = BTreeSet::new();
            for JsImport { specifier: spec, line, .. } in js_imports(*lang, &source) {
                if spec.starts_with(['.', '/']) || spec.starts_with("node:") || spec.is_empty() {
                    continue;
                }
                let pkg = package_of(&spec);
                if !seen.insert(pkg.clone())
                    || builtins.contains(pkg.as_str())
                    || builtins.contains(spec.as_str())
                    || local.contains(&pkg)
                    || declared.contains(&pkg)
                    || declared.contains(&format!("@types/{pkg}"))
                    || aliases.iter().any(|a| !a.is_empty() && spec.starts_with(a.as_str()))
                {
                    continue;
                }
                findings.push(format!("{}:{line} imports `{pkg}`, which {manifest} does not declare", file.display()));
            }
        }
        // The lockfile lists what the root manifest declares.
        if let (Some(pkg), Some(lock)) =
            (read_json(&root.join("package.json")), read_json(&root.join("package-lock.json")))
        {
            let locked = js_declared(&lock["packages"][""]);
            for name in js_declared(&pkg) {
                if !locked.contains(&name) {
                    findings.push(format!("package-lock.json does not lock `{name}`, which package.json declares"));
                }
            }
        }
        Ok(())
    }

    async fn check_rust(
        &self,
        root: &Path,
        profile: &WorkspaceProfile,
        findings: &mut Vec<String>,
    ) -> Result<(), GateError> {
        let spec = CommandSpec::new("cargo")
            .args(["check", "--workspace", "--all-targets", "--locked", "--message-format=json"])
            .cwd(root)
            .wall_timeout(Duration::from_secs(600));
        let run = self.executor.run(spec).await.map_err(exec_error)?;
        if run.success() {
            return Ok(());
        }
        let stderr = run.stderr.text();
        if stderr.contains("--locked was passed")
            || stderr.contains("lock file") && stderr.contains("needs to be updated")
        {
            findings.push("Cargo.lock does not agree with the manifests: cargo would have to update it".to_owned());
        }
        let classification = CargoClassifier::new().classify(&run, profile);
        for f in classification.failures {
            if matches!(f.kind, FailureKind::UnresolvedImport | FailureKind::MissingDependency) {
                let place = match (&f.file, f.line) {
                    (Some(file), Some(line)) => format!("{}:{line} ", file.display()),
                    _ => String::new(),
                };
                let first = f.message.lines().next().unwrap_or_default();
                findings.push(format!("{place}{first}"));
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Gate for DependencyGate {
    async fn check(&self, cx: &GateContext) -> Result<GateReport, GateError> {
        let mut python = Vec::new();
        let mut js = Vec::new();
        let mut rust = false;
        for change in cx.changes.iter().filter(|c| c.change != "deleted") {
            let path = PathBuf::from(&change.path);
            rust |= path.file_name().is_some_and(|n| n == "Cargo.toml" || n == "Cargo.lock");
            match Lang::from_path(&path) {
                Some(Lang::Python) => python.push(path),
                Some(lang @ (Lang::JavaScript | Lang::TypeScript | Lang::Tsx)) => js.push((path, lang)),
                Some(Lang::Rust) => rust = true,
                _ => {}
            }
        }
        let mut findings = Vec::new();
        let mut checked: BTreeMap<&str, usize> = BTreeMap::new();
        if !python.is_empty() {
            self.check_python(&cx.root, &python, &mut findings).await?;
            checked.insert("python", python.len());
        }
        if !js.is_empty() || cx.changes.iter().any(|c| c.path == "package.json") {
            self.check_js(&cx.root, &js, &mut findings).await?;
            checked.insert("js", js.len());
        }
        if rust {
            self.check_rust(&cx.root, &cx.profile, &mut findings).await?;
            checked.insert("rust", 1);
        }
        let scope = if checked.is_empty() {
            "no changed source file to check".to_owned()
        } else {
            checked.keys().copied().collect::<Vec<_>>().join(", ")
        };
        let passed = findings.is_empty();
        let summary = if passed {
            format!("every import resolves ({scope})")
        } else {
            format!(
                "{} undeclared or unresolved dependenc{} ({scope})",
                findings.len(),
                if findings.len() == 1 { "y" } else { "ies" }
            )
        };
        let mut report = GateReport::new(GATE, passed, summary);
        report.findings = findings;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_imports_skip_relative_and_future_imports() {
        let src = "from __future__ import annotations\nimport os, yaml as y\nimport a.b.c\nfrom . import sib\nfrom .x import y\nfrom requests.adapters import HTTPAdapter\ndef f():\n    import numpy\n";
        let names: Vec<(String, u32)> = python_top_level_imports(src);
        let want = [("os", 2), ("yaml", 2), ("a", 3), ("requests", 6), ("numpy", 8)];
        assert_eq!(names, want.map(|(n, l)| (n.to_owned(), l)));
    }

    #[test]
    fn package_of_a_specifier_is_its_scope_and_name_or_its_first_segment() {
        assert_eq!(package_of("@scope/pkg/sub"), "@scope/pkg");
        assert_eq!(package_of("lodash/fp"), "lodash");
    }

    #[test]
    fn requirement_names_are_pep503_normalised() {
        assert_eq!(
            requirement_name("Flask_SQLAlchemy>=3.0 ; python_version>'3.8'").as_deref(),
            Some("flask-sqlalchemy")
        );
        assert_eq!(requirement_name("# comment"), None);
        assert_eq!(requirement_name("-r base.txt"), None);
        assert_eq!(pep503("zope.interface"), "zope-interface");
    }
}
