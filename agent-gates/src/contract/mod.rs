//! [`ContractGate`]: a change must not break a contract other code relies
//! on — a JSON Schema, an OpenAPI description, the public API of a Rust
//! library crate — unless the task declares the break.
//!
//! The gate knows the tree after the change (`cx.root`) and the cumulative
//! unified diff (`cx.diff`); it rebuilds the before version of each changed
//! contract by reverse-applying the diff, then compares the two.

mod before;
mod rust;
mod schema;

use agent_core::exec::{CommandSpec, EnvPolicy, RunOutput};
use agent_core::gate::{GateContext, GateError, GateReport};
use agent_core::spec::TaskSpec;
use agent_core::{Executor, Gate, async_trait};
use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const GATE: &str = "contract";

/// Directories never copied into the before tree of a Rust crate.
const EXCLUDED_DIRS: &[&str] = &["target", "node_modules", ".git", ".venv", "__pycache__"];

/// What kind of break a [`BreakingChange`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum BreakKind {
    /// A contract document was deleted.
    RemovedDocument,
    /// A schema property is gone.
    RemovedProperty,
    /// A schema property is gone and another with the same schema appeared:
    /// a rename, which breaks every client of the old name all the same.
    RenamedProperty,
    /// A property (or a request body) became required in an input.
    NewRequired,
    /// An input accepts less: a type dropped from the type set, `number`
    /// narrowed to `integer`, enum values removed, a bound or `pattern`
    /// added or tightened, `additionalProperties` turned off.
    NarrowedType,
    /// An OpenAPI path is gone.
    RemovedEndpoint,
    /// An operation (method) of a path is gone.
    RemovedOperation,
    /// A parameter of an operation is gone.
    RemovedParameter,
    /// A parameter was added as required, or became required.
    NewRequiredParameter,
    /// A response code of an operation is gone.
    RemovedResponse,
    /// A media type of a request body or response is gone.
    RemovedContentType,
    /// A public Rust item (function, type, method, field, trait, module…) is gone.
    RemovedItem,
    /// A public Rust item's signature changed (inputs, output, generics,
    /// a field's type, a trait method losing its default).
    ChangedSignature,
    /// An enum variant is gone.
    RemovedVariant,
    /// A variant was added to an enum that is not `#[non_exhaustive]`:
    /// exhaustive matches stop compiling.
    AddedVariant,
    /// A public field was added to a struct built with literals (all
    /// fields public, not `#[non_exhaustive]`).
    AddedField,
    /// A trait gained a method (or associated item) without a default:
    /// every implementation stops compiling.
    AddedTraitMethod,
}

impl BreakKind {
    /// The stable snake_case name used in reports (`removed_property`).
    pub fn name(self) -> &'static str {
        match self {
            Self::RemovedDocument => "removed_document",
            Self::RemovedProperty => "removed_property",
            Self::RenamedProperty => "renamed_property",
            Self::NewRequired => "new_required",
            Self::NarrowedType => "narrowed_type",
            Self::RemovedEndpoint => "removed_endpoint",
            Self::RemovedOperation => "removed_operation",
            Self::RemovedParameter => "removed_parameter",
            Self::NewRequiredParameter => "new_required_parameter",
            Self::RemovedResponse => "removed_response",
            Self::RemovedContentType => "removed_content_type",
            Self::RemovedItem => "removed_item",
            Self::ChangedSignature => "changed_signature",
            Self::RemovedVariant => "removed_variant",
            Self::AddedVariant => "added_variant",
            Self::AddedField => "added_field",
            Self::AddedTraitMethod => "added_trait_method",
        }
    }
}

/// One breaking change of a contract.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BreakingChange {
    /// What kind of break.
    pub kind: BreakKind,
    /// The contract: a document's path relative to the root, or a crate's name.
    pub contract: String,
    /// Where, as a declaration names it: `file#/json/pointer` in a JSON
    /// Schema; `/pets`, `GET /pets`, `GET /pets parameter query limit`,
    /// `GET /pets response 200 application/json#/items/properties/name`
    /// in OpenAPI; an item path (`mycrate::Foo::bar`) in Rust.
    pub subject: String,
    /// What it was (a schema, a signature), when there was something.
    pub before: Option<String>,
    /// What it is now, when there is something.
    pub after: Option<String>,
    /// The declaration (an entry of the spec's `breaking_changes`) that
    /// allows it, if one does.
    pub declared_by: Option<String>,
}

