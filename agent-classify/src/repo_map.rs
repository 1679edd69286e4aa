//! [`RepoMap`]: agent-core's [`RepoMapper`] for the first prompt of an
//! agent session: the workspace's files, each with its top-level symbols,
//! ranked toward the files the task is about and cut to a token budget.
//!
//! **Files** come from an ignore-aware walk of the workspace (`.gitignore`,
//! `.ignore`; hidden entries, dependency and build directories such as
//! `node_modules`, `target`, `.venv`, `dist`, `__pycache__` skipped;
//! symlinks not followed) and bounded ([`RepoMap::with_max_files`], 3,000
//! by default; past the bound the shallowest files are kept). Every file read goes
//! through agent-core's [`contain`](agent_core::workspace::contain): nothing
//! outside the root is read, and every path shown is relative to it.
//!
//! **Symbols** (feature `syntax`) are those agent-syntax's
//! [`top_level_symbols`](agent_syntax::symbols::top_level_symbols) finds in
//! Rust, Python, JavaScript, TypeScript/TSX and Go files: functions, types,
//! classes and traits, the methods of `impl` blocks and classes, constants.
//! Without the feature the map lists paths only.
//!
//! **Ranking.** The focus files first, in the order given; then the files
//! related to them (feature `syntax` for the imports): the files a focus
//! file imports and the files that import it (Python `import`/`from`,
//! JavaScript/TypeScript relative specifiers, Rust `mod NAME;` and
//! `use crate::…`/`self::`/`super::`/`other_crate::…` paths within the
//! workspace), and the other Go files of a focus file's package (its
//! directory); then everything else. Within each group, shallower paths
//! first, then by path. Same tree, same focus, same budget: same text.
//!
//! **Output.** One block per file: `path:` and one indented `kind name
//! (line)` line per symbol (at most [`RepoMap::with_max_symbols_per_file`],
//! then `… N more`). Blocks are given in rank order while they fit; from
//! the first that does not, files keep only their path (no colon), and once
//! a path does not fit, the files after it are left out. A final line
//! counts what was left out, when anything was.
//!
//! **Budget.** Counted with [`count_tokens`](crate::count_tokens), as the
//! repair context is (`o200k_base` with the `tokenizer` feature, an
//! estimate that errs high without it); the whole map, final line
//! included, is at most `max_tokens` tokens.
//!
//! ```
//! use agent_core::context::RepoMapper;
//! use agent_classify::RepoMap;
//!
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::create_dir(dir.path().join("src")).unwrap();
//! std::fs::write(dir.path().join("src/lib.rs"), "mod stack;\npub fn version() -> u32 { 1 }\n").unwrap();
//! std::fs::write(dir.path().join("src/stack.rs"), "pub struct Stack;\nimpl Stack {\n    pub fn push(&mut self) {}\n}\n").unwrap();
//! std::fs::write(dir.path().join("README.md"), "# demo\n").unwrap();
//! let map = RepoMap::new().map(dir.path(), &["src/stack.rs".into()], 500);
//! # #[cfg(feature = "syntax")]
//! assert_eq!(
//!     map,
//!     "src/stack.rs:\n  struct Stack (1)\n  method Stack::push (3)\nsrc/lib.rs:\n  module stack (1)\n  function version (2)\nREADME.md\n"
//! );
//! ```

#[cfg(feature = "syntax")]
use crate::common::read_contained_bounded;
use crate::repair_context::count_tokens;
use agent_core::context::RepoMapper;
#[cfg(feature = "syntax")]
use std::collections::HashMap;
use std::collections::HashSet;
use std::fmt::Write as _;
#[cfg(feature = "syntax")]
use std::path::Component;
use std::path::{Path, PathBuf};

