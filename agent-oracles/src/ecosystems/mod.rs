//! Workspace oracles for every ecosystem beyond cargo, over one bounded scan.
//!
//! The scan lists the root and the directories below it down to
//! [`SCAN_DEPTH`] levels, honouring `.gitignore` files (nested ones and
//! `!` negations included, with git's precedence) and skipping
//! dependency, vendored and build directories ([`SKIPPED_DIRS`]) and hidden
//! ones; directories named by a manifest (workspace globs, `go.work` `use`,
//! Maven modules, Gradle includes) are read as well. It never walks the whole
//! tree. Each ecosystem file turns the manifests of one directory into projects.

pub(crate) mod ci;
mod detect;
pub(crate) mod dotnet;
pub(crate) mod formats;
pub(crate) mod go;
pub(crate) mod jvm;
pub(crate) mod native;
pub(crate) mod node;
pub(crate) mod python;
pub(crate) mod rank;
pub(crate) mod scripting;
pub(crate) mod tasks;
mod validate;

pub use detect::{Ecosystem, EcosystemOracle};
pub use validate::{Validation, ValidationError, dry_run_of, scaffold, validate_test_command};

use agent_core::workspace::{DetectedCommand, Evidence, OracleError};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Directory levels below the root whose entries are listed (the root is level 0).
pub const SCAN_DEPTH: usize = 2;
/// Most directories listed by one scan.
const MAX_DIRS: usize = 4096;

/// Directories never entered: dependencies, vendored code, build output, VCS data.
pub const SKIPPED_DIRS: &[&str] = &[
    "node_modules",
    "target",
    "vendor",
    ".venv",
    "venv",
    "dist",
    "build",
    ".git",
    "__pycache__",
    "bower_components",
    "out",
    "bin",
    "obj",
    ".gradle",
    ".tox",
    ".nox",
    "builddir",
    "site-packages",
];

/// One listed directory: its path relative to the root and its file names.
#[derive(Debug, Clone)]
pub(crate) struct Dir {
    /// Relative to the root; empty for the root.
    pub(crate) rel: PathBuf,
    /// Names of the regular files in it.
    pub(crate) files: BTreeSet<String>,
    /// Names of its subdirectories (not skipped).
    pub(crate) subdirs: BTreeSet<String>,
}

impl Dir {
    pub(crate) fn has(&self, name: &str) -> bool {
        self.files.contains(name)
    }

    /// `rel/name` as a path relative to the root.
    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.rel.join(name)
    }
}

/// The `.gitignore` files met so far, one matcher per directory that has one
/// (plus `.git/info/exclude` at the root), with git's precedence: the
/// deepest file that says anything about a path decides, and a `!pattern`
/// there re-includes what a shallower file ignored.
#[derive(Debug, Default)]
pub(crate) struct Ignore {
    /// `(directory relative to the root, its matcher)`, in the order met.
    matchers: Vec<(PathBuf, ignore::gitignore::Gitignore)>,
    /// Directories whose `.gitignore` was already looked for.
    loaded: BTreeSet<PathBuf>,
}

impl Ignore {
    /// Loads `rel/.gitignore` (and, for the root, `.git/info/exclude`).
    fn add_dir(&mut self, root: &Path, rel: &Path) {
        if !self.loaded.insert(rel.to_path_buf()) {
            return;
        }
        let abs = root.join(rel);
        let mut builder = ignore::gitignore::GitignoreBuilder::new(&abs);
        let mut any = false;
        let mut files = vec![abs.join(".gitignore")];
        if rel.as_os_str().is_empty() {
            files.insert(0, abs.join(".git").join("info").join("exclude"));
        }
        for file in files {
            if file.is_file() {
                // A malformed line is skipped by the builder; the rest still apply.
                let _ = builder.add(&file);
                any = true;
            }
        }
        if !any {
            return;
        }
        if let Ok(matcher) = builder.build() {
            self.matchers.push((rel.to_path_buf(), matcher));
        }
    }

    /// Whether `rel` (relative to the root) is ignored; `is_dir` as git needs it for `dir/` patterns.
    fn ignored(&self, root: &Path, rel: &Path, is_dir: bool) -> bool {
        let abs = root.join(rel);
        let mut deepest: Option<(usize, bool)> = None;
        for (dir, matcher) in &self.matchers {
            if !rel.starts_with(dir) || rel == dir {
                continue;
            }
            let depth = dir.components().count();
            if deepest.is_some_and(|(d, _)| d > depth) {
                continue;
            }
            match matcher.matched(&abs, is_dir) {
                ignore::Match::Ignore(_) => deepest = Some((depth, true)),
                ignore::Match::Whitelist(_) => deepest = Some((depth, false)),
                ignore::Match::None => {}
            }
        }
        deepest.is_some_and(|(_, ignored)| ignored)
    }