impl BreakingChange {
    pub(crate) fn new(
        kind: BreakKind,
        contract: impl Into<String>,
        subject: impl Into<String>,
        before: Option<String>,
        after: Option<String>,
    ) -> Self {
        Self { kind, contract: contract.into(), subject: subject.into(), before, after, declared_by: None }
    }

    /// One report line: kind, subject, before and after, and the declaration.
    pub fn finding(&self) -> String {
        let mut line = format!(
            "[{}] {}: before {}, after {}",
            self.kind.name(),
            self.subject,
            self.before.as_deref().unwrap_or("(none)"),
            self.after.as_deref().unwrap_or("(none)")
        );
        if self.contract != self.subject && !self.subject.starts_with(&self.contract) {
            line.push_str(&format!(" (in {})", self.contract));
        }
        match &self.declared_by {
            Some(d) => line.push_str(&format!(" — declared breaking by `{d}`")),
            None => line.push_str(" — not declared"),
        }
        line
    }
}

/// What the gate compared, its findings and what the comparison cost.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ContractCheck {
    /// Every breaking change found, declared or not.
    pub changes: Vec<BreakingChange>,
    /// Contract documents compared (paths relative to the root).
    pub documents: Vec<String>,
    /// Rust crates whose public API was compared.
    pub crates: Vec<String>,
    /// Time spent in `cargo rustdoc` (after and before runs together).
    pub rustdoc_time: Duration,
    /// Time spent copying the workspace for the before build.
    pub copy_time: Duration,
    /// Files copied for the before build.
    pub copied_files: usize,
}

impl ContractCheck {
    /// The breaking changes no declaration allows.
    pub fn undeclared(&self) -> impl Iterator<Item = &BreakingChange> {
        self.changes.iter().filter(|c| c.declared_by.is_none())
    }
}

/// Compares the contracts a change touches, before and after, and fails
/// on a breaking change the task does not declare:
///
/// - **JSON Schema** documents: files matching the configured globs
///   ([`with_schemas`](Self::with_schemas)), `*.schema.json` (`.yaml`,
///   `.yml`), and JSON or YAML files with a top-level `$schema` key;
/// - **OpenAPI** documents: `openapi.*` / `swagger.*` (JSON or YAML), and
///   files with a top-level `openapi:` or `swagger:` key;
/// - the **public API of Rust library crates** whose files the diff
///   touches: `cargo rustdoc -p CRATE --lib -- -Z unstable-options
///   --output-format json` (with `RUSTC_BOOTSTRAP=1`, so a stable
///   toolchain serves) on the tree, and again on a temporary copy of the
///   workspace with the diff reversed, through the [`Executor`] the host
///   passes. Both runs share one target directory, so dependencies are
///   built once (a temporary one, or [`with_target_dir`](Self::with_target_dir)
///   to keep it across checks).
///
/// Breaking: removed or renamed properties, new required input fields,
/// narrowed input types (type set shrinking, `integer` from `number`,
/// enum values removed, bounds or `pattern` added or tightened,
/// `additionalProperties` turned off), removed endpoints, operations,
/// parameters, response codes and media types, newly required parameters;
/// removed public Rust items, changed signatures, removed variants,
/// variants added to exhaustive enums, fields added to exhaustive structs,
/// trait methods added without a default. `$ref`s within a document are
/// followed. Compatible changes pass: added optional properties, added
/// endpoints, widened types, new enum values in inputs, new public items.
///
/// Declarations ([`allowing`](Self::allowing), a spec's
/// `breaking_changes`) allow a break whose subject equals the entry, lies
/// beneath it (continues with `/`, `::`, `#`, `.` or a space), or matches
/// it as a glob; allowed breaks are still listed in the report, marked
/// with the declaration.
///
/// ```no_run
/// use agent_core::spec::TaskSpec;
/// use agent_gates::ContractGate;
/// use agent_sandbox::ProcessExecutor;
/// use std::sync::Arc;
///
/// let spec = TaskSpec::new("rename `email` to `mail`").allowing_break("schemas/user.schema.json#/properties/email");
/// let gate = ContractGate::new(Arc::new(ProcessExecutor::new()))
///     .with_schemas(["api/**/*.json"])
///     .unwrap()
///     .allowing(spec.breaking_changes.clone());
/// ```
#[derive(Clone)]
pub struct ContractGate {
    executor: Arc<dyn Executor>,
    schema_globs: Vec<String>,
    schemas: GlobSet,
    allowed: Vec<String>,
    rust: bool,
    cargo: String,
    target_dir: Option<PathBuf>,
    timeout: Duration,
}

