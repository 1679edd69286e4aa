//! The content stat cache kept on disk between snapshots (and processes):
//! for each path, the stat data it had when its raw bytes were last hashed,
//! and their blob id, as git keeps its index.
//!
//! The user's index can vouch for a file's blob id only where git stores
//! the file's bytes unconverted. Where `.gitattributes` or `core.autocrlf`
//! may convert line endings (or a filter, `ident` or an encoding applies),
//! the index holds the converted blob, while a snapshot stores the raw
//! bytes; for such paths this cache answers instead, so only files whose
//! stat changed are read again, in this process or the next.
//!
//! Most paths need no entry of their own: a tracked file whose raw bytes
//! were found to be exactly the blob the user's index holds, with its
//! `lstat` exactly the index's stat, is one bit in a set over the index's
//! entries, valid while the index is the same file (its trailing
//! checksum). So the cache of a 100,000-file repository whose files are
//! all stored unconverted is a few kilobytes, not megabytes, and each
//! process reads and writes it in microseconds.
//!
//! **Validity.** The file starts with a magic and a version and ends with a
//! SHA-256 of everything before it; a file that is truncated, of another
//! version or fails its checksum is no cache at all. An entry is used only
//! when the path's `lstat` now equals the recorded one exactly (mtime and
//! ctime to the nanosecond, inode, device, size, owner, mode) and its mtime
//! is older, in whole seconds, than the moment the stat was taken (git's
//! racy-timestamp rule, with the start of the snapshot as the reference,
//! which is never later than the cache's write): a file modified in that
//! second may have kept its stat, so it is read again.

use super::delta::{Reader, put_path, put_stat, put_u32};
use gix::bstr::{BStr, BString, ByteSlice};
use gix::index::entry::{Mode, Stat, stat};
use sha2::{Digest, Sha256};

const MAGIC: &[u8; 4] = b"AKSC";
const VERSION: u32 = 2;
const CHECKSUM_LEN: usize = 32;

/// One cached path: its mode, the blob id of its raw bytes, and its stat
/// when they were read.
pub(super) type Entry = (BString, Mode, gix::ObjectId, Stat);

/// Raw blob ids by path and stat (see the module docs).
#[derive(Default)]
pub(super) struct StatCache {
    /// Unix seconds at which the stats of the entries were taken at the
    /// latest (the racy-clean reference).
    pub(super) taken_secs: i64,
    /// The trailing checksum of the user's index the bits refer to.
    pub(super) index_checksum: Option<gix::ObjectId>,
    /// Bit `i`: index entry `i`'s raw bytes are its blob, as of its stat.
    pub(super) verified: Verified,
    /// Sorted by path, no duplicates.
    pub(super) entries: Vec<Entry>,
}

/// A set of index entry positions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Verified(Vec<u64>);

impl Verified {
    /// An empty set for an index of `len` entries.
    pub(super) fn with_len(len: usize) -> Self {
        Self(vec![0; len.div_ceil(64)])
    }

    /// Adds position `i` (ignored beyond the length given).
    pub(super) fn insert(&mut self, i: usize) {
        if let Some(word) = self.0.get_mut(i / 64) {
            *word |= 1 << (i % 64);
        }
    }

    /// Whether position `i` is in the set.
    pub(super) fn contains(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|word| word & (1 << (i % 64)) != 0)
    }
}

impl StatCache {
    /// Whether index entry `position` (its blob `id`, its recorded stat
    /// `recorded`, `lstat` now `now`) is vouched for by the bit set: the
    /// index is the one the bits were recorded against, the bit is set, and
    /// the stat is exactly the recorded one and not racy.
    pub(super) fn verified(
        &self,
        index_checksum: Option<gix::ObjectId>,
        position: usize,
        recorded: &Stat,
        now: &Stat,
    ) -> bool {
        index_checksum.is_some()
            && self.index_checksum == index_checksum
            && self.verified.contains(position)
            && is_trusted(recorded, now, self.taken_secs)
    }

