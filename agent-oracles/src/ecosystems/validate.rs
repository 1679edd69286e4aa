//! Scaffold (the setup steps that make a fresh checkout testable) and the
//! dry-run validation of the chosen test command through an [`Executor`].

use agent_core::Executor;
use agent_core::exec::{ExecError, RunOutput};
use agent_core::workspace::{DetectedCommand, Evidence, Project, WorkspaceProfile, build_systems};
use std::path::Path;

/// The ordered setup steps that make a fresh checkout testable.
///
/// The primary project's steps come first, then the other projects' in the
/// profile's order; each project contributes its `setup` command, and CMake
/// and Meson projects their build too (their tests need a build tree).
/// Identical steps (same program, arguments and directory) appear once.
///
/// ```
/// use agent_core::workspace::{DetectedCommand, Project, WorkspaceProfile};
/// let mut profile = WorkspaceProfile::new("/repo");
/// let mut p = Project::new("", &["go"], "go");
/// p.setup = Some(DetectedCommand::new("go", &["mod", "download"], vec![], 0.9));
/// profile.projects.push(p);
/// let steps = agent_oracles::scaffold(&profile);
/// assert_eq!(steps[0].display(), "go mod download");
/// ```
pub fn scaffold(profile: &WorkspaceProfile) -> Vec<DetectedCommand> {
    let mut ordered: Vec<&Project> = profile.projects.iter().filter(|p| p.primary).collect();
    ordered.extend(profile.projects.iter().filter(|p| !p.primary));
    let mut steps: Vec<DetectedCommand> = Vec::new();
    for p in ordered {
        let needs_build = p.build_system == build_systems::CMAKE || p.build_system == build_systems::MESON;
        let build = if needs_build { p.build.as_ref() } else { None };
        for c in p.setup.iter().chain(build) {
            let dup = steps.iter().any(|s| s.program == c.program && s.args == c.args && s.cwd == c.cwd);
            if !dup {
                steps.push(c.clone());
            }
        }
    }
    steps
}

/// The dry-run variant of a test command: it builds and collects the tests
/// without running them (`cargo test --no-run`, `pytest --collect-only -q`,
/// `go test -run '^$' ./...`, …). `None` when no dry-run form is known.
pub fn dry_run_of(test: &DetectedCommand) -> Option<DetectedCommand> {
    let args: Vec<&str> = test.args.iter().map(String::as_str).collect();
    let program = test.program.rsplit('/').next().unwrap_or(&test.program);
    let mut new_args: Vec<String> = test.args.clone();
    let mut new_program = test.program.clone();
    let has = |a: &str| args.contains(&a);
    match program {
        "cargo" if has("test") => new_args.push("--no-run".into()),
        "cargo" if has("nextest") => {
            new_args = vec!["nextest".into(), "list".into()];
            new_args.extend(test.args.iter().skip_while(|a| *a != "run").skip(1).cloned());
        }
        "go" if has("test") => {
            let pos = test.args.iter().position(|a| a == "test").unwrap_or(0);
            new_args.splice(pos + 1..pos + 1, ["-run".to_owned(), "^$".to_owned()]);
        }
        _ if program == "pytest" || has("pytest") => {
            new_args.extend(["--collect-only".into(), "-q".into()]);
        }
        _ if has("unittest") => return None,
        _ if has("jest") || program == "jest" => new_args.push("--listTests".into()),
        _ if has("vitest") || program == "vitest" => {
            let pos = test.args.iter().position(|a| a == "vitest").unwrap_or(0);
            new_args.truncate(pos + 1);
            new_args.push("list".into());
        }
        "mvn" | "mvnw" if has("test") => {
            new_args =
                test.args.iter().map(|a| if a == "test" { "test-compile".to_owned() } else { a.clone() }).collect();
        }
        "gradle" | "gradlew" if has("test") => {
            new_args =
                test.args.iter().map(|a| if a == "test" { "testClasses".to_owned() } else { a.clone() }).collect();
        }
        "dotnet" if has("test") => new_args.push("--list-tests".into()),
        "ctest" => new_args.push("-N".into()),
        "meson" if has("test") => new_args.push("--list".into()),
        "deno" if has("test") && !has("task") => new_args.push("--no-run".into()),
        "bundle" if has("rspec") => new_args.push("--dry-run".into()),
        "phpunit" => new_args.push("--list-tests".into()),
        "tox" => new_args.push("--notest".into()),
        "nox" => new_args.push("--list".into()),
        "make" => {
            new_program = test.program.clone();
            new_args.insert(0, "-n".into());
        }
        "just" => new_args.insert(0, "--dry-run".into()),
        _ => return None,
    }
    let mut evidence = test.evidence.clone();
    let mut note = Evidence::file(test.evidence.first().map(|e| e.file.clone()).unwrap_or_default());
    note.note = Some(format!("dry run of `{}`", test.display()));
    evidence.push(note);
    Some(DetectedCommand {
        program: new_program,
        args: new_args,
        cwd: test.cwd.clone(),
        evidence,
        confidence: test.confidence,
    })
}