impl std::fmt::Debug for ContractGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContractGate")
            .field("schemas", &self.schema_globs)
            .field("allowed", &self.allowed)
            .field("rust", &self.rust)
            .field("cargo", &self.cargo)
            .finish_non_exhaustive()
    }
}

fn glob(pattern: &str) -> Result<Glob, globset::Error> {
    GlobBuilder::new(pattern).literal_separator(true).build()
}

impl ContractGate {
    /// A gate running `cargo rustdoc` through `executor`, with no declared
    /// break and no configured schema glob.
    pub fn new(executor: Arc<dyn Executor>) -> Self {
        Self {
            executor,
            schema_globs: Vec::new(),
            schemas: GlobSet::empty(),
            allowed: Vec::new(),
            rust: true,
            cargo: "cargo".to_owned(),
            target_dir: None,
            timeout: Duration::from_secs(1800),
        }
    }

    /// Also treats files matching these globs (relative to the root) as
    /// JSON Schemas; an invalid glob is an error naming it.
    pub fn with_schemas<I, S>(mut self, globs: I) -> Result<Self, globset::Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.schema_globs.extend(globs.into_iter().map(Into::into));
        let mut builder = GlobSetBuilder::new();
        for g in &self.schema_globs {
            builder.add(glob(g.trim_start_matches("./"))?);
        }
        self.schemas = builder.build()?;
        Ok(self)
    }

    /// A gate allowing the breaks `spec` declares (its `breaking_changes`).
    pub fn from_spec(executor: Arc<dyn Executor>, spec: &TaskSpec) -> Self {
        Self::new(executor).allowing(spec.breaking_changes.iter().cloned())
    }

    /// Declares breaks the task may make (a spec's `breaking_changes`).
    pub fn allowing<I, S>(mut self, declared: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed.extend(declared.into_iter().map(Into::into));
        self
    }

    /// Whether to compare the public API of changed Rust crates (default on).
    pub fn with_rust(mut self, on: bool) -> Self {
        self.rust = on;
        self
    }

    /// The cargo program to run (default `cargo`).
    pub fn with_cargo(mut self, program: impl Into<String>) -> Self {
        self.cargo = program.into();
        self
    }

    /// Builds rustdoc JSON in `dir` (kept across checks, so dependencies
    /// build once) instead of a temporary directory per check. Checks that
    /// run at the same time need directories of their own, or crates of
    /// different names: rustdoc writes `doc/CRATE.json` there.
    pub fn with_target_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.target_dir = Some(dir.into());
        self
    }

    /// The wall-time limit of each rustdoc run (default 30 minutes).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The declaration allowing a break of `subject`, if any.
    pub fn declaration_for(&self, subject: &str) -> Option<&str> {
        self.allowed
            .iter()
            .find(|d| {
                let d = d.trim();
                if d.is_empty() {
                    return false;
                }
                if subject == d {
                    return true;
                }
                if let Some(rest) = subject.strip_prefix(d) {
                    if ["/", "::", "#", ".", " "].iter().any(|s| rest.starts_with(s)) {
                        return true;
                    }
                }
                glob(d).is_ok_and(|g| g.compile_matcher().is_match(subject))
            })
            .map(String::as_str)
    }

    /// Compares the contracts the change in `cx` touches; the breaking
    /// changes come marked with the declaration that allows each.
    pub async fn compare(&self, cx: &GateContext) -> Result<ContractCheck, GateError> {
        let patches = before::split_diff(&cx.diff);
        let mut check = ContractCheck::default();
        self.documents(cx, &patches, &mut check)?;
        if self.rust {
            self.rust_crates(cx, &patches, &mut check).await?;
        }
        for change in &mut check.changes {
            change.declared_by = self.declaration_for(&change.subject).map(str::to_owned);
        }
        Ok(check)
    }

    fn documents(
        &self,
        cx: &GateContext,
        patches: &BTreeMap<String, before::FilePatch>,
        check: &mut ContractCheck,
    ) -> Result<(), GateError> {
        for (path, patch) in patches {
            if !schema::is_document_path(path) {
                continue;
            }
            let configured = self.schemas.is_match(path.trim_start_matches("./"));
            let after_text = match &patch.new {
                Some(p) => std::fs::read_to_string(cx.root.join(p)).ok(),
                None => None,
            };
            let before_text = match patch.before(after_text.as_deref().unwrap_or_default()) {
                Ok(Some(text)) => text,
                Ok(None) => continue, // created by the change: no before contract
                Err(e) => {
                    // Only an error when the file is a contract on the after side.
                    let after_doc = after_text.as_deref().and_then(|t| schema::parse_document(path, t));
                    if configured || after_doc.is_some_and(|d| schema::doc_kind(path, &d, false).is_some()) {
                        return Err(could_not(format!("the before version of {path}: {e}")));
                    }
                    continue;
                }
            };
            let Some(before_doc) = schema::parse_document(path, &before_text) else { continue };
            let after_doc = after_text.as_deref().and_then(|t| schema::parse_document(path, t));
            let kind = schema::doc_kind(path, &before_doc, configured)
                .or_else(|| after_doc.as_ref().and_then(|d| schema::doc_kind(path, d, configured)));
            let Some(kind) = kind else { continue };
            check.documents.push(path.clone());
            let Some(after_doc) = after_doc else {
                let what = if patch.new.is_none() { "deleted" } else { "no longer a JSON or YAML document" };
                check.changes.push(BreakingChange::new(
                    BreakKind::RemovedDocument,
                    path.clone(),
                    path.clone(),
                    Some(kind.name().to_owned()),
                    Some(what.to_owned()),
                ));
                continue;
            };
            check.changes.extend(match kind {
                schema::DocKind::JsonSchema => schema::compare_json_schema(path, &before_doc, &after_doc),
                schema::DocKind::OpenApi => schema::compare_openapi(path, &before_doc, &after_doc),
            });
        }
        Ok(())
    }

    async fn run(&self, spec: CommandSpec) -> Result<RunOutput, GateError> {
        self.executor
            .run(spec.wall_timeout(self.timeout))
            .await
            .map_err(|source| GateError::Exec { gate: GATE.to_owned(), source })
    }

    /// Documents `krate` (its manifest directory `dir`) as JSON into
    /// `target`, returning its API surface.
    async fn document(
        &self,
        dir: &Path,
        krate: &str,
        target: &Path,
        check: &mut ContractCheck,
    ) -> Result<BTreeMap<String, rust::ApiItem>, GateError> {
        let target_arg = target.to_string_lossy().into_owned();
        let spec = CommandSpec::new(&self.cargo)
            .args([
                "rustdoc",
                "-p",
                krate,
                "--lib",
                "--target-dir",
                &target_arg,
                "--",
                "-Z",
                "unstable-options",
                "--output-format",
                "json",
            ])
            .cwd(dir)
            .env(EnvPolicy::default().set("RUSTC_BOOTSTRAP", "1"));
        let out = self.run(spec).await?;
        check.rustdoc_time += Duration::from_millis(out.duration_ms);
        if !out.success() {
            let err = out.stderr.text();
            let last: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).rev().take(3).collect();
            return Err(could_not(format!(
                "`cargo rustdoc -p {krate}` failed in {} (exit {:?}): {}",
                dir.display(),
                out.exit_code,
                last.into_iter().rev().collect::<Vec<_>>().join(" / ")
            )));
        }
        let file = target.join("doc").join(format!("{}.json", krate.replace('-', "_")));
        let text = std::fs::read_to_string(&file).map_err(|e| could_not(format!("{}: {e}", file.display())))?;
        let doc: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| could_not(format!("rustdoc JSON of {krate}: {e}")))?;
        Ok(rust::api_surface(&doc))
    }

    async fn rust_crates(
        &self,
        cx: &GateContext,
        patches: &BTreeMap<String, before::FilePatch>,
        check: &mut ContractCheck,
    ) -> Result<(), GateError> {
        let mut changed: Vec<String> = cx.changes.iter().map(|c| c.path.clone()).collect();
        changed.extend(patches.keys().cloned());
        let crates = changed_crates(&cx.root, &changed);
        if crates.is_empty() {
            return Ok(());
        }
        let io = |e: std::io::Error| could_not(e.to_string());
        let scratch = tempfile::Builder::new().prefix("contract-gate-").tempdir().map_err(io)?;
        let target = self.target_dir.clone().unwrap_or_else(|| scratch.path().join("target"));
        // The before tree: a copy of the root with every patch reversed.
        let started = Instant::now();
        let copy = scratch.path().join("before");
        check.copied_files = copy_tree(&cx.root, &copy).map_err(io)?;
        for (path, patch) in patches {
            let after_path = copy.join(path);
            match patch.before_in(&cx.root) {
                Ok(Some(text)) => {
                    let old = copy.join(patch.old.as_deref().unwrap_or(path));
                    if patch.new.as_deref().is_some_and(|n| Some(n) != patch.old.as_deref()) {
                        let _ = std::fs::remove_file(&after_path);
                    }
                    if let Some(parent) = old.parent() {
                        std::fs::create_dir_all(parent).map_err(io)?;
                    }
                    std::fs::write(&old, text).map_err(io)?;
                }
                Ok(None) => {
                    let _ = std::fs::remove_file(&after_path);
                }
                Err(e) => {
                    if crates.iter().any(|(_, dir)| in_dir(path, dir))
                        && (path.ends_with(".rs") || path.ends_with(".toml"))
                    {
                        return Err(could_not(format!("the before version of {path}: {e}")));
                    }
                }
            }
        }
        check.copy_time += started.elapsed();
        for (name, dir) in crates {
            if !copy.join(&dir).join("Cargo.toml").is_file() {
                continue; // a crate the change created: it breaks nobody
            }
            let after = self.document(&cx.root.join(&dir), &name, &target, check).await?;
            let before = self.document(&copy.join(&dir), &name, &target, check).await?;
            check.crates.push(name.clone());
            check.changes.extend(rust::compare_api(&name, &before, &after));
        }
        Ok(())
    }
}

