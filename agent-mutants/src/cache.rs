//! The results cache: one JSON file in the cache directory mapping
//! `(file path, SHA-256 of the file's content, Mutant::key())` to the
//! outcome, so a re-run tests only mutants of files whose content changed.
//!
//! The key holds the content of the mutated file only: a change to the
//! tests alone does not invalidate an entry (delete the cache directory, or
//! pass a fresh one, to re-test everything). The file is rewritten through a
//! temporary file and a rename after every mutant, so a run that dies
//! midway keeps what it finished.

use super::{Mutant, MutantOutcome};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// Version of the cache file's layout; another version is ignored.
const VERSION: u32 = 1;

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

/// The cache key of `mutant` generated from a file whose content hashes to `content_sha`.
pub(crate) fn key(content_sha: &str, mutant: &Mutant) -> String {
    format!("{}|{}|{}", mutant.file, content_sha, mutant.key())
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
        let k = key(&sha256_hex(b"v1"), &mutant());
        cache.insert(k.clone(), CachedOutcome { outcome: MutantOutcome::Caught, duration_ms: 12 }).unwrap();
        let again = ResultCache::load(path);
        assert_eq!(again.get(&k), Some(CachedOutcome { outcome: MutantOutcome::Caught, duration_ms: 12 }));
        assert_eq!(again.get(&key(&sha256_hex(b"v2"), &mutant())), None);
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