/// Directories never entered: dependencies, vendored code, build output,
/// caches (hidden directories are skipped anyway).
const SKIPPED_DIRS: &[&str] = &[
    "node_modules",
    "target",
    "vendor",
    "venv",
    "dist",
    "build",
    "__pycache__",
    "bower_components",
    "site-packages",
    "coverage",
    "htmlcov",
];

/// A [`RepoMapper`]: the workspace's files and their top-level symbols,
/// ranked toward the focus files (then the files they import or that import
/// them, then by depth and path), within a token budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoMap {
    max_files: usize,
    max_file_bytes: u64,
    max_symbols_per_file: usize,
}

impl Default for RepoMap {
    fn default() -> Self {
        Self::new()
    }
}

impl RepoMap {
    /// A mapper with the defaults: at most 3,000 files walked, symbols read
    /// from files of at most 256 KiB, at most 40 symbols shown per file.
    pub fn new() -> Self {
        Self { max_files: 3000, max_file_bytes: 256 * 1024, max_symbols_per_file: 40 }
    }

    /// Sets how many files the walk lists at most (focus files are always included).
    pub fn with_max_files(mut self, files: usize) -> Self {
        self.max_files = files;
        self
    }

    /// Sets the largest file whose symbols and imports are read, in bytes.
    pub fn with_max_file_bytes(mut self, bytes: u64) -> Self {
        self.max_file_bytes = bytes;
        self
    }

    /// Sets how many symbols a file's block shows before `… N more`.
    pub fn with_max_symbols_per_file(mut self, symbols: usize) -> Self {
        self.max_symbols_per_file = symbols.max(1);
        self
    }

    /// The workspace's files, relative to `root`, in the map's order.
    fn ranked(&self, root: &Path, focus: &[PathBuf]) -> (Vec<PathBuf>, bool) {
        let (walked, truncated) = walk(root, self.max_files);
        let focus = focus_files(root, focus);
        let mut files: Vec<PathBuf> = walked;
        let known: HashSet<PathBuf> = files.iter().cloned().collect();
        files.extend(focus.iter().filter(|f| !known.contains(*f)).cloned());
        let related = related(root, &files, &focus, self.max_file_bytes);
        let key = |p: &PathBuf| {
            let (tier, order) = match focus.iter().position(|f| f == p) {
                Some(i) => (0u8, i),
                None if related.contains(p) => (1, 0),
                None => (2, 0),
            };
            (tier, order, p.components().count(), p.clone())
        };
        let mut keyed: Vec<_> = files.iter().map(|p| (key(p), p)).collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        (keyed.into_iter().map(|(_, p)| p.clone()).collect(), truncated)
    }
}

/// How much of one file the map shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    Path,
    Full,
}

/// One listed file: its path line, and its block with symbols when it has any.
struct Entry {
    path_line: String,
    block: Option<String>,
    /// Symbols not shown in `block` (beyond the per-file cap).
    capped: usize,
    symbols: usize,
    /// [`count_tokens`] of `path_line` and of `block`.
    path_cost: usize,
    block_cost: usize,
}

/// The entries of the ranked files, made when first needed: a map within a
/// small budget reads only the files it may show.
struct Entries<'a> {
    mapper: &'a RepoMap,
    root: &'a Path,
    files: &'a [PathBuf],
    made: Vec<Entry>,
}

impl Entries<'_> {
    fn get(&mut self, i: usize) -> &Entry {
        while self.made.len() <= i {
            let entry = self.mapper.entry(self.root, &self.files[self.made.len()]);
            self.made.push(entry);
        }
        &self.made[i]
    }

    /// The levels of the first files, in rank order, within `budget` tokens
    /// of which `reserve` are kept for the final line: blocks while they
    /// fit, then (from the first block that does not) paths while they fit.
    fn plan(&mut self, budget: usize, reserve: usize) -> Vec<Level> {
        let mut levels = Vec::new();
        let mut used = 0usize;
        let mut blocks = true;
        for i in 0..self.files.len() {
            let entry = self.get(i);
            if entry.block.is_some() {
                if blocks && used + entry.block_cost + reserve <= budget {
                    used += entry.block_cost;
                    levels.push(Level::Full);
                    continue;
                }
                blocks = false;
            }
            if used + entry.path_cost + reserve > budget {
                break;
            }
            used += entry.path_cost;
            levels.push(Level::Path);
        }
        levels
    }

    /// Whether the plan shows everything: every file, every block, every symbol.
    fn complete(&self, levels: &[Level]) -> bool {
        levels.len() == self.files.len()
            && self.made.iter().zip(levels).all(|(e, l)| e.capped == 0 && (e.block.is_none() || *l == Level::Full))
    }
}