fn could_not(reason: String) -> GateError {
    GateError::CouldNotCheck { gate: GATE.to_owned(), reason }
}

fn in_dir(path: &str, dir: &str) -> bool {
    dir.is_empty() || path == dir || path.starts_with(&format!("{dir}/"))
}

/// The library crates (name, manifest directory relative to the root) that
/// hold one of the changed paths: the nearest `Cargo.toml` with a
/// `[package]` above a changed `.rs` file or manifest, when it has a library
/// target (`[lib]` or `src/lib.rs`).
fn changed_crates(root: &Path, changed: &[String]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for path in changed {
        if !(path.ends_with(".rs") || path.ends_with("Cargo.toml")) {
            continue;
        }
        let mut dir = Path::new(path).parent();
        while let Some(d) = dir {
            let manifest = root.join(d).join("Cargo.toml");
            if let Some(name) = library_name(&manifest) {
                let rel = d.to_string_lossy().into_owned();
                if !out.iter().any(|(n, _)| *n == name) {
                    out.push((name, rel));
                }
                break;
            }
            dir = d.parent();
        }
    }
    out
}

fn library_name(manifest: &Path) -> Option<String> {
    let text = std::fs::read_to_string(manifest).ok()?;
    let doc: toml::Table = toml::from_str(&text).ok()?;
    let name = doc.get("package")?.get("name")?.as_str()?.to_owned();
    let dir = manifest.parent()?;
    let has_lib = doc.get("lib").is_some() || dir.join("src/lib.rs").is_file();
    has_lib.then_some(name)
}

