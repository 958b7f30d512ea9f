//! The published keys of either kind of key: integers in key order (`published_keys`), or
//! strings and binary strings by hash with their records' locations (`hashed_keys`). The sweep,
//! the checkpoint and the delivery reports talk to this one face.

use std::collections::BTreeMap;

use crate::source::key::{Key, KeyKind};
use crate::sweep::hashed_keys::{hash, location, HashedKeys, Location};
use crate::sweep::published_keys::PublishedKeys;
use crate::watermark::KeyBound;

/// The published keys, and the deleted ones not yet confirmed.
#[derive(Debug, Clone, PartialEq)]
pub enum KeySet {
    /// Integer keys, in their order.
    Ordered(PublishedKeys),
    /// String and binary keys, by hash.
    Hashed(HashedKeys),
}

impl KeySet {
    /// An empty set for keys of `kind`.
    pub fn new(kind: KeyKind) -> Self {
        match kind {
            KeyKind::Signed | KeyKind::Unsigned => Self::Ordered(PublishedKeys::new(kind)),
            KeyKind::Text | KeyKind::Bytes => Self::Hashed(HashedKeys::default()),
        }
    }

    /// Whether keys are kept by hash, located by the delivery reports of their records.
    pub fn hashed(&self) -> bool {
        matches!(self, Self::Hashed(_))
    }

    /// The record of a row with this key was queued. Integer keys count from now on; hashed
    /// ones once the record is delivered ([`KeySet::delivered`]).
    pub fn published(&mut self, key: &Key) {
        if let Self::Ordered(keys) = self {
            keys.published(key);
        }
    }

    /// A record with record key `record_key` (a row's, or a tombstone) was delivered at
    /// `offset` of `partition`. Hashed keys are located by it; a tombstone's key was removed
    /// when it was queued.
    pub fn delivered(&mut self, record_key: &[u8], row: bool, partition: i32, offset: i64) {
        let Self::Hashed(keys) = self else {
            return;
        };
        if let (true, Some(at)) = (row, location(partition, offset)) {
            keys.delivered(hash(record_key), at);
        }
        keys.account(partition, offset + 1);
    }

    /// The records topic was read back up to `ends` (by partition): the set accounts for them.
    pub fn account_up_to(&mut self, ends: &BTreeMap<i32, i64>) {
        if let Self::Hashed(keys) = self {
            for (partition, end) in ends {
                keys.account(*partition, *end);
            }
        }
    }

    /// For hashed keys, by partition, the offset up to which they account for the topic's
    /// records; `None` for integer keys, which count when queued and account for everything
    /// acknowledged.
    pub fn accounted(&self) -> Option<BTreeMap<i32, i64>> {
        match self {
            Self::Ordered(_) => None,
            Self::Hashed(keys) => Some(keys.accounted().clone()),
        }
    }

    /// A pass over the table's keys starts.
    pub fn start_pass(&mut self) {
        if let Self::Hashed(keys) = self {
            keys.start_pass();
        }
    }

    /// A page of the pass read `page`, the table's keys after `after` up to `through`
    /// (included; to the last key when `None`), in the table's order: for integer keys, the
    /// published keys of that range the page lacks (gone); hashed keys are marked seen, and
    /// what is gone is known at the pass's end ([`KeySet::unseen`]).
    pub fn page_read(&mut self, after: &KeyBound, through: Option<&Key>, page: &[Key]) -> Vec<Key> {
        match self {
            Self::Ordered(keys) => keys.absent_from(after, through, page),
            Self::Hashed(keys) => {
                for key in page {
                    keys.seen(key.with_record_key(hash));
                }
                Vec::new()
            }
        }
    }

    /// At the pass's end, the hashed keys published before it that it did not see, with
    /// their records' locations; none for integer keys.
    pub fn unseen(&mut self) -> Vec<(u64, Location)> {
        match self {
            Self::Ordered(_) => Vec::new(),
            Self::Hashed(keys) => keys.unseen(),
        }
    }

    /// A hashed key whose record cannot be read back is forgotten.
    pub fn forget(&mut self, hash: u64) {
        if let Self::Hashed(keys) = self {
            keys.forget(hash);
        }
    }

    /// The tombstone of this key was queued.
    pub fn deleted(&mut self, key: &Key) {
        match self {
            Self::Ordered(keys) => keys.deleted(key),
            Self::Hashed(keys) => keys.deleted(key.with_record_key(hash)),
        }
    }

