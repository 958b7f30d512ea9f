//! A line's identity for the verifier: the hash of its bytes, and a digest of a file's whole
//! lines in order, so that a file read again can be told to be the one scanned.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

/// The hash of a line's bytes (its newline left out): equal lines hash equal.
pub fn hash_of(bytes: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

/// A file's whole lines as read, in order: their bytes counted and their hashes digested.
#[derive(Debug, Clone, Default)]
pub struct LinesDigest {
    bytes: u64,
    hasher: DefaultHasher,
}

impl LinesDigest {
    /// Adds one whole line: `line_hash` of its body, `read` bytes with its newline.
    pub fn add(&mut self, line_hash: u64, read: usize) {
        self.bytes += read as u64;
        self.hasher.write_u64(line_hash);
    }

    /// The bytes of whole lines digested.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Whether `other` digested the same lines.
    pub fn same_as(&self, other: &LinesDigest) -> bool {
        self.bytes == other.bytes && self.hasher.finish() == other.hasher.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_tell_the_same_lines_from_others() {
        let mut scanned = LinesDigest::default();
        let mut again = LinesDigest::default();
        for text in ["a", "b"] {
            scanned.add(hash_of(text.as_bytes()), 2);
            again.add(hash_of(text.as_bytes()), 2);
        }
        assert!(scanned.same_as(&again));
        again.add(hash_of(b"c"), 2);
        assert!(!scanned.same_as(&again), "one line more");
        let mut other = LinesDigest::default();
        other.add(hash_of(b"b"), 2);
        other.add(hash_of(b"a"), 2);
        assert!(!scanned.same_as(&other), "the same lines in another order");
    }
}