/// Copies `from` into `to`, leaving out build and dependency directories.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<usize> {
    let mut copied = 0;
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        std::fs::create_dir_all(to.join(&rel))?;
        for entry in std::fs::read_dir(from.join(&rel))? {
            let entry = entry?;
            let name = entry.file_name();
            let kind = entry.file_type()?;
            let path = rel.join(&name);
            if kind.is_dir() {
                if !EXCLUDED_DIRS.iter().any(|x| name == *x) {
                    stack.push(path);
                }
            } else if kind.is_symlink() {
                std::os::unix::fs::symlink(std::fs::read_link(from.join(&path))?, to.join(&path))?;
                copied += 1;
            } else if kind.is_file() {
                std::fs::copy(from.join(&path), to.join(&path))?;
                copied += 1;
            }
        }
    }
    Ok(copied)
}

#[async_trait]
impl Gate for ContractGate {
    async fn check(&self, cx: &GateContext) -> Result<GateReport, GateError> {
        if cx.diff.trim().is_empty() && !cx.changes.is_empty() {
            return Err(GateError::NotApplicable {
                gate: GATE.to_owned(),
                reason: "no diff to rebuild the before version of the changed contracts from".to_owned(),
            });
        }
        let check = self.compare(cx).await?;
        let undeclared = check.undeclared().count();
        let declared = check.changes.len() - undeclared;
        let mut summary = format!(
            "{} contract document(s) and {} crate API(s) compared: {} breaking change(s), {declared} declared",
            check.documents.len(),
            check.crates.len(),
            check.changes.len()
        );
        if !check.crates.is_empty() {
            summary.push_str(&format!(
                " (rustdoc {:.1} s, before-tree copy of {} file(s) {:.1} s)",
                check.rustdoc_time.as_secs_f64(),
                check.copied_files,
                check.copy_time.as_secs_f64()
            ));
        }
        let mut report = GateReport::new(GATE, undeclared == 0, summary);
        report.findings = check.changes.iter().map(BreakingChange::finding).collect();
        Ok(report)
    }
}