    /// Whether `rel` or any directory above it is ignored.
    fn ignored_or_parent(&self, root: &Path, rel: &Path, is_dir: bool) -> bool {
        if self.ignored(root, rel, is_dir) {
            return true;
        }
        rel.ancestors().skip(1).filter(|a| !a.as_os_str().is_empty()).any(|a| self.ignored(root, a, true))
    }
}

/// Whether a directory name is skipped by every scan.
pub(crate) fn skipped(name: &str) -> bool {
    name.starts_with('.') || SKIPPED_DIRS.contains(&name)
}

/// The bounded scan of a workspace.
#[derive(Debug)]
pub(crate) struct Scan {
    pub(crate) root: PathBuf,
    pub(crate) dirs: Vec<Dir>,
    /// The command lines the root's CI configuration runs ([`ci::runs`]).
    pub(crate) ci: Vec<ci::Run>,
    ignore: Ignore,
}

impl Scan {
    /// Lists the root and its directories down to `max_depth` levels.
    pub(crate) fn new(root: &Path, max_depth: usize) -> Result<Self, OracleError> {
        if !root.is_dir() {
            return Err(OracleError::NotADirectory { path: root.to_path_buf() });
        }
        let mut scan =
            Self { root: root.to_path_buf(), dirs: Vec::new(), ci: ci::runs(root), ignore: Ignore::default() };
        let mut queue = std::collections::VecDeque::from([(PathBuf::new(), 0usize)]);
        while let Some((rel, depth)) = queue.pop_front() {
            if scan.dirs.len() >= MAX_DIRS {
                break;
            }
            let Some(dir) = scan.list(&rel) else { continue };
            if depth < max_depth {
                for sub in &dir.subdirs {
                    queue.push_back((rel.join(sub), depth + 1));
                }
            }
            scan.dirs.push(dir);
        }
        Ok(scan)
    }

    /// Lists one directory (not recorded); `None` when it cannot be read.
    /// Its `.gitignore`, if any, applies to what it holds from now on.
    fn list(&mut self, rel: &Path) -> Option<Dir> {
        let entries = std::fs::read_dir(self.root.join(rel)).ok()?;
        let mut dir = Dir { rel: rel.to_path_buf(), files: BTreeSet::new(), subdirs: BTreeSet::new() };
        let mut subdirs = Vec::new();
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else { continue };
            let name = entry.file_name().to_string_lossy().into_owned();
            if kind.is_dir() {
                if !skipped(&name) {
                    subdirs.push(name);
                }
            } else if kind.is_file() || kind.is_symlink() {
                dir.files.insert(name);
            }
        }
        if dir.has(".gitignore") || rel.as_os_str().is_empty() {
            self.ignore.add_dir(&self.root, rel);
        }
        for name in subdirs {
            if !self.ignore.ignored(&self.root, &rel.join(&name), true) {
                dir.subdirs.insert(name);
            }
        }
        Some(dir)
    }

    /// The listed directory at `rel`, listing it now when a manifest names it beyond the scan depth.
    pub(crate) fn dir(&mut self, rel: &Path) -> Option<&Dir> {
        if let Some(i) = self.dirs.iter().position(|d| d.rel == rel) {
            return self.dirs.get(i);
        }
        rel.file_name()?;
        if rel.components().any(|c| skipped(&c.as_os_str().to_string_lossy()))
            || self.ignore.ignored_or_parent(&self.root, rel, true)
        {
            return None;
        }
        // Directories between the last listed one and `rel` may hold `.gitignore`s of their own.
        for ancestor in rel.ancestors().skip(1).collect::<Vec<_>>().into_iter().rev() {
            let known = self.dirs.iter().any(|d| d.rel == ancestor);
            if !known && self.root.join(ancestor).join(".gitignore").is_file() {
                self.ignore.add_dir(&self.root, ancestor);
            }
        }
        if self.ignore.ignored_or_parent(&self.root, rel, true) {
            return None;
        }
        let dir = self.list(rel)?;
        self.dirs.push(dir);
        self.dirs.last()
    }

    /// Reads a file relative to the root.
    pub(crate) fn read(&self, rel: &Path) -> Option<String> {
        std::fs::read_to_string(self.root.join(rel)).ok()
    }

    /// Expands a member glob (`packages/*`, `apps/**`, `!excluded`) relative to `base`
    /// to directories holding `marker`; never the root, never skipped directories.
    pub(crate) fn expand(&mut self, base: &Path, pattern: &str, marker: &str) -> Vec<PathBuf> {
        let pattern = normalize(pattern);
        let parts: Vec<String> = pattern.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        let mut found = Vec::new();
        self.expand_from(base.to_path_buf(), &parts, &mut found, 0);
        found.retain(|d: &PathBuf| {
            !d.as_os_str().is_empty() && std::fs::metadata(self.root.join(d).join(marker)).is_ok_and(|m| m.is_file())
        });
        found.sort();
        found.dedup();
        found
    }

    fn expand_from(&mut self, dir: PathBuf, parts: &[String], out: &mut Vec<PathBuf>, depth: usize) {
        let Some((first, rest)) = parts.split_first() else {
            out.push(dir);
            return;
        };
        if depth > 8 {
            return;
        }
        if first == "**" {
            self.expand_from(dir.clone(), rest, out, depth + 1);
            let subs: Vec<String> = self.dir(&dir).map(|d| d.subdirs.iter().cloned().collect()).unwrap_or_default();
            for s in subs {
                self.expand_from(dir.join(s), parts, out, depth + 1);
            }
        } else if first.contains(['*', '?', '[', '{']) {
            let matches = glob_matcher(first);
            let subs: Vec<String> = self.dir(&dir).map(|d| d.subdirs.iter().cloned().collect()).unwrap_or_default();
            for s in subs.into_iter().filter(|s| matches(s)) {
                self.expand_from(dir.join(s), rest, out, depth + 1);
            }
        } else if !skipped(first) {
            self.expand_from(dir.join(first), rest, out, depth + 1);
        }
    }
}