    /// A record of the topic, read back in offset order: a row adds its key, a tombstone
    /// removes it. A key that is no key of `kind` (another producer's record) is passed over.
    pub fn replay(
        &mut self,
        kind: KeyKind,
        record_key: &[u8],
        row: bool,
        partition: i32,
        offset: i64,
    ) {
        match self {
            Self::Ordered(keys) => {
                let Some(key) = kind.from_record_key(record_key) else {
                    return;
                };
                match row {
                    true => keys.published(&key),
                    false => keys.deleted(&key),
                }
            }
            Self::Hashed(keys) => match (row, location(partition, offset)) {
                (true, Some(at)) => keys.delivered(hash(record_key), at),
                (true, None) => {}
                (false, _) => keys.forget(hash(record_key)),
            },
        }
    }

    /// Every tombstone queued so far is acknowledged or committed.
    pub fn confirm(&mut self) {
        match self {
            Self::Ordered(keys) => keys.confirm(),
            Self::Hashed(keys) => keys.confirm(),
        }
    }

    /// The tombstones not confirmed count as not sent: their keys count as published again.
    pub fn restore_unconfirmed(&mut self) {
        match self {
            Self::Ordered(keys) => keys.restore_unconfirmed(),
            Self::Hashed(keys) => keys.restore_unconfirmed(),
        }
    }

    /// Adds the keys of `other`, a set of the same kind.
    pub fn union_with(&mut self, other: KeySet) {
        match (self, other) {
            (Self::Ordered(keys), Self::Ordered(other)) => keys.union_with(other),
            (Self::Hashed(keys), Self::Hashed(other)) => keys.union_with(other),
            _ => {}
        }
    }

    /// How many keys count as published.
    pub fn len(&self) -> u64 {
        match self {
            Self::Ordered(keys) => keys.len(),
            Self::Hashed(keys) => keys.len(),
        }
    }

    /// Whether no key counts as published.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What the set takes, about.
    pub fn size_in_bytes(&self) -> usize {
        match self {
            Self::Ordered(keys) => keys.size_in_bytes(),
            Self::Hashed(keys) => keys.size_in_bytes(),
        }
    }

    /// What a checkpoint saves of the set.
    pub fn to_bytes(&self) -> std::io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.write_to(&mut bytes)?;
        Ok(bytes)
    }

    /// Writes what a checkpoint saves of the set.
    pub fn write_to(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        match self {
            Self::Ordered(keys) => out.write_all(&keys.to_bytes()?),
            Self::Hashed(keys) => keys.write_to(out),
        }
    }

    /// The set of keys of `kind` a checkpoint saved.
    pub fn from_bytes(kind: KeyKind, bytes: &[u8]) -> std::io::Result<Self> {
        Ok(match Self::new(kind) {
            Self::Ordered(_) => Self::Ordered(PublishedKeys::from_bytes(kind, bytes)?),
            Self::Hashed(_) => Self::Hashed(HashedKeys::from_bytes(bytes)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topic_replayed_gives_each_key_its_latest_state() {
        for kind in [KeyKind::Signed, KeyKind::Text, KeyKind::Bytes] {
            let mut keys = KeySet::new(kind);
            keys.replay(kind, b"1", true, 0, 10);
            keys.replay(kind, b"2", true, 1, 11);
            keys.replay(kind, b"1", false, 0, 12);
            keys.replay(kind, b"3", true, 0, 13);
            keys.confirm();
            assert_eq!(keys.len(), 2, "{kind:?}");
            let saved =
                KeySet::from_bytes(kind, &keys.to_bytes().expect("encodes")).expect("decodes");
            assert_eq!(saved.len(), 2, "{kind:?}");
        }
    }

    #[test]
    fn hashed_keys_count_once_delivered_and_integers_once_queued() {
        let mut text = KeySet::new(KeyKind::Text);
        text.published(&Key::Text("a".into()));
        assert!(text.is_empty(), "not on the topic yet");
        text.delivered(b"a", true, 4, 100);
        assert_eq!(text.accounted(), Some(BTreeMap::from([(4, 101)])));
        assert_eq!(text.len(), 1);
        text.deleted(&Key::Text("a".into()));
        assert!(text.is_empty());

        let mut numbers = KeySet::new(KeyKind::Signed);
        numbers.published(&Key::Signed(7));
        numbers.delivered(b"8", true, 0, 1);
        assert_eq!(numbers.accounted(), None);
        assert_eq!(numbers.len(), 1);
        assert!(numbers.size_in_bytes() > 0);
    }
}