/// What the dry run of the primary test command showed.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Validation {
    /// The test command the profile chose.
    pub test: DetectedCommand,
    /// Its dry-run variant, which was run.
    pub dry_run: DetectedCommand,
    /// Whether the dry run succeeded (exit 0, no limit hit).
    pub ok: bool,
    /// What the executor reported.
    pub output: RunOutput,
}

/// Why the test command could not be validated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// The profile has no test command.
    #[error("the workspace profile has no test command")]
    NoTestCommand,
    /// No dry-run form of the command is known; running it would run the tests.
    #[error("no dry-run form known for `{command}`")]
    NoDryRun {
        /// The test command.
        command: String,
    },
    /// The executor could not run the dry run.
    #[error("dry run could not be executed: {0}")]
    Exec(#[from] ExecError),
}

/// Runs the dry-run variant of the profile's test command through `executor`
/// (in the profile's root joined with the command's `cwd`) and reports
/// whether it succeeded, with the run's output.
///
/// Nothing here spawns a process; the executor does.
pub async fn validate_test_command(
    profile: &WorkspaceProfile,
    executor: &dyn Executor,
) -> Result<Validation, ValidationError> {
    let test = profile.test_command().ok_or(ValidationError::NoTestCommand)?;
    let dry_run = dry_run_of(test).ok_or_else(|| ValidationError::NoDryRun { command: test.display() })?;
    let root: &Path = &profile.root;
    let output = executor.run(dry_run.to_spec(root)).await?;
    Ok(Validation { test: test.clone(), ok: output.success(), dry_run, output })
}

#[cfg(test)]
mod tests {
    use super::dry_run_of;
    use agent_core::workspace::DetectedCommand;

    fn dry(program: &str, args: &[&str]) -> Option<String> {
        dry_run_of(&DetectedCommand::new(program, args, vec![], 0.9)).map(|c| c.display())
    }

    #[test]
    fn dry_runs_collect_without_running() {
        assert_eq!(dry("cargo", &["test", "--workspace"]).unwrap(), "cargo test --workspace --no-run");
        assert_eq!(dry("uv", &["run", "pytest"]).unwrap(), "uv run pytest --collect-only -q");
        assert_eq!(dry("go", &["test", "./..."]).unwrap(), "go test -run ^$ ./...");
        assert_eq!(dry("npx", &["--no-install", "vitest", "run"]).unwrap(), "npx --no-install vitest list");
        assert_eq!(dry("./mvnw", &["-B", "test"]).unwrap(), "./mvnw -B test-compile");
        assert_eq!(dry("ctest", &["--test-dir", "build"]).unwrap(), "ctest --test-dir build -N");
        assert!(dry("npm", &["test"]).is_none());
    }
}