/// `./a/b/` → `a/b`; `.` → empty.
pub(crate) fn normalize(path: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => {}
            other => out.push(other),
        }
    }
    out
}

/// A matcher for one path component of a member glob (`*`, `?`, `[ab]`,
/// `{a,b}`, as [`globset`] reads them); `*` and `?` never match a `/`. A
/// pattern globset rejects (an unclosed `[`) matches only its own text.
pub(crate) fn glob_matcher(pattern: &str) -> impl Fn(&str) -> bool + use<> {
    let glob = globset::GlobBuilder::new(pattern).literal_separator(true).build().map(|g| g.compile_matcher());
    let literal = pattern.to_owned();
    move |name: &str| match &glob {
        Ok(matcher) => matcher.is_match(name),
        Err(_) => name == literal,
    }
}

/// A command run in `cwd` (relative to the root).
pub(crate) fn cmd(
    program: &str,
    args: &[&str],
    cwd: &Path,
    evidence: Vec<Evidence>,
    confidence: f64,
) -> DetectedCommand {
    let mut c = DetectedCommand::new(program, args, evidence, confidence);
    c.cwd = cwd.to_path_buf();
    c
}

/// Evidence with a note.
pub(crate) fn noted(mut ev: Evidence, note: impl Into<String>) -> Evidence {
    ev.note = Some(note.into());
    ev
}

/// Declares a single-ecosystem oracle over [`EcosystemOracle`].
macro_rules! ecosystem_oracle {
    ($(#[$doc:meta])* $name:ident => $eco:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default)]
        pub struct $name;

        impl $name {
            /// The oracle.
            pub fn new() -> Self {
                Self
            }
        }

        #[agent_core::async_trait]
        impl agent_core::WorkspaceOracle for $name {
            async fn inspect(
                &self,
                root: &std::path::Path,
            ) -> Result<agent_core::workspace::WorkspaceProfile, agent_core::workspace::OracleError> {
                detect::inspect(root, &[$eco], SCAN_DEPTH)
            }
        }
    };
}

ecosystem_oracle!(
    /// Go modules and workspaces (`go.mod`, `go.work`).
    GoOracle => Ecosystem::Go
);
ecosystem_oracle!(
    /// Python projects: uv, poetry, pdm, pipenv, hatch, setuptools; pytest, tox, nox.
    PythonOracle => Ecosystem::Python
);
ecosystem_oracle!(
    /// Node and TypeScript projects: npm, pnpm, yarn, bun; workspaces; test runners.
    NodeOracle => Ecosystem::Node
);
ecosystem_oracle!(
    /// Deno projects (`deno.json`, `deno.jsonc`).
    DenoOracle => Ecosystem::Deno
);
ecosystem_oracle!(
    /// Java and Kotlin: Maven modules, Gradle settings and wrappers.
    JvmOracle => Ecosystem::Jvm
);
ecosystem_oracle!(
    /// C and C++: CMake with CTest, Meson.
    NativeOracle => Ecosystem::Native
);
ecosystem_oracle!(
    /// Ruby: Bundler (`Gemfile`), `Rakefile`, rspec.
    RubyOracle => Ecosystem::Ruby
);
ecosystem_oracle!(
    /// PHP: Composer (`composer.json` scripts), phpunit.
    PhpOracle => Ecosystem::Php
);
ecosystem_oracle!(
    /// .NET: solutions and projects.
    DotnetOracle => Ecosystem::Dotnet
);
ecosystem_oracle!(
    /// `Makefile` and `justfile` test targets.
    TaskOracle => Ecosystem::Tasks
);
