//! [`WorkspaceProfile`]: what a [`WorkspaceOracle`](crate::WorkspaceOracle) found in a workspace.

use crate::exec::CommandSpec;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Stable lower-case identifiers of project kinds (`kinds` of a [`Project`]).
pub mod kinds {
    /// Rust.
    pub const RUST: &str = "rust";
    /// Go.
    pub const GO: &str = "go";
    /// Python.
    pub const PYTHON: &str = "python";
    /// Any `package.json` project.
    pub const NODE: &str = "node";
    /// TypeScript.
    pub const TYPESCRIPT: &str = "typescript";
    /// Deno.
    pub const DENO: &str = "deno";
    /// Java.
    pub const JAVA: &str = "java";
    /// Kotlin.
    pub const KOTLIN: &str = "kotlin";
    /// C.
    pub const C: &str = "c";
    /// C++.
    pub const CPP: &str = "cpp";
    /// Ruby.
    pub const RUBY: &str = "ruby";
    /// PHP.
    pub const PHP: &str = "php";
    /// C#.
    pub const CSHARP: &str = "csharp";
}

/// Stable lower-case identifiers of build systems (`build_system` of a [`Project`]).
pub mod build_systems {
    /// Cargo.
    pub const CARGO: &str = "cargo";
    /// The go command.
    pub const GO: &str = "go";
    /// uv.
    pub const UV: &str = "uv";
    /// Poetry.
    pub const POETRY: &str = "poetry";
    /// npm.
    pub const NPM: &str = "npm";
    /// pnpm.
    pub const PNPM: &str = "pnpm";
    /// Yarn.
    pub const YARN: &str = "yarn";
    /// Maven.
    pub const MAVEN: &str = "maven";
    /// Gradle.
    pub const GRADLE: &str = "gradle";
    /// CMake.
    pub const CMAKE: &str = "cmake";
    /// Make.
    pub const MAKE: &str = "make";
    /// PDM.
    pub const PDM: &str = "pdm";
    /// Pipenv.
    pub const PIPENV: &str = "pipenv";
    /// Hatch.
    pub const HATCH: &str = "hatch";
    /// setuptools (setup.py, setup.cfg, requirements files).
    pub const SETUPTOOLS: &str = "setuptools";
    /// Bun.
    pub const BUN: &str = "bun";
    /// Deno.
    pub const DENO: &str = "deno";
    /// Meson.
    pub const MESON: &str = "meson";
    /// just.
    pub const JUST: &str = "just";
    /// Bundler.
    pub const BUNDLER: &str = "bundler";
    /// Composer.
    pub const COMPOSER: &str = "composer";
    /// .NET (dotnet CLI).
    pub const DOTNET: &str = "dotnet";
}

/// Where an answer came from: a file and, when it applies, the field in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Evidence {
    /// The file, relative to the workspace root.
    pub file: PathBuf,
    /// The field or section (`workspace.members`, `scripts.test`), when one applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// A note for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Evidence {
    /// Evidence from a whole file.
    pub fn file(file: impl Into<PathBuf>) -> Self {
        Self { file: file.into(), field: None, note: None }
    }

    /// Evidence from a field of a file.
    pub fn field(file: impl Into<PathBuf>, field: impl Into<String>) -> Self {
        Self { file: file.into(), field: Some(field.into()), note: None }
    }

    /// With a note for people.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
}

/// A command the oracle chose, runnable from the workspace root, with why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DetectedCommand {
    /// The program.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Working directory relative to the workspace root (empty: the root).
    #[serde(default)]
    pub cwd: PathBuf,
    /// Where the choice came from.
    pub evidence: Vec<Evidence>,
    /// 0.0 (a guess) to 1.0 (stated by the project).
    pub confidence: f64,
}

impl DetectedCommand {
    /// A command with its evidence and confidence.
    pub fn new(program: impl Into<String>, args: &[&str], evidence: Vec<Evidence>, confidence: f64) -> Self {
        Self {
            program: program.into(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            cwd: PathBuf::new(),
            evidence,
            confidence,
        }
    }

    /// A [`CommandSpec`] for running it in the workspace at `root`.
    pub fn to_spec(&self, root: &std::path::Path) -> CommandSpec {
        CommandSpec::new(self.program.clone()).args(self.args.clone()).cwd(root.join(&self.cwd))
    }

    /// The command line as one display string.
    pub fn display(&self) -> String {
        std::iter::once(self.program.as_str()).chain(self.args.iter().map(String::as_str)).collect::<Vec<_>>().join(" ")
    }

    /// [`display`](Self::display) with its secrets masked
    /// ([`redact_args`](crate::exec::redact_args)), for logs, journals and reports.
    pub fn display_redacted(&self) -> String {
        let words: Vec<&str> =
            std::iter::once(self.program.as_str()).chain(self.args.iter().map(String::as_str)).collect();
        crate::exec::redact_args(&words).join(" ")
    }
}

/// One project found in a workspace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Project {
    /// Directory of the project, relative to the workspace root (empty: the root).
    pub path: PathBuf,
    /// A name, when the manifest gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Kinds, from [`kinds`].
    pub kinds: Vec<String>,
    /// The build system, from [`build_systems`].
    pub build_system: String,
    /// Whether this is the primary project of the workspace.
    pub primary: bool,
    /// Member directories relative to the workspace root; the root itself is never listed.
    pub members: Vec<PathBuf>,
    /// Command that makes a fresh checkout ready (fetch dependencies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup: Option<DetectedCommand>,
    /// Command that builds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<DetectedCommand>,
    /// Command that runs the tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<DetectedCommand>,
    /// Command that lints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lint: Option<DetectedCommand>,
    /// Where the project itself was found.
    pub evidence: Vec<Evidence>,
    /// 0.0 to 1.0: how sure the oracle is that this project is what it says.
    pub confidence: f64,
}

impl Project {
    /// A project at `path` with these kinds and build system and nothing else yet.
    pub fn new(path: impl Into<PathBuf>, kinds: &[&str], build_system: &str) -> Self {
        Self {
            path: path.into(),
            name: None,
            kinds: kinds.iter().map(|k| (*k).to_owned()).collect(),
            build_system: build_system.to_owned(),
            primary: false,
            members: Vec::new(),
            setup: None,
            build: None,
            test: None,
            lint: None,
            evidence: Vec::new(),
            confidence: 1.0,
        }
    }
}

/// Two or more answers the oracle could not choose between.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Ambiguity {
    /// What is ambiguous (`package manager`, `test command`).
    pub subject: String,
    /// The candidates.
    pub candidates: Vec<String>,
    /// Where each candidate came from.
    pub evidence: Vec<Evidence>,
}

/// Everything an oracle found in a workspace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct WorkspaceProfile {
    /// The workspace root, as given.
    pub root: PathBuf,
    /// Projects found; at most one has `primary` set.
    pub projects: Vec<Project>,
    /// Conflicts reported instead of guessed away.
    #[serde(default)]
    pub ambiguities: Vec<Ambiguity>,
}

impl WorkspaceProfile {
    /// An empty profile of `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into(), projects: Vec::new(), ambiguities: Vec::new() }
    }

    /// The primary project, or the first one.
    pub fn primary(&self) -> Option<&Project> {
        self.projects.iter().find(|p| p.primary).or_else(|| self.projects.first())
    }

    /// The primary project's test command.
    pub fn test_command(&self) -> Option<&DetectedCommand> {
        self.primary().and_then(|p| p.test.as_ref())
    }
}