    /// Serialises the cache (entries must be sorted by path).
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.entries.len() * 96);
        out.extend_from_slice(MAGIC);
        put_u32(&mut out, VERSION);
        out.extend_from_slice(&self.taken_secs.to_le_bytes());
        match &self.index_checksum {
            Some(id) => {
                out.push(1);
                out.extend_from_slice(id.as_bytes());
            }
            None => out.push(0),
        }
        put_u32(&mut out, u32::try_from(self.verified.0.len()).unwrap_or(u32::MAX));
        for word in &self.verified.0 {
            out.extend_from_slice(&word.to_le_bytes());
        }
        put_u32(&mut out, u32::try_from(self.entries.len()).unwrap_or(u32::MAX));
        for (path, mode, id, s) in &self.entries {
            put_path(&mut out, path.as_bstr());
            put_u32(&mut out, mode.bits());
            out.extend_from_slice(id.as_bytes());
            put_stat(&mut out, s);
        }
        let sum = Sha256::digest(&out);
        out.extend_from_slice(&sum);
        out
    }

    /// Parses what [`encode`](Self::encode) wrote; `None` for anything else
    /// (another version, a truncated or damaged file, unsorted entries).
    pub(super) fn decode(bytes: &[u8]) -> Option<Self> {
        let body_len = bytes.len().checked_sub(CHECKSUM_LEN)?;
        let (body, sum) = bytes.split_at(body_len);
        if Sha256::digest(body).as_slice() != sum {
            return None;
        }
        let mut r = Reader(body);
        if r.bytes(4)? != MAGIC || r.u32()? != VERSION {
            return None;
        }
        let taken_secs = i64::from_le_bytes(r.bytes(8)?.try_into().ok()?);
        let index_checksum = match r.bytes(1)? {
            [0] => None,
            [1] => Some(gix::ObjectId::try_from(r.bytes(20)?).ok()?),
            _ => return None,
        };
        let words = usize::try_from(r.u32()?).ok()?;
        let bits = r.bytes(words.checked_mul(8)?)?;
        let verified =
            Verified(bits.chunks_exact(8).map(|w| u64::from_le_bytes(w.try_into().unwrap_or_default())).collect());
        let count = r.u32()?;
        let mut entries: Vec<Entry> = Vec::with_capacity(usize::try_from(count).ok()?.min(body.len() / 60));
        for _ in 0..count {
            let path = r.path()?.to_owned();
            let mode = Mode::from_bits(r.u32()?)?;
            let id = gix::ObjectId::try_from(r.bytes(20)?).ok()?;
            let s = r.stat()?;
            if entries.last().is_some_and(|last| last.0 >= path) {
                return None;
            }
            entries.push((path, mode, id, s));
        }
        r.0.is_empty().then_some(Self { taken_secs, index_checksum, verified, entries })
    }

    /// Loads the cache at `path`; any error or mismatch is no cache.
    pub(super) fn load(path: &std::path::Path) -> Option<Self> {
        let bytes = std::fs::read(path).ok()?;
        let cache = Self::decode(&bytes);
        if cache.is_none() {
            tracing::debug!(path = %path.display(), "ignoring an unreadable stat cache");
        }
        cache
    }

    /// The raw blob id recorded for `path` if `mode` and `now` (its `lstat`
    /// now) are exactly what was recorded and it was not racily clean then.
    pub(super) fn lookup(&self, cursor: &mut Cursor, path: &BStr, mode: Mode, now: &Stat) -> Option<gix::ObjectId> {
        let entry = cursor.find(&self.entries, path)?;
        let (_, cached_mode, id, cached) = entry;
        (*cached_mode == mode && is_trusted(cached, now, self.taken_secs)).then_some(*id)
    }
}

/// Whether a path recorded with `recorded` (stat taken in or before the
/// second `taken_secs`) is unchanged when it now has `now`.
pub(super) fn is_trusted(recorded: &Stat, now: &Stat, taken_secs: i64) -> bool {
    let exact = stat::Options { trust_ctime: true, check_stat: true, use_nsec: true, use_stdev: true };
    recorded.matches(now, exact) && i64::from(recorded.mtime.secs) < taken_secs
}

/// A position in the sorted entries: lookups in ascending path order (the
/// index's) cost one pass; any other order falls back to a binary search.
#[derive(Default)]
pub(super) struct Cursor(usize);

