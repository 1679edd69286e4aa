//! `git` through the host's [`Executor`], hardened as
//! [`agent_core::workspace::git`] says: hooks, file-system monitor, filter
//! drivers, pagers, prompts and transport helpers off.

use super::MergeError;
use agent_core::Executor;
use agent_core::exec::{CommandSpec, EnvPolicy, OutputCaps, RunOutput};
use agent_core::workspace::git as harden;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Bytes of stderr kept in a [`MergeError::Git`].
const STDERR_TAIL: usize = 2_000;

/// Runs hardened `git` in one worktree through an executor.
pub(super) struct Git<'a> {
    executor: &'a dyn Executor,
    program: &'a str,
    dir: PathBuf,
    env: EnvPolicy,
    timeout: Duration,
    /// Extra `-c` settings put before the subcommand (after the hardening).
    extra: Vec<String>,
}

impl<'a> Git<'a> {
    /// `git` (`program`) in `dir`, with the base hardening and no filter
    /// overrides yet (see [`Git::disable_filters`]).
    pub(super) fn new(executor: &'a dyn Executor, program: &'a str, dir: &Path, timeout: Duration) -> Self {
        let mut env = EnvPolicy::default();
        for (name, value) in harden::SET_VARIABLES {
            env = env.set(*name, *value);
        }
        // The host's identity for the commits git makes, when set in its environment.
        for name in ["GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"] {
            env = env.allow(name);
        }
        // `rebase --continue` would open an editor on the message.
        env = env.set("GIT_EDITOR", "true");
        Self { executor, program, dir: dir.to_path_buf(), env, timeout, extra: Vec::new() }
    }

    /// Sets the author and committer of the commits git makes.
    pub(super) fn identity(mut self, name: &str, email: &str) -> Self {
        for who in ["AUTHOR", "COMMITTER"] {
            self.env = std::mem::take(&mut self.env)
                .set(format!("GIT_{who}_NAME"), name)
                .set(format!("GIT_{who}_EMAIL"), email);
        }
        self
    }

    /// Lists the repository's filter drivers and overrides each of them.
    pub(super) async fn disable_filters(&mut self) -> Result<(), MergeError> {
        let out = self.run(&harden::FILTER_DRIVERS_QUERY).await?;
        match out.exit_code {
            Some(0) => {
                let drivers = harden::parse_filter_drivers(out.stdout.text().as_bytes());
                for (name, value) in harden::filter_driver_overrides(&drivers) {
                    self.env = std::mem::take(&mut self.env).set(name, value);
                }
                Ok(())
            }
            // 1: no filter configured.
            Some(1) => Ok(()),
            _ => Err(git_failed(&harden::FILTER_DRIVERS_QUERY, &out)),
        }
    }

    /// Allows the transports a fetch or push of the host's remote may use
    /// (local paths and `file://`, `https`); every other stays refused.
    pub(super) fn with_transport(&self) -> Git<'a> {
        let mut extra = self.extra.clone();
        for setting in ["protocol.file.allow=always", "protocol.https.allow=always"] {
            extra.push("-c".to_owned());
            extra.push(setting.to_owned());
        }
        Git {
            executor: self.executor,
            program: self.program,
            dir: self.dir.clone(),
            env: self.env.clone(),
            timeout: self.timeout,
            extra,
        }
    }

    /// The same git (environment, settings) in another worktree of the repository.
    pub(super) fn in_dir(&self, dir: &Path) -> Git<'a> {
        Git {
            executor: self.executor,
            program: self.program,
            dir: dir.to_path_buf(),
            env: self.env.clone(),
            timeout: self.timeout,
            extra: self.extra.clone(),
        }
    }

    fn spec(&self, args: &[&str], stdin: Option<&str>) -> CommandSpec {
        let mut all = harden::hardened_args(self.extra.iter().map(String::as_str));
        all.extend(args.iter().map(|a| (*a).to_owned()));
        let mut spec = CommandSpec::new(self.program)
            .args(all)
            .cwd(self.dir.clone())
            .env(self.env.clone())
            .wall_timeout(self.timeout)
            // Whole files go through stdout (`git show :2:F`); larger ones are
            // reported as truncated and never shown to a model in part.
            .output_caps(OutputCaps { head_bytes: 4 << 20, tail_bytes: 4 << 20 });
        if let Some(input) = stdin {
            spec = spec.stdin(input);
        }
        spec
    }

    /// Runs `git ARGS`, whatever its exit code.
    pub(super) async fn run(&self, args: &[&str]) -> Result<RunOutput, MergeError> {
        self.run_with(args, None).await
    }

    async fn run_with(&self, args: &[&str], stdin: Option<&str>) -> Result<RunOutput, MergeError> {
        let spec = self.spec(args, stdin);
        let command = spec.display_redacted();
        self.executor.run(spec).await.map_err(|source| MergeError::Exec { command, source })
    }

    /// Runs `git ARGS` and returns its stdout; a non-zero exit is [`MergeError::Git`].
    pub(super) async fn ok(&self, args: &[&str]) -> Result<String, MergeError> {
        let out = self.run(args).await?;
        if !out.success() {
            return Err(git_failed(args, &out));
        }
        Ok(out.stdout.text())
    }

    /// Runs `git ARGS` with `input` on stdin and returns its stdout.
    pub(super) async fn ok_with_stdin(&self, args: &[&str], input: &str) -> Result<String, MergeError> {
        let out = self.run_with(args, Some(input)).await?;
        if !out.success() {
            return Err(git_failed(args, &out));
        }
        Ok(out.stdout.text())
    }
}

/// The [`MergeError::Git`] of a failed run.
pub(super) fn git_failed(args: &[&str], out: &RunOutput) -> MergeError {
    let stderr = out.stderr.text();
    let trimmed = stderr.trim_end();
    let mut start = trimmed.len().saturating_sub(STDERR_TAIL);
    while !trimmed.is_char_boundary(start) {
        start += 1;
    }
    MergeError::Git {
        command: format!("git {}", agent_core::exec::redact_args(args).join(" ")),
        exit_code: out.exit_code,
        stderr_tail: trimmed[start..].to_owned(),
    }
}