impl RepoMapper for RepoMap {
    fn map(&self, root: &Path, focus: &[PathBuf], max_tokens: usize) -> String {
        if root.canonicalize().is_err() {
            return String::new();
        }
        let (files, truncated) = self.ranked(root, focus);
        let walk_limit = truncated.then_some(self.max_files);
        let mut entries = Entries { mapper: self, root, files: &files, made: Vec::new() };
        // Everything, when the whole fits (the parts' counts, each rounded, may add up to more).
        let path_bytes: usize = files.iter().map(|f| f.as_os_str().len() + 1).sum();
        if walk_limit.is_none() && path_bytes <= max_tokens.saturating_mul(8) {
            if let Some(last) = files.len().checked_sub(1) {
                entries.get(last);
            }
            let all: Vec<Level> =
                entries.made.iter().map(|e| if e.block.is_some() { Level::Full } else { Level::Path }).collect();
            if entries.complete(&all) {
                let text = assemble(&entries.made, &all, files.len(), None);
                if count_tokens(&text) <= max_tokens {
                    return text;
                }
            }
        }
        // Else everything without a final line, when the parts fit; else room is kept for one.
        let mut levels = entries.plan(max_tokens, 0);
        if walk_limit.is_some() || !entries.complete(&levels) {
            let reserve = count_tokens(&footer(usize::MAX, walk_limit, usize::MAX));
            levels = entries.plan(max_tokens, reserve);
        }
        // The parts' counts estimate the whole's; the exact count of the whole decides.
        loop {
            let text = assemble(&entries.made, &levels, files.len(), walk_limit);
            if count_tokens(&text) <= max_tokens {
                return text;
            }
            match levels.last_mut() {
                Some(level @ Level::Full) => *level = Level::Path,
                Some(Level::Path) => {
                    levels.pop();
                }
                None => return String::new(),
            }
        }
    }
}

impl RepoMap {
    /// The path line and block of `file`.
    fn entry(&self, root: &Path, file: &Path) -> Entry {
        let shown = file.to_string_lossy();
        let path_line = format!("{shown}\n");
        let symbols = symbols_of(root, file, self.max_file_bytes);
        let path_cost = count_tokens(&path_line);
        if symbols.is_empty() {
            return Entry { path_line, block: None, capped: 0, symbols: 0, path_cost, block_cost: 0 };
        }
        let mut block = format!("{shown}:\n");
        for (kind, name, line) in symbols.iter().take(self.max_symbols_per_file) {
            let _ = writeln!(block, "  {kind} {name} ({line})");
        }
        let capped = symbols.len().saturating_sub(self.max_symbols_per_file);
        if capped > 0 {
            let _ = writeln!(block, "  … {capped} more");
        }
        let block_cost = count_tokens(&block);
        Entry { path_line, block: Some(block), capped, symbols: symbols.len(), path_cost, block_cost }
    }
}

