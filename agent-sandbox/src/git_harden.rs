//! The one way the host runs `git` in a repository a command may have
//! written to: nothing the repository's configuration, attributes or hooks
//! name is ever run by the host.
//!
//! A sandboxed command can write `.git/config`, `.git/info/attributes`,
//! `.git/hooks/*` and the working tree's `.gitattributes` (unless the
//! executor makes `.git` read-only), and the host then runs `git` there
//! outside any sandbox: to snapshot, restore or reset a worktree slot. So
//! every such `git` gets, on its command line (which wins over every
//! configuration file):
//!
//! - hooks off (`core.hooksPath=/dev/null`: `post-checkout`,
//!   `post-index-change`, `reference-transaction`, `pre-auto-gc`, …);
//! - no file-system monitor (`core.fsmonitor=false`) and no untracked cache;
//! - no automatic gc or maintenance (`gc.auto=0`, `maintenance.auto=false`);
//! - no transport: no lazy fetch of a partial clone's missing objects
//!   (`GIT_NO_LAZY_FETCH=1`), `protocol.allow=never` and
//!   `protocol.ext.allow=never`, `core.sshCommand=false`, no credential
//!   helper, no askpass, no terminal prompt;
//! - no pager, no submodule recursion;
//! - every filter driver configured anywhere (`filter.<name>.*`, found with
//!   [`filter_drivers`]) overridden with an empty `clean`, `smudge` and
//!   `process` and `required=false`: git then stores and writes the bytes as
//!   they are, running nothing. The overrides go through
//!   `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_<n>`, so any driver name works
//!   (`-c` cannot express a name holding `=`).
//!
//! Settings only other commands read are never reached by the commands the
//! host runs (plumbing, `checkout`, `clean`, `worktree`): `diff.external`
//! (porcelain `git diff` only), `core.alternateRefsCommand` (fetch and
//! receive-pack), `uploadpack.packObjectsHook` (upload-pack, and ignored in
//! a repository's own configuration anyway), `core.editor`,
//! `gpg.program` (snapshot commits are made with `--no-gpg-sign`).
//!
//! The environment is cleared of repository overrides (`GIT_DIR`,
//! `GIT_WORK_TREE`, `GIT_INDEX_FILE`, …) and of program overrides
//! (`GIT_EXTERNAL_DIFF`, `GIT_PAGER`, `GIT_ASKPASS`, …), so only what the
//! caller sets applies.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};

use agent_core::workspace::git::{
    CLEARED_VARIABLES as CLEARED, FILTER_KEYS, HARDENED_SETTINGS as SETTINGS, SET_VARIABLES,
};

/// `git` (the program `git`) in `dir` with the hardening of this module,
/// stdin from `/dev/null`, and the given filter drivers switched off
/// (pass what [`filter_drivers`] found for the same repository). With
/// `git_dir`, the repository is pinned: `GIT_DIR` is `git_dir` and
/// `GIT_WORK_TREE` is `dir`, so neither a `.git` file nor `core.worktree`
/// can point git elsewhere.
pub(crate) fn command(git: &Path, dir: &Path, git_dir: Option<&Path>, drivers: &[Vec<u8>]) -> Command {
    let mut cmd = Command::new(git);
    cmd.current_dir(dir).stdin(Stdio::null());
    for setting in SETTINGS {
        cmd.args(["-c", setting]);
    }
    for var in CLEARED {
        cmd.env_remove(var);
    }
    // Inherited `GIT_CONFIG_KEY_<n>` go with the count cleared above.
    for (key, _) in std::env::vars_os() {
        if key.as_encoded_bytes().starts_with(b"GIT_CONFIG_KEY_")
            || key.as_encoded_bytes().starts_with(b"GIT_CONFIG_VALUE_")
        {
            cmd.env_remove(key);
        }
    }
    let mut n = 0usize;
    for name in drivers {
        for (key, value) in FILTER_KEYS {
            let mut full = b"filter.".to_vec();
            full.extend_from_slice(name);
            full.push(b'.');
            full.extend_from_slice(key.as_bytes());
            // Driver names come from the configuration: never a NUL.
            cmd.env(format!("GIT_CONFIG_KEY_{n}"), bytes_to_os(full));
            cmd.env(format!("GIT_CONFIG_VALUE_{n}"), value);
            n += 1;
        }
    }
    if n > 0 {
        cmd.env("GIT_CONFIG_COUNT", n.to_string());
    }
    for (name, value) in SET_VARIABLES {
        cmd.env(name, value);
    }
    if let Some(git_dir) = git_dir {
        cmd.env("GIT_DIR", git_dir).env("GIT_WORK_TREE", dir);
    }
    cmd
}

fn bytes_to_os(bytes: Vec<u8>) -> OsString {
    use std::os::unix::ffi::OsStringExt;
    OsString::from_vec(bytes)
}

/// The arguments of the `git config` that lists the filter drivers (see
/// [`filter_drivers`]); its output goes to [`parse_filter_drivers_output`].
pub(crate) const FILTER_DRIVERS_QUERY: [&str; 4] = agent_core::workspace::git::FILTER_DRIVERS_QUERY;

/// The names of every filter driver git's configuration for `dir` (and
/// `git_dir`, as in [`command`]) defines (`filter.<name>.<key>` in any
/// scope, included files too), read with `git config` hardened like every
/// other command (reading configuration runs nothing). Outside a
/// repository that is the global and system ones.
pub(crate) fn filter_drivers(git: &Path, dir: &Path, git_dir: Option<&Path>) -> std::io::Result<Vec<Vec<u8>>> {
    let out = command(git, dir, git_dir, &[])
        .args(FILTER_DRIVERS_QUERY)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()?;
    parse_filter_drivers_output(&out)
}

/// The driver names in the output of [`FILTER_DRIVERS_QUERY`]; a failed
/// `git config` (other than "nothing matched") is an error.
pub(crate) fn parse_filter_drivers_output(out: &std::process::Output) -> std::io::Result<Vec<Vec<u8>>> {
    // 1: nothing matched.
    if out.status.code() == Some(1) {
        return Ok(Vec::new());
    }
    if !out.status.success() {
        return Err(std::io::Error::other(format!(
            "git config --get-regexp filter: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(parse_filter_drivers(&out.stdout))
}

/// Driver names in `git config -z` output (`key\nvalue\0` records).
fn parse_filter_drivers(output: &[u8]) -> Vec<Vec<u8>> {
    agent_core::workspace::git::parse_filter_drivers(output)
}

#[cfg(test)]
mod tests {
    use super::parse_filter_drivers;

    #[test]
    fn driver_names_keep_dots_spaces_and_case_and_come_once() {
        let out = b"filter.lfs.clean\ngit-lfs clean -- %f\0filter.lfs.smudge\nx\0filter.a.B c.process\ny\0filter.lfs.required\ntrue\0";
        assert_eq!(parse_filter_drivers(out), vec![b"lfs".to_vec(), b"a.B c".to_vec()]);
    }
}