impl Cursor {
    fn find<'e>(&mut self, entries: &'e [Entry], path: &BStr) -> Option<&'e Entry> {
        let start = match entries.get(self.0) {
            Some(e) if e.0.as_bstr() <= path => self.0,
            _ => 0,
        };
        // Short forward scan from the cursor, then a binary search.
        let mut i = start;
        let limit = (start + 8).min(entries.len());
        while i < limit && entries[i].0.as_bstr() < path {
            i += 1;
        }
        if i == limit && limit < entries.len() {
            i = start + entries[start..].partition_point(|e| e.0.as_bstr() < path);
        }
        self.0 = i;
        entries.get(i).filter(|e| e.0 == path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(secs: u32, nsecs: u32) -> Stat {
        Stat {
            mtime: stat::Time { secs, nsecs },
            ctime: stat::Time { secs, nsecs },
            dev: 1,
            ino: 7,
            uid: 1000,
            gid: 1000,
            size: 12,
        }
    }

    fn id(n: u8) -> gix::ObjectId {
        gix::ObjectId::from_bytes_or_panic(&[n; 20])
    }

    fn sample() -> StatCache {
        let mut verified = Verified::with_len(130);
        verified.insert(0);
        verified.insert(129);
        StatCache {
            taken_secs: 1_000,
            index_checksum: Some(id(9)),
            verified,
            entries: vec![
                ("a.txt".into(), Mode::FILE, id(1), stat(900, 5)),
                ("b/c.bat".into(), Mode::FILE_EXECUTABLE, id(2), stat(999, 999_999_999)),
                ("b/d".into(), Mode::SYMLINK, id(3), stat(1_000, 0)),
            ],
        }
    }

    #[test]
    fn the_cache_round_trips_and_any_damage_is_no_cache() {
        let bytes = sample().encode();
        let back = StatCache::decode(&bytes).expect("decodes");
        assert_eq!(back.taken_secs, 1_000);
        assert_eq!(back.entries, sample().entries);
        assert_eq!(back.index_checksum, Some(id(9)));
        assert_eq!(back.verified, sample().verified);
        let without = StatCache { index_checksum: None, verified: Verified::default(), ..sample() };
        let back = StatCache::decode(&without.encode()).expect("decodes");
        assert_eq!((back.index_checksum, back.verified), (None, Verified::default()));
        for cut in [0, 1, 4, 8, 20, bytes.len() / 2, bytes.len() - 1] {
            assert!(StatCache::decode(&bytes[..cut]).is_none(), "truncated at {cut}");
        }
        let mut other_version = bytes.clone();
        other_version[4] = 1;
        assert!(StatCache::decode(&other_version).is_none());
        for at in [0, 10, 30, bytes.len() - 40, bytes.len() - 1] {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x40;
            assert!(StatCache::decode(&flipped).is_none(), "flipped byte {at}");
        }
    }

    #[test]
    fn a_verified_bit_answers_only_for_the_same_index_the_exact_stat_and_not_when_racy() {
        let cache = sample();
        let s = stat(900, 5);
        assert!(cache.verified(Some(id(9)), 0, &s, &s));
        assert!(cache.verified(Some(id(9)), 129, &s, &s));
        assert!(!cache.verified(Some(id(9)), 1, &s, &s), "bit not set");
        assert!(!cache.verified(Some(id(9)), 500, &s, &s), "beyond the set");
        assert!(!cache.verified(Some(id(8)), 0, &s, &s), "another index");
        assert!(!cache.verified(None, 0, &s, &s), "an index without checksum");
        assert!(!cache.verified(Some(id(9)), 0, &s, &stat(900, 6)), "nanoseconds differ");
        let racy = stat(1_000, 0);
        assert!(!cache.verified(Some(id(9)), 0, &racy, &racy), "modified in the second the stats were taken");
    }

    #[test]
    fn an_entry_answers_only_for_the_same_stat_and_mode_and_not_when_racy() {
        let cache = sample();
        let mut cursor = Cursor::default();
        assert_eq!(cache.lookup(&mut cursor, "a.txt".into(), Mode::FILE, &stat(900, 5)), Some(id(1)));
        assert_eq!(cache.lookup(&mut cursor, "a.txt".into(), Mode::FILE, &stat(900, 6)), None);
        assert_eq!(cache.lookup(&mut cursor, "a.txt".into(), Mode::FILE_EXECUTABLE, &stat(900, 5)), None);
        assert_eq!(
            cache.lookup(&mut cursor, "b/c.bat".into(), Mode::FILE_EXECUTABLE, &stat(999, 999_999_999)),
            Some(id(2))
        );
        // Modified in the second the stats were taken: never trusted.
        assert_eq!(cache.lookup(&mut cursor, "b/d".into(), Mode::SYMLINK, &stat(1_000, 0)), None);
        assert_eq!(cache.lookup(&mut cursor, "zzz".into(), Mode::FILE, &stat(1, 0)), None);
        // Out of order lookups still find their entry.
        let mut cursor = Cursor::default();
        assert_eq!(
            cache.lookup(&mut cursor, "b/c.bat".into(), Mode::FILE_EXECUTABLE, &stat(999, 999_999_999)),
            Some(id(2))
        );
        assert_eq!(cache.lookup(&mut cursor, "a.txt".into(), Mode::FILE, &stat(900, 5)), Some(id(1)));
        assert_eq!(cache.lookup(&mut cursor, "a".into(), Mode::FILE, &stat(900, 5)), None);
    }
}