/// The map's text: the first entries at their levels, then the count of what was left out.
fn assemble(entries: &[Entry], levels: &[Level], total_files: usize, walk_limit: Option<usize>) -> String {
    let mut out = String::new();
    let mut symbols_left = 0usize;
    for (entry, level) in entries.iter().zip(levels) {
        match (level, &entry.block) {
            (Level::Full, Some(block)) => {
                out.push_str(block);
                symbols_left += entry.capped;
            }
            _ => {
                out.push_str(&entry.path_line);
                symbols_left += entry.symbols;
            }
        }
    }
    let files_left = total_files - levels.len();
    if files_left > 0 || symbols_left > 0 || walk_limit.is_some() {
        out.push_str(&footer(files_left, walk_limit, symbols_left));
    }
    out
}

/// `(left out: 12 files, 40 symbols)`; with a walk limit, the files beyond it are mentioned.
fn footer(files: usize, walk_limit: Option<usize>, symbols: usize) -> String {
    let mut parts = Vec::new();
    match walk_limit {
        Some(limit) => parts.push(format!("{files} files and any beyond the first {limit}")),
        None if files > 0 => parts.push(format!("{files} files")),
        None => {}
    }
    if symbols > 0 {
        parts.push(format!("{symbols} symbols"));
    }
    format!("(left out: {})\n", parts.join(", "))
}

