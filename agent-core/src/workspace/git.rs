//! The hardening every host-run `git` gets, as pure data: the `-c`
//! settings ([`HARDENED_SETTINGS`]), the variables to clear
//! ([`CLEARED_VARIABLES`]), the variables to set ([`SET_VARIABLES`]), and
//! the overrides that switch off every configured filter driver
//! ([`filter_driver_overrides`], from the names [`parse_filter_drivers`]
//! reads in the output of [`FILTER_DRIVERS_QUERY`]).
//!
//! A command may write `.git/config`, `.git/hooks/*` and
//! `.gitattributes`; a `git` the host runs afterwards, outside any
//! sandbox, must run nothing they name. `agent-sandbox` builds its
//! `std::process::Command`s from this data; `agent-loop` (which spawns
//! nothing) builds [`CommandSpec`](crate::exec::CommandSpec)s for an
//! [`Executor`](crate::Executor) from it.
//!
//! ```
//! use agent_core::workspace::git;
//!
//! let args = git::hardened_args(["status", "--porcelain"]);
//! assert_eq!(&args[..2], ["-c", "core.hooksPath=/dev/null"]);
//! assert_eq!(args.last().map(String::as_str), Some("--porcelain"));
//! let drivers = git::parse_filter_drivers(b"filter.lfs.clean\ngit-lfs clean\0");
//! let env = git::filter_driver_overrides(&drivers);
//! assert!(env.contains(&("GIT_CONFIG_KEY_0".to_owned(), "filter.lfs.clean".to_owned())));
//! ```

/// `-c` settings every host-run `git` gets (each after a `-c`): hooks off,
/// no file-system monitor or untracked cache, no automatic gc or
/// maintenance, no transport helper or prompt, no pager, no submodule
/// recursion.
pub const HARDENED_SETTINGS: &[&str] = &[
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "core.untrackedCache=false",
    "gc.auto=0",
    "maintenance.auto=false",
    "protocol.allow=never",
    "protocol.ext.allow=never",
    "core.sshCommand=false",
    "core.askPass=",
    "credential.helper=",
    "core.pager=cat",
    "submodule.recurse=false",
];

/// Variables that point git at another repository, index or program: a
/// host-run `git` never inherits them.
pub const CLEARED_VARIABLES: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_COMMON_DIR",
    "GIT_PREFIX",
    "GIT_EXTERNAL_DIFF",
    "GIT_PAGER",
    "PAGER",
    "GIT_ASKPASS",
    "SSH_ASKPASS",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_EDITOR",
    "GIT_SEQUENCE_EDITOR",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
];

/// Variables every host-run `git` gets: no terminal prompt, no lazy fetch
/// of a partial clone's missing objects, messages in English.
pub const SET_VARIABLES: &[(&str, &str)] = &[("GIT_TERMINAL_PROMPT", "0"), ("GIT_NO_LAZY_FETCH", "1"), ("LC_ALL", "C")];

/// The keys (and values) overridden for each configured filter driver:
/// git then stores and writes the bytes as they are, running nothing.
pub const FILTER_KEYS: [(&str, &str); 4] = [("clean", ""), ("smudge", ""), ("process", ""), ("required", "false")];

/// The arguments of the `git config` that lists the filter drivers; its
/// output goes to [`parse_filter_drivers`] (exit code 1: none).
pub const FILTER_DRIVERS_QUERY: [&str; 4] = ["config", "-z", "--get-regexp", r"^filter\."];

/// `-c SETTING` for each of [`HARDENED_SETTINGS`], then `args`.
pub fn hardened_args<I, S>(args: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut out = Vec::with_capacity(HARDENED_SETTINGS.len() * 2 + 4);
    for setting in HARDENED_SETTINGS {
        out.push("-c".to_owned());
        out.push((*setting).to_owned());
    }
    out.extend(args.into_iter().map(Into::into));
    out
}

/// Driver names in `git config -z` output (`key\nvalue\0` records): the
/// part of `filter.<name>.<key>` between the first and the last dot, each
/// once, in order.
pub fn parse_filter_drivers(output: &[u8]) -> Vec<Vec<u8>> {
    let mut names: Vec<Vec<u8>> = Vec::new();
    for record in output.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let key = record.split(|b| *b == b'\n').next().unwrap_or_default();
        let Some(rest) = key.strip_prefix(b"filter.") else { continue };
        let Some(dot) = rest.iter().rposition(|b| *b == b'.') else { continue };
        let name = &rest[..dot];
        if !names.iter().any(|n| n == name) {
            names.push(name.to_vec());
        }
    }
    names
}

/// The `GIT_CONFIG_KEY_<n>`/`GIT_CONFIG_VALUE_<n>` pairs (and
/// `GIT_CONFIG_COUNT`, when there are any) that override every key of
/// [`FILTER_KEYS`] for each driver in `drivers`. Names that are not UTF-8
/// are kept lossily (an executor's environment is text).
pub fn filter_driver_overrides(drivers: &[Vec<u8>]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut n = 0usize;
    for name in drivers {
        let name = String::from_utf8_lossy(name);
        for (key, value) in FILTER_KEYS {
            out.push((format!("GIT_CONFIG_KEY_{n}"), format!("filter.{name}.{key}")));
            out.push((format!("GIT_CONFIG_VALUE_{n}"), value.to_owned()));
            n += 1;
        }
    }
    if n > 0 {
        out.push(("GIT_CONFIG_COUNT".to_owned(), n.to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_names_keep_dots_spaces_and_case_and_come_once() {
        let out = b"filter.lfs.clean\ngit-lfs clean -- %f\0filter.lfs.smudge\nx\0filter.a.B c.process\ny\0filter.lfs.required\ntrue\0";
        assert_eq!(parse_filter_drivers(out), vec![b"lfs".to_vec(), b"a.B c".to_vec()]);
    }

    #[test]
    fn every_driver_gets_each_filter_key_overridden_and_the_count_says_how_many() {
        let env = filter_driver_overrides(&[b"lfs".to_vec(), b"x".to_vec()]);
        assert_eq!(env.last(), Some(&("GIT_CONFIG_COUNT".to_owned(), "8".to_owned())));
        assert!(env.contains(&("GIT_CONFIG_KEY_7".to_owned(), "filter.x.required".to_owned())));
        assert!(env.contains(&("GIT_CONFIG_VALUE_7".to_owned(), "false".to_owned())));
        assert!(filter_driver_overrides(&[]).is_empty());
    }
}
