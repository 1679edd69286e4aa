//! The results cache: one JSON file in the cache directory mapping
//! `(file path, SHA-256 of the file's content, Mutant::key(), context)` to
//! the outcome, so a re-run tests only what may have changed.
//!
//! The context ([`Context`]) is everything else an outcome depends on: the
//! content of every other source file of the workspace (its tests
//! included), the root manifests and lockfiles, the toolchain's version
//! and the timeout floor. A stronger test, a deleted test, a new lockfile or
//! another compiler therefore re-tests every mutant (coarse, but never
//! stale). Timeouts are never cached (they depend on the machine's load as
//! much as on the tests), and neither are infrastructure failures, which
//! are errors and never outcomes. The file is rewritten through a temporary
//! file and a rename after every mutant, so a run that dies midway keeps
//! what it finished.

use super::{Mutant, MutantOutcome};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// Version of the cache file's layout and keys; another version is ignored.
const VERSION: u32 = 2;

/// One remembered outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CachedOutcome {
    /// What the tests showed.
    pub(crate) outcome: MutantOutcome,
    /// How long the run took then, in milliseconds.
    pub(crate) duration_ms: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    entries: BTreeMap<String, CachedOutcome>,
}

/// The results cache of one workspace.
#[derive(Debug)]
pub(crate) struct ResultCache {
    path: PathBuf,
    file: CacheFile,
}

/// Hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Everything besides the mutated file that an outcome depends on, hashed.
#[derive(Debug)]
pub(crate) struct Context {
    hasher: Sha256,
}

impl Context {
    /// A context for a toolchain (its version text) and a timeout floor.
    pub(crate) fn new(toolchain: &str, min_timeout_ms: u64) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(format!("toolchain\0{toolchain}\0timeout\0{min_timeout_ms}\0"));
        Self { hasher }
    }

    /// Adds one file (a source, a manifest or a lockfile) by path and content.
    /// Files must be added in a fixed order (sorted by path).
    pub(crate) fn file(mut self, path: &str, content: &[u8]) -> Self {
        self.hasher.update(format!("file\0{path}\0{}\0", sha256_hex(content)));
        self
    }

    /// The context's hex digest.
    pub(crate) fn finish(self) -> String {
        self.hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The cache key of `mutant` generated from a file whose content hashes to
/// `content_sha`, in a workspace whose [`Context`] hashes to `context_sha`.
pub(crate) fn key(content_sha: &str, context_sha: &str, mutant: &Mutant) -> String {
    format!("{}|{}|{}|{}", mutant.file, content_sha, mutant.key(), context_sha)
}

/// Whether an outcome may be remembered: not a timeout, which says as much
/// about the machine's load as about the tests.
pub(crate) fn cacheable(outcome: MutantOutcome) -> bool {
    outcome != MutantOutcome::Timeout
}

impl ResultCache {
    /// The cache at `path`; empty when the file is missing, unreadable or of another version.
    pub(crate) fn load(path: PathBuf) -> Self {
        let file = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<CacheFile>(&bytes).ok())
            .filter(|f| f.version == VERSION)
            .unwrap_or(CacheFile { version: VERSION, entries: BTreeMap::new() });
        Self { path, file }
    }

    /// The remembered outcome for `key`.
    pub(crate) fn get(&self, key: &str) -> Option<CachedOutcome> {
        self.file.entries.get(key).copied()
    }

    /// Remembers an outcome and writes the file.
    pub(crate) fn insert(&mut self, key: String, value: CachedOutcome) -> io::Result<()> {
        self.file.entries.insert(key, value);
        self.save()
    }

    /// Where the cache lives.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn save(&self) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(&self.file).map_err(io::Error::other)?;
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Operator;
    use agent_syntax::Lang;

    fn mutant() -> Mutant {
        Mutant {
            file: "src/lib.rs".into(),
            lang: Lang::Rust,
            line: 2,
            column: 7,
            byte_start: 30,
            byte_end: 32,
            operator: Operator::RelationalFlip,
            original: ">=".into(),
            replacement: "<".into(),
            function: None,
            in_test: false,
        }
    }

    #[test]
    fn an_outcome_survives_a_reload_under_the_same_content_hash_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.json");
        let mut cache = ResultCache::load(path.clone());
        let k = key(&sha256_hex(b"v1"), "ctx", &mutant());
        cache.insert(k.clone(), CachedOutcome { outcome: MutantOutcome::Caught, duration_ms: 12 }).unwrap();
        let again = ResultCache::load(path);
        assert_eq!(again.get(&k), Some(CachedOutcome { outcome: MutantOutcome::Caught, duration_ms: 12 }));
        assert_eq!(again.get(&key(&sha256_hex(b"v2"), "ctx", &mutant())), None);
        assert_eq!(again.get(&key(&sha256_hex(b"v1"), "other", &mutant())), None);
    }

    #[test]
    fn the_context_changes_with_any_file_the_toolchain_or_the_timeout() {
        let base = || Context::new("rustc 1.90.0", 10_000).file("Cargo.lock", b"a").file("tests/t.rs", b"x");
        let digest = base().finish();
        assert_eq!(digest, base().finish(), "deterministic");
        assert_ne!(
            digest,
            Context::new("rustc 1.90.0", 10_000).file("Cargo.lock", b"a").file("tests/t.rs", b"y").finish()
        );
        assert_ne!(
            digest,
            Context::new("rustc 1.90.0", 10_000).file("Cargo.lock", b"b").file("tests/t.rs", b"x").finish()
        );
        assert_ne!(
            digest,
            Context::new("rustc 1.91.0", 10_000).file("Cargo.lock", b"a").file("tests/t.rs", b"x").finish()
        );
        assert_ne!(
            digest,
            Context::new("rustc 1.90.0", 20_000).file("Cargo.lock", b"a").file("tests/t.rs", b"x").finish()
        );
        assert_ne!(
            digest,
            Context::new("rustc 1.90.0", 10_000).file("Cargo.lock", b"a").file("tests/u.rs", b"x").finish()
        );
    }

    #[test]
    fn a_timeout_is_not_cacheable_and_the_other_outcomes_are() {
        assert!(!cacheable(MutantOutcome::Timeout));
        for o in [MutantOutcome::Caught, MutantOutcome::Missed, MutantOutcome::Unviable] {
            assert!(cacheable(o));
        }
    }

    #[test]
    fn a_corrupt_cache_file_reads_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.json");
        std::fs::write(&path, "{not json").unwrap();
        assert_eq!(ResultCache::load(path).get("x"), None);
    }

    #[test]
    fn sha256_of_abc_is_the_published_digest() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