/// The files under `root` (relative paths), at most `max`, and whether
/// more were left. When there are more, the shallowest are kept (by depth,
/// then path), from the first `16 × max` files of the walk, so that one deep
/// directory does not crowd out the rest.
fn walk(root: &Path, max: usize) -> (Vec<PathBuf>, bool) {
    let walker = ignore::WalkBuilder::new(root)
        .hidden(true)
        .parents(false)
        .git_global(false)
        .require_git(false)
        .follow_links(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(|e| {
            !(e.depth() > 0
                && e.file_type().is_some_and(|t| t.is_dir())
                && e.file_name().to_str().is_some_and(|n| SKIPPED_DIRS.contains(&n)))
        })
        .build();
    let visit = max.saturating_mul(16);
    let mut out: Vec<PathBuf> = Vec::new();
    let mut more = false;
    for entry in walker.filter_map(Result::ok) {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(root) else { continue };
        if rel.as_os_str().is_empty() {
            continue;
        }
        if out.len() == visit {
            more = true;
            break;
        }
        out.push(rel.to_path_buf());
    }
    if out.len() > max {
        out.sort_by(|a, b| (a.components().count(), a).cmp(&(b.components().count(), b)));
        out.truncate(max);
        more = true;
    }
    (out, more)
}

/// The focus paths that name files inside the workspace, relative to it, without repeats.
fn focus_files(root: &Path, focus: &[PathBuf]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for f in focus {
        let Ok(c) = agent_core::workspace::contain(root, f) else { continue };
        if c.resolved.is_file() && !out.contains(&c.relative) {
            out.push(c.relative);
        }
    }
    out
}

/// The files related to the focus: the other Go files of a focus file's
/// package, and (feature `syntax`) the files a focus file imports and the
/// files that import one.
fn related(root: &Path, files: &[PathBuf], focus: &[PathBuf], max_bytes: u64) -> HashSet<PathBuf> {
    let mut out = HashSet::new();
    if focus.is_empty() {
        return out;
    }
    let is_go = |p: &Path| p.extension().is_some_and(|e| e == "go");
    for f in focus.iter().filter(|f| is_go(f)) {
        let dir = f.parent().unwrap_or(Path::new(""));
        out.extend(files.iter().filter(|p| is_go(p) && p.parent().unwrap_or(Path::new("")) == dir).cloned());
    }
    out.extend(import_links(root, files, focus, max_bytes));
    out
}

/// `(kind, name, line)` of the top-level symbols of `file`, when its language has a grammar.
#[cfg(feature = "syntax")]
fn symbols_of(root: &Path, file: &Path, max_bytes: u64) -> Vec<(&'static str, String, u32)> {
    let Some(lang) = agent_syntax::Lang::from_path(file) else { return Vec::new() };
    let Some(source) = read_contained_bounded(root, file, max_bytes) else { return Vec::new() };
    agent_syntax::symbols::top_level_symbols(lang, &source)
        .into_iter()
        .map(|s| (s.kind.name(), s.name, s.line))
        .collect()
}

/// Without grammars: no symbols, the map lists paths.
#[cfg(not(feature = "syntax"))]
fn symbols_of(_root: &Path, _file: &Path, _max_bytes: u64) -> Vec<(&'static str, String, u32)> {
    Vec::new()
}

/// Without grammars no import is read.
#[cfg(not(feature = "syntax"))]
fn import_links(_root: &Path, _files: &[PathBuf], _focus: &[PathBuf], _max_bytes: u64) -> HashSet<PathBuf> {
    HashSet::new()
}

/// The files a focus file imports and the files that import a focus file.
#[cfg(feature = "syntax")]
fn import_links(root: &Path, files: &[PathBuf], focus: &[PathBuf], max_bytes: u64) -> HashSet<PathBuf> {
    let index = Index::new(files);
    let focus_set: HashSet<&Path> = focus.iter().map(PathBuf::as_path).collect();
    // A file can import a focus file only if it names it (its stem, or its
    // directory for `mod.rs`, `lib.rs`, `__init__.py`, `index.js`): others are not parsed.
    let names: Vec<String> = focus
        .iter()
        .flat_map(|f| {
            let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
            let module_file = matches!(stem, "mod" | "lib" | "main" | "__init__" | "index");
            let dir = f.parent().and_then(Path::file_name).and_then(|d| d.to_str()).filter(|_| module_file);
            let crate_dir = f.parent().and_then(Path::parent).and_then(Path::file_name).and_then(|d| d.to_str());
            let crate_dir = crate_dir.filter(|_| matches!(stem, "lib" | "main"));
            [Some(stem.to_owned()), dir.map(str::to_owned), crate_dir.map(|c| c.replace('-', "_"))]
        })
        .flatten()
        .filter(|n| !n.is_empty())
        .collect();
    let mut out = HashSet::new();
    for file in files {
        let Some(lang) = agent_syntax::Lang::from_path(file) else { continue };
        if lang == agent_syntax::Lang::Go {
            continue;
        }
        let Some(source) = read_contained_bounded(root, file, max_bytes) else { continue };
        if !focus_set.contains(file.as_path()) && !names.iter().any(|n| source.contains(n.as_str())) {
            continue;
        }
        let targets = index.links(lang, file, &source);
        if focus_set.contains(file.as_path()) {
            out.extend(targets.iter().filter(|t| **t != *file).cloned());
        }
        if targets.iter().any(|t| focus_set.contains(t.as_path())) {
            out.insert(file.clone());
        }
    }
    out
}

/// `path` with `.` and `..` folded; `None` when it climbs above the root.
#[cfg(feature = "syntax")]
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// The workspace's files, for resolving imports to them.
#[cfg(feature = "syntax")]
struct Index<'a> {
    files: HashSet<&'a Path>,
    /// Python files by every trailing part of their path (`calc.py`, `pkg/calc.py`, …).
    python_suffixes: HashMap<PathBuf, Vec<&'a Path>>,
}

#[cfg(feature = "syntax")]
impl<'a> Index<'a> {
    fn new(files: &'a [PathBuf]) -> Self {
        let mut python_suffixes: HashMap<PathBuf, Vec<&'a Path>> = HashMap::new();
        for f in files.iter().filter(|f| f.extension().is_some_and(|e| e == "py" || e == "pyi")) {
            let parts: Vec<Component<'_>> = f.components().collect();
            for start in 0..parts.len() {
                python_suffixes.entry(parts[start..].iter().collect()).or_default().push(f);
            }
        }
        Self { files: files.iter().map(PathBuf::as_path).collect(), python_suffixes }
    }

    fn has(&self, p: &Path) -> bool {
        self.files.contains(p)
    }

