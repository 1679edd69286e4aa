//! Bounded head-and-tail capture of one output stream.
//!
//! Keeps the first `head_bytes` and the last `tail_bytes` of a stream in
//! memory whatever its length; the full stream goes to the log file.

use agent_core::exec::{CapturedStream, OutputCaps};
use std::collections::VecDeque;

/// Head and tail of one stream, with the exact byte count.
#[derive(Debug)]
pub(crate) struct HeadTail {
    head: Vec<u8>,
    head_cap: usize,
    tail: VecDeque<u8>,
    tail_cap: usize,
    total: u64,
}

impl HeadTail {
    /// An empty capture with these caps.
    pub(crate) fn new(caps: OutputCaps) -> Self {
        Self {
            head: Vec::with_capacity(caps.head_bytes.min(64 * 1024)),
            head_cap: caps.head_bytes,
            tail: VecDeque::with_capacity(caps.tail_bytes.min(64 * 1024)),
            tail_cap: caps.tail_bytes,
            total: 0,
        }
    }

    /// Records a chunk of the stream.
    pub(crate) fn push(&mut self, chunk: &[u8]) {
        self.total += chunk.len() as u64;
        let mut rest = chunk;
        if self.head.len() < self.head_cap {
            let n = (self.head_cap - self.head.len()).min(rest.len());
            self.head.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
        }
        if rest.is_empty() || self.tail_cap == 0 {
            return;
        }
        if rest.len() >= self.tail_cap {
            self.tail.clear();
            self.tail.extend(&rest[rest.len() - self.tail_cap..]);
            return;
        }
        let overflow = (self.tail.len() + rest.len()).saturating_sub(self.tail_cap);
        if overflow > 0 {
            self.tail.drain(..overflow);
        }
        self.tail.extend(rest);
    }

    /// Bytes recorded so far.
    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    /// The captured stream. When nothing was dropped, the whole stream is in
    /// `head` and `tail` is empty (as [`CapturedStream`] documents).
    pub(crate) fn finish(self) -> CapturedStream {
        let kept = (self.head.len() + self.tail.len()) as u64;
        let truncated = self.total > kept;
        let (tail_a, tail_b) = self.tail.as_slices();
        if truncated {
            let mut tail = Vec::with_capacity(self.tail.len());
            tail.extend_from_slice(tail_a);
            tail.extend_from_slice(tail_b);
            CapturedStream {
                head: String::from_utf8_lossy(&self.head).into_owned(),
                tail: String::from_utf8_lossy(&tail).into_owned(),
                total_bytes: self.total,
                truncated,
            }
        } else {
            let mut all = self.head;
            all.extend_from_slice(tail_a);
            all.extend_from_slice(tail_b);
            CapturedStream {
                head: String::from_utf8_lossy(&all).into_owned(),
                tail: String::new(),
                total_bytes: self.total,
                truncated,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(head: usize, tail: usize) -> OutputCaps {
        OutputCaps { head_bytes: head, tail_bytes: tail }
    }

    #[test]
    fn short_stream_is_kept_whole_in_head() {
        let mut c = HeadTail::new(caps(4, 4));
        c.push(b"abcdef");
        let s = c.finish();
        assert_eq!(s.head, "abcdef");
        assert_eq!(s.tail, "");
        assert!(!s.truncated);
        assert_eq!(s.total_bytes, 6);
    }

    #[test]
    fn long_stream_keeps_head_and_last_tail_bytes_across_chunks() {
        let mut c = HeadTail::new(caps(3, 4));
        for chunk in [&b"ab"[..], b"cdefg", b"h", b"ijklm", b"no"] {
            c.push(chunk);
        }
        let s = c.finish();
        assert_eq!(s.head, "abc");
        assert_eq!(s.tail, "lmno");
        assert!(s.truncated);
        assert_eq!(s.total_bytes, 15);
    }

    #[test]
    fn zero_caps_keep_nothing_but_count_everything() {
        let mut c = HeadTail::new(caps(0, 0));
        c.push(b"xyz");
        let s = c.finish();
        assert_eq!((s.head.as_str(), s.tail.as_str(), s.truncated, s.total_bytes), ("", "", true, 3));
    }
}
