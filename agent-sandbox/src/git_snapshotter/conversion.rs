//! Which paths git may convert on the way into the index, read with gix's
//! attribute machinery (`.gitattributes` in the working tree or the index,
//! `info/attributes`, the global and system attribute files) and
//! `core.autocrlf`.
//!
//! A snapshot stores a file's raw bytes. The user's index can stand in for
//! reading a file only when the blob git stored for it is those bytes, that
//! is when no conversion applies: no `text`, `text=auto`, `eol=...` or
//! legacy `crlf` attribute (or `-text`/`binary`, which switch line-ending
//! conversion off), no `core.autocrlf` for paths without those, and no
//! `filter`, `ident` or `working-tree-encoding`. Anything else, or anything
//! not understood, counts as converted: the file is read (or taken from the
//! [stat cache](super::stat_cache)), never taken from the index.

use super::gix_snapshot::backend;
use agent_core::snapshot::SnapshotError;
use gix::attrs::StateRef;
use gix::bstr::{BStr, BString, ByteSlice};
use gix::index::entry::Mode;
use std::collections::HashSet;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The attributes that decide git's to-index conversions, in this order.
const ATTRS: [&str; 6] = ["crlf", "ident", "filter", "eol", "text", "working-tree-encoding"];

/// Answers whether git may convert a path's bytes when it stages them.
pub(super) struct Conversions<'repo> {
    /// gix's attribute stack with the outcome for [`ATTRS`]; `None` when no
    /// attribute file exists anywhere it could come from.
    stack: Option<(gix::AttributeStack<'repo>, gix::attrs::search::Outcome)>,
    /// `core.autocrlf` is set to something other than false: paths without
    /// line-ending attributes are converted too.
    autocrlf: bool,
}

impl<'repo> Conversions<'repo> {
    /// Reads the configuration and finds the attribute files of `repo`
    /// (per directory, only in `dirs`, the directories of `index`).
    pub(super) fn new(
        repo: &'repo gix::Repository,
        root: &Path,
        index: &gix::index::State,
        dirs: &HashSet<BString>,
    ) -> Result<Self, SnapshotError> {
        let config = repo.config_snapshot();
        let autocrlf = config.string("core.autocrlf").is_some_and(|v| {
            !matches!(v.to_str_lossy().to_ascii_lowercase().as_str(), "false" | "no" | "off" | "0" | "")
        });
        let any_attributes = has_attribute_files(repo, root, index, dirs);
        let stack = if any_attributes {
            let stack = repo
                .attributes_only(index, gix::worktree::stack::state::attributes::Source::WorktreeThenIdMapping)
                .map_err(backend("attributes"))?;
            let outcome = stack.selected_attribute_matches(ATTRS);
            Some((stack, outcome))
        } else {
            None
        };
        Ok(Self { stack, autocrlf })
    }

    /// Whether nothing at all can convert: no attribute files, no `core.autocrlf`.
    pub(super) fn none(&self) -> bool {
        self.stack.is_none() && !self.autocrlf
    }

    /// Whether git may store the file at `path` as something other than its bytes.
    pub(super) fn may_convert(&mut self, path: &BStr) -> Result<bool, SnapshotError> {
        let Some((stack, outcome)) = &mut self.stack else { return Ok(self.autocrlf) };
        outcome.reset();
        let platform = stack
            .at_entry(path, Some(Mode::FILE))
            .map_err(|e| SnapshotError::Backend { operation: "attributes".into(), message: e.to_string() })?;
        platform.matching_attributes(outcome);
        let mut states = [StateRef::Unspecified; ATTRS.len()];
        for (slot, m) in states.iter_mut().zip(outcome.iter_selected()) {
            *slot = m.assignment.state;
        }
        let [crlf, ident, filter, eol, text, encoding] = states;
        let given = |s: StateRef<'_>| !matches!(s, StateRef::Unspecified | StateRef::Unset);
        if given(filter) || given(ident) || given(encoding) {
            return Ok(true);
        }
        // `text` decides, then the legacy `crlf`; unset means binary.
        let line_endings = if matches!(text, StateRef::Unspecified) { crlf } else { text };
        Ok(match line_endings {
            StateRef::Unset => false,
            StateRef::Set | StateRef::Value(_) => true,
            StateRef::Unspecified => !matches!(eol, StateRef::Unspecified) || self.autocrlf,
        })
    }
}

/// Whether any attribute file could apply to a tracked path: a
/// `.gitattributes` in the working tree in one of `dirs` or in the index,
/// `info/attributes`, `core.attributesFile` or the default global, system
/// and installation files.
fn has_attribute_files(
    repo: &gix::Repository,
    root: &Path,
    index: &gix::index::State,
    dirs: &HashSet<BString>,
) -> bool {
    let in_index = index.entries().iter().any(|e| {
        let p = e.path(index);
        p == ".gitattributes" || p.ends_with(b"/.gitattributes")
    });
    if in_index {
        return true;
    }
    let in_tree = dirs.iter().any(|d| {
        let mut full = root.join(std::ffi::OsStr::from_bytes(d));
        full.push(".gitattributes");
        full.symlink_metadata().is_ok()
    });
    if in_tree {
        return true;
    }
    let mut files = vec![repo.common_dir().join("info/attributes"), repo.git_dir().join("info/attributes")];
    let config = repo.config_snapshot();
    if config.string("core.attributesFile").is_some() {
        return true;
    }
    let mut env = |name: &str| std::env::var_os(name);
    for source in [gix::attrs::Source::GitInstallation, gix::attrs::Source::System, gix::attrs::Source::Git] {
        if let Some(path) = source.storage_location(&mut env) {
            files.push(path);
        }
    }
    files.iter().any(|f| f.exists())
}
