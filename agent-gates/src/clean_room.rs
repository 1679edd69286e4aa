//! [`CleanRoomGate`]: the candidate state copied into a fresh directory, set
//! up from scratch with only what it declares, then tested.

use agent_core::exec::{CommandSpec, RunOutput};
use agent_core::gate::{GateContext, GateError, GateReport};
use agent_core::{Executor, FailureClassifier, Gate, async_trait};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const GATE: &str = "clean_room";

/// Directories never copied into a clean room outside git: dependencies,
/// build output and caches the fresh setup must recreate.
const EXCLUDED_DIRS: &[&str] = &["target", "node_modules", ".git", ".venv", "__pycache__", "dist", "build"];

/// Copies the candidate state of the workspace — in a git repository the
/// tracked files plus new files that are not ignored, as they are on disk;
/// elsewhere every file outside dependency and build directories — into a
/// fresh directory, runs every project's setup command there (primary
/// first), then the test command, and classifies the run.
///
/// What it catches: a change that passes only because of something the
/// repository does not hold — an ignored generated file, an installed but
/// undeclared package, a build cache, a file outside the tree.
///
/// ```no_run
/// use agent_gates::CleanRoomGate;
/// use agent_sandbox::ProcessExecutor;
/// use std::sync::Arc;
///
/// # fn demo(classifier: Arc<dyn agent_core::FailureClassifier>) {
/// let gate = CleanRoomGate::new(Arc::new(ProcessExecutor::new()), classifier);
/// # }
/// ```
#[derive(Clone)]
pub struct CleanRoomGate {
    executor: Arc<dyn Executor>,
    classifier: Arc<dyn FailureClassifier>,
    parent: Option<PathBuf>,
    timeout: Duration,
}

impl std::fmt::Debug for CleanRoomGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CleanRoomGate").field("parent", &self.parent).finish_non_exhaustive()
    }
}

impl CleanRoomGate {
    /// A gate that runs through `executor` and classifies the tests with `classifier`.
    pub fn new(executor: Arc<dyn Executor>, classifier: Arc<dyn FailureClassifier>) -> Self {
        Self { executor, classifier, parent: None, timeout: Duration::from_secs(1800) }
    }

    /// Creates clean rooms under `dir` instead of the system temp directory.
    pub fn in_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.parent = Some(dir.into());
        self
    }

    /// The wall-time limit of each setup and test command (default 30 minutes).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    async fn run(&self, spec: CommandSpec) -> Result<RunOutput, GateError> {
        self.executor
            .run(spec.wall_timeout(self.timeout))
            .await
            .map_err(|source| GateError::Exec { gate: GATE.to_owned(), source })
    }

    /// The candidate state's files, relative to `root`.
    async fn candidate_files(&self, root: &Path) -> Result<Vec<PathBuf>, GateError> {
        if root.join(".git").exists() {
            let spec = CommandSpec::new("git")
                .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
                .cwd(root);
            let out = self.run(spec).await?;
            if !out.success() {
                return Err(GateError::CouldNotCheck {
                    gate: GATE.to_owned(),
                    reason: format!("git ls-files failed: {}", out.stderr.text().trim()),
                });
            }
            let mut files: Vec<PathBuf> =
                out.stdout.text().split('\0').filter(|p| !p.is_empty()).map(PathBuf::from).collect();
            files.sort();
            files.dedup();
            return Ok(files);
        }
        let mut files = Vec::new();
        let mut stack = vec![PathBuf::new()];
        while let Some(rel) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(root.join(&rel)) else { continue };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Ok(kind) = entry.file_type() else { continue };
                let path = rel.join(&name);
                if kind.is_dir() {
                    if !EXCLUDED_DIRS.iter().any(|x| name == *x) {
                        stack.push(path);
                    }
                } else {
                    files.push(path);
                }
            }
        }
        files.sort();
        Ok(files)
    }
}

fn copy_into(root: &Path, room: &Path, files: &[PathBuf]) -> std::io::Result<usize> {
    let mut copied = 0;
    for rel in files {
        let from = root.join(rel);
        let Ok(meta) = std::fs::symlink_metadata(&from) else { continue }; // deleted in the candidate
        let to = room.join(rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&from)?, &to)?;
        } else if meta.is_file() {
            std::fs::copy(&from, &to)?;
        } else {
            continue;
        }
        copied += 1;
    }
    Ok(copied)
}

fn findings_of(classifier: &dyn FailureClassifier, run: &RunOutput, cx: &GateContext) -> Vec<String> {
    let c = classifier.classify(run, &cx.profile);
    let mut out: Vec<String> = c
        .failures
        .iter()
        .take(20)
        .map(|f| {
            let place = match (&f.file, f.line) {
                (Some(file), Some(line)) => format!(" {}:{line}", file.display()),
                _ => String::new(),
            };
            format!("[{}]{place} {}", f.kind.name(), f.message.lines().next().unwrap_or_default())
        })
        .collect();
    if out.is_empty() {
        let tail = run.stderr.text();
        let last = tail.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
        out.push(format!("exit {:?}: {last}", run.exit_code));
    }
    out
}

#[async_trait]
impl Gate for CleanRoomGate {
    async fn check(&self, cx: &GateContext) -> Result<GateReport, GateError> {
        let Some(test) = cx.profile.test_command() else {
            return Err(GateError::NotApplicable { gate: GATE.to_owned(), reason: "no test command".to_owned() });
        };
        let files = self.candidate_files(&cx.root).await?;
        let io = |e: std::io::Error| GateError::CouldNotCheck { gate: GATE.to_owned(), reason: e.to_string() };
        let room = match &self.parent {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(io)?;
                tempfile::Builder::new().prefix("clean-room-").tempdir_in(dir).map_err(io)?
            }
            None => tempfile::Builder::new().prefix("clean-room-").tempdir().map_err(io)?,
        };
        let copied = copy_into(&cx.root, room.path(), &files).map_err(io)?;
        let mut projects: Vec<_> = cx.profile.projects.iter().collect();
        projects.sort_by_key(|p| !p.primary);
        for setup in projects.iter().filter_map(|p| p.setup.as_ref()) {
            let run = self.run(setup.to_spec(room.path())).await?;
            if !run.success() {
                let mut report =
                    GateReport::new(GATE, false, format!("setup `{}` failed in a fresh copy", setup.display()));
                report.findings = findings_of(self.classifier.as_ref(), &run, cx);
                return Ok(report);
            }
        }
        let run = self.run(test.to_spec(room.path())).await?;
        let classification = self.classifier.classify(&run, &cx.profile);
        let passed = run.success() && classification.valid_run;
        let mut report = if passed {
            GateReport::new(
                GATE,
                true,
                format!("`{}` passed in a fresh copy of {copied} file(s)", test.display_redacted()),
            )
        } else {
            GateReport::new(
                GATE,
                false,
                format!("`{}` failed in a fresh copy of {copied} file(s)", test.display_redacted()),
            )
        };
        if !passed {
            report.findings = findings_of(self.classifier.as_ref(), &run, cx);
        }
        Ok(report)
    }
}