    /// The workspace files `file` (of `lang`, with text `source`) imports.
    fn links(&self, lang: agent_syntax::Lang, file: &Path, source: &str) -> Vec<PathBuf> {
        use agent_syntax::Lang;
        let mut out: Vec<PathBuf> = match lang {
            Lang::Python => self.python_links(file, source),
            Lang::JavaScript | Lang::TypeScript | Lang::Tsx => self.js_links(lang, file, source),
            Lang::Rust => self.rust_links(file, source),
            Lang::Go => Vec::new(),
        };
        out.sort();
        out.dedup();
        out
    }

    fn python_links(&self, file: &Path, source: &str) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let dir = file.parent().unwrap_or(Path::new(""));
        for import in agent_syntax::imports::python_imports(source) {
            let module: PathBuf = import.segments().collect();
            let mut candidates: Vec<PathBuf> = Vec::new();
            if !module.as_os_str().is_empty() {
                candidates.push(module.with_extension("py"));
                candidates.push(module.join("__init__.py"));
            }
            for name in import.names.iter().filter(|n| *n != "*") {
                candidates.push(module.join(format!("{name}.py")));
                candidates.push(module.join(name).join("__init__.py"));
            }
            if import.relative {
                // The number of dots is not kept: the nearest package that has the module.
                if module.as_os_str().is_empty() {
                    candidates.push(PathBuf::from("__init__.py"));
                }
                for base in dir.ancestors() {
                    let found: Vec<PathBuf> = candidates.iter().map(|c| base.join(c)).filter(|p| self.has(p)).collect();
                    if !found.is_empty() {
                        out.extend(found);
                        break;
                    }
                }
            } else {
                for c in &candidates {
                    // A name that many files end with (`utils.py`) says little: skipped.
                    if let Some(found) = self.python_suffixes.get(c).filter(|f| f.len() <= 4) {
                        out.extend(found.iter().map(|p| p.to_path_buf()));
                    }
                }
            }
        }
        out
    }

    fn js_links(&self, lang: agent_syntax::Lang, file: &Path, source: &str) -> Vec<PathBuf> {
        const EXTENSIONS: &[&str] = &["ts", "tsx", "js", "jsx", "mjs", "cjs", "mts", "cts"];
        let dir = file.parent().unwrap_or(Path::new(""));
        let mut out = Vec::new();
        for import in agent_syntax::imports::js_imports(lang, source) {
            let spec = import.specifier.as_str();
            if !(spec.starts_with("./") || spec.starts_with("../")) {
                continue;
            }
            let Some(target) = normalize(&dir.join(spec)) else { continue };
            let mut candidates = vec![target.clone()];
            // `./x.js` may be written for `x.ts`.
            if target.extension().is_some_and(|e| EXTENSIONS.iter().any(|x| e == *x)) {
                candidates.extend(EXTENSIONS.iter().map(|e| target.with_extension(e)));
            }
            for e in EXTENSIONS {
                let mut with_ext = target.clone().into_os_string();
                with_ext.push(format!(".{e}"));
                candidates.push(PathBuf::from(with_ext));
                candidates.push(target.join(format!("index.{e}")));
            }
            if let Some(found) = candidates.into_iter().find(|c| self.has(c)) {
                out.push(found);
            }
        }
        out
    }

    fn rust_links(&self, file: &Path, source: &str) -> Vec<PathBuf> {
        use agent_syntax::imports::RustImportKind;
        let mut out = Vec::new();
        let module_dir = rust_module_dir(file);
        for import in agent_syntax::imports::rust_imports(source) {
            let segments: Vec<&str> = import.path.iter().map(String::as_str).collect();
            if import.kind == RustImportKind::Mod {
                if let [name] = segments.as_slice() {
                    self.rust_module(&module_dir, name, &mut out);
                }
                continue;
            }
            let Some((first, rest)) = segments.split_first() else { continue };
            let (base, rest) = match *first {
                "crate" => match self.crate_src(file) {
                    Some(src) => (src, rest),
                    None => continue,
                },
                "self" => (module_dir.clone(), rest),
                "super" => {
                    let mut base = module_dir.parent().map(Path::to_path_buf).unwrap_or_default();
                    let mut rest = rest;
                    while let Some(("super", more)) = rest.split_first().map(|(a, b)| (*a, b)) {
                        base = base.parent().map(Path::to_path_buf).unwrap_or_default();
                        rest = more;
                    }
                    (base, rest)
                }
                "std" | "core" | "alloc" => continue,
                name => match self.crate_named(name) {
                    Some(src) => {
                        out.push(src.join("lib.rs"));
                        (src, rest)
                    }
                    None => continue,
                },
            };
            let mut dir = base;
            for seg in rest.iter().filter(|s| !matches!(**s, "*" | "self")) {
                if !self.rust_module(&dir, seg, &mut out) {
                    break;
                }
                dir.push(seg);
            }
        }
        out.retain(|p| self.has(p));
        out
    }

    /// Adds `dir/name.rs` or `dir/name/mod.rs`, whichever exists; whether one did.
    fn rust_module(&self, dir: &Path, name: &str, out: &mut Vec<PathBuf>) -> bool {
        let found: Vec<PathBuf> = [dir.join(format!("{name}.rs")), dir.join(name).join("mod.rs")]
            .into_iter()
            .filter(|p| self.has(p))
            .collect();
        let any = !found.is_empty();
        out.extend(found);
        any
    }

    /// The directory of the crate root (`lib.rs` or `main.rs`) above `file`.
    fn crate_src(&self, file: &Path) -> Option<PathBuf> {
        file.ancestors()
            .skip(1)
            .find(|d| self.has(&d.join("lib.rs")) || self.has(&d.join("main.rs")))
            .map(Path::to_path_buf)
    }

    /// `DIR/src` of the workspace crate named `name` (its directory named
    /// `name` or with `-` for `_`) that has a `src/lib.rs`.
    fn crate_named(&self, name: &str) -> Option<PathBuf> {
        let dashed = name.replace('_', "-");
        let mut found: Vec<&Path> = self
            .files
            .iter()
            .copied()
            .filter(|f| f.ends_with("src/lib.rs"))
            .filter(|f| {
                let dir = f.parent().and_then(Path::parent).and_then(Path::file_name).and_then(|n| n.to_str());
                dir.is_some_and(|d| d == name || d == dashed)
            })
            .collect();
        found.sort();
        found.first().and_then(|f| f.parent()).map(Path::to_path_buf)
    }
}

/// The directory of the modules a Rust file declares: its own directory for
/// `lib.rs`, `main.rs` and `mod.rs`, else the directory named after it.
#[cfg(feature = "syntax")]
fn rust_module_dir(file: &Path) -> PathBuf {
    let dir = file.parent().unwrap_or(Path::new(""));
    match file.file_name().and_then(|n| n.to_str()) {
        Some("lib.rs" | "main.rs" | "mod.rs") => dir.to_path_buf(),
        _ => dir.join(file.file_stem().unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_footer_counts_what_was_left_out() {
        assert_eq!(footer(3, None, 0), "(left out: 3 files)\n");
        assert_eq!(footer(0, None, 7), "(left out: 7 symbols)\n");
        assert_eq!(footer(2, Some(100), 5), "(left out: 2 files and any beyond the first 100, 5 symbols)\n");
    }

    #[cfg(feature = "syntax")]
    #[test]
    fn normalize_folds_dots_and_refuses_to_climb_out() {
        assert_eq!(normalize(Path::new("a/./b/../c")), Some(PathBuf::from("a/c")));
        assert_eq!(normalize(Path::new("a/../../c")), None);
        assert_eq!(normalize(Path::new("/etc/passwd")), None);
    }
}
