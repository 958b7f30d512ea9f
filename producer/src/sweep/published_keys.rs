//! The keys the producer has published and not deleted since: what the delete sweep compares
//! the table's keys with to find rows deleted outright (see `sweep`).
//!
//! Invariant: **the set holds every key whose latest record on the topic is a row** (it may
//! hold more). A key is added when its record is queued and removed when its tombstone is
//! queued, so the set follows the topic's order of records for each key. A tombstone queued
//! but not yet acknowledged (at least once) or committed (exactly once) is also remembered as
//! unconfirmed: when its page or transaction fails the key goes back into the set, and a
//! checkpoint saves the set with the unconfirmed keys, so a tombstone lost to a failure or a
//! crash is found again by the next sweep. A key held in excess costs at most one more delete
//! for a row already gone; a key missing would lose a delete, which the invariant rules out.
//!
//! Integer keys are kept in a compressed bitmap (`roaring`): a million dense keys take about
//! 130 KB. The bitmap orders them as numbers, as the database does, so a page of the table's
//! keys is compared with the bitmap's range by one merge.

use roaring::RoaringTreemap;

use crate::source::key::{Key, KeyKind};
use crate::watermark::KeyBound;

/// The published keys, and the deleted ones not yet confirmed.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedKeys {
    kind: KeyKind,
    live: RoaringTreemap,
    unconfirmed: RoaringTreemap,
}

impl Default for PublishedKeys {
    fn default() -> Self {
        Self::new(KeyKind::Signed)
    }
}

/// The bitmap's value of a key: a signed key's bits with the sign flipped, so that the bitmap's
/// order is the keys' order, negative keys first; an unsigned key itself. `None` for a key
/// that is not an integer.
fn bit(key: &Key) -> Option<u64> {
    match key {
        Key::Signed(n) => Some((*n as u64) ^ (1 << 63)),
        Key::Unsigned(n) => Some(*n),
        Key::Text(_) | Key::Bytes(_) => None,
    }
}

impl PublishedKeys {
    /// An empty set of keys of `kind`, an integer kind.
    pub fn new(kind: KeyKind) -> Self {
        Self {
            kind,
            live: RoaringTreemap::new(),
            unconfirmed: RoaringTreemap::new(),
        }
    }

    /// A set holding the signed `keys`, none of them unconfirmed.
    pub fn of(keys: impl IntoIterator<Item = i64>) -> Self {
        Self {
            live: keys
                .into_iter()
                .filter_map(|k| bit(&Key::Signed(k)))
                .collect(),
            ..Self::default()
        }
    }

    fn key_of(&self, bit: u64) -> Key {
        match self.kind {
            KeyKind::Unsigned => Key::Unsigned(bit),
            _ => Key::Signed((bit ^ (1 << 63)) as i64),
        }
    }

    /// The record of a row with this key was queued.
    pub fn published(&mut self, key: &Key) {
        if let Some(bit) = bit(key) {
            self.live.insert(bit);
        }
    }

    /// The tombstone of this key was queued.
    pub fn deleted(&mut self, key: &Key) {
        if let Some(bit) = bit(key) {
            self.live.remove(bit);
            self.unconfirmed.insert(bit);
        }
    }

    /// Every tombstone queued so far is acknowledged or committed.
    pub fn confirm(&mut self) {
        self.unconfirmed.clear();
    }

    /// The tombstones not confirmed may not have reached the topic: their keys count as
    /// published again, so the next sweep deletes them again.
    pub fn restore_unconfirmed(&mut self) {
        self.live |= &self.unconfirmed;
        self.unconfirmed.clear();
    }

    /// Adds the keys of `other`, published and unconfirmed.
    pub fn union_with(&mut self, other: PublishedKeys) {
        self.live |= other.live;
        self.unconfirmed |= other.unconfirmed;
    }

    /// Whether `key` counts as published.
    pub fn contains(&self, key: &Key) -> bool {
        bit(key).is_some_and(|bit| self.live.contains(bit))
    }

    /// How many keys count as published.
    pub fn len(&self) -> u64 {
        self.live.len()
    }

    /// The set's size in its portable format, about what it takes in memory.
    pub fn size_in_bytes(&self) -> usize {
        self.live.serialized_size() + self.unconfirmed.serialized_size()
    }

    /// Whether no key counts as published.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// The published keys after `after` up to `through` (included; to the last key when
    /// `None`) that are not in `present`, the table's keys in that range in ascending order:
    /// the keys deleted from the table. Linear in the keys of the range.
    pub fn absent_from(
        &self,
        after: &KeyBound,
        through: Option<&Key>,
        present: &[Key],
    ) -> Vec<Key> {
        let mut published = self.live.iter();
        match after {
            KeyBound::Before => {}
            KeyBound::At(key) => match bit(key).and_then(|bit| bit.checked_add(1)) {
                Some(next) => published.advance_to(next),
                None => return Vec::new(),
            },
            KeyBound::After => return Vec::new(),
        }
        let through = through.and_then(bit);
        let mut present = present.iter().filter_map(bit).peekable();
        let mut gone = Vec::new();
        for key in published {
            if through.is_some_and(|through| key > through) {
                break;
            }
            while present.next_if(|&p| p < key).is_some() {}
            if present.next_if_eq(&key).is_none() {
                gone.push(self.key_of(key));
            }
        }
        gone
    }

    /// What a checkpoint saves: the published keys with the unconfirmed deletes, in the
    /// bitmap's portable format.
    pub fn to_bytes(&self) -> std::io::Result<Vec<u8>> {
        let saved = &self.live | &self.unconfirmed;
        let mut bytes = Vec::with_capacity(saved.serialized_size());
        saved.serialize_into(&mut bytes)?;
        Ok(bytes)
    }

    /// The set of keys of `kind` a checkpoint saved.
    pub fn from_bytes(kind: KeyKind, bytes: &[u8]) -> std::io::Result<Self> {
        Ok(Self {
            kind,
            live: RoaringTreemap::deserialize_from(bytes)?,
            unconfirmed: RoaringTreemap::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(keys: &[i64]) -> Vec<Key> {
        keys.iter().map(|&k| Key::Signed(k)).collect()
    }

    fn at(key: i64) -> KeyBound {
        KeyBound::At(Key::Signed(key))
    }

    #[test]
    fn keys_absent_from_the_table_in_a_range_are_gone() {
        let keys = PublishedKeys::of([-5, 1, 2, 3, 7, 9, 20]);
        let gone = |after, through: Option<i64>, present: &[i64]| {
            keys.absent_from(&after, through.map(Key::Signed).as_ref(), &signed(present))
        };
        assert_eq!(gone(at(-10), Some(7), &[-5, 2, 3]), signed(&[1, 7]));
        assert_eq!(gone(at(7), Some(20), &[9, 20]), signed(&[]));
        assert_eq!(gone(at(3), None, &[4, 5, 6, 20]), signed(&[7, 9]));
        // Keys of the table the producer has not published yet change nothing.
        assert_eq!(
            gone(KeyBound::Before, None, &[0, 4, 100]),
            signed(&[-5, 1, 2, 3, 7, 9, 20])
        );
        assert_eq!(gone(KeyBound::After, None, &[]), signed(&[]));
    }

    #[test]
    fn the_extremes_of_the_key_range_keep_their_order() {
        let keys = PublishedKeys::of([i64::MIN, i64::MIN + 1, -1, 0, i64::MAX]);
        let gone = |after, through: Option<i64>, present: &[i64]| {
            keys.absent_from(&after, through.map(Key::Signed).as_ref(), &signed(present))
        };
        assert_eq!(
            gone(KeyBound::Before, Some(-1), &[]),
            signed(&[i64::MIN, i64::MIN + 1, -1])
        );
        assert_eq!(gone(at(-1), None, &[0]), signed(&[i64::MAX]));
        assert_eq!(gone(at(i64::MIN + 1), Some(0), &[-1]), signed(&[0]));
        assert_eq!(gone(at(i64::MAX), None, &[]), signed(&[]));
    }

    #[test]
    fn unsigned_keys_keep_their_order_up_to_the_largest() {
        let mut keys = PublishedKeys::new(KeyKind::Unsigned);
        for k in [0, 1 << 63, u64::MAX - 1, u64::MAX] {
            keys.published(&Key::Unsigned(k));
        }
        let present = [Key::Unsigned(1 << 63)];
        assert_eq!(
            keys.absent_from(&KeyBound::Before, None, &present),
            vec![
                Key::Unsigned(0),
                Key::Unsigned(u64::MAX - 1),
                Key::Unsigned(u64::MAX)
            ]
        );
        assert_eq!(
            keys.absent_from(&KeyBound::At(Key::Unsigned(u64::MAX)), None, &[]),
            Vec::<Key>::new()
        );
        let saved =
            PublishedKeys::from_bytes(KeyKind::Unsigned, &keys.to_bytes().expect("encodes"))
                .expect("decodes");
        assert_eq!(saved, keys);
    }

    #[test]
    fn a_tombstone_not_confirmed_puts_its_key_back_after_a_failure() {
        let mut keys = PublishedKeys::of([1, 2, 3]);
        keys.deleted(&Key::Signed(2));
        assert!(!keys.contains(&Key::Signed(2)));
        keys.restore_unconfirmed();
        assert!(
            keys.contains(&Key::Signed(2)),
            "the delete is sent again by the next sweep"
        );

        keys.deleted(&Key::Signed(3));
        keys.confirm();
        keys.restore_unconfirmed();
        assert!(
            !keys.contains(&Key::Signed(3)),
            "a confirmed delete stays done"
        );
        assert_eq!(keys.len(), 2);
    }

    #[test]
    fn a_checkpoint_holds_the_unconfirmed_deletes_too() {
        let mut keys = PublishedKeys::of([10, 11, 12]);
        keys.deleted(&Key::Signed(11));
        keys.published(&Key::Signed(13));
        let saved = PublishedKeys::from_bytes(KeyKind::Signed, &keys.to_bytes().expect("encodes"))
            .expect("decodes");
        assert_eq!(saved, PublishedKeys::of([10, 11, 12, 13]));
        assert!(PublishedKeys::from_bytes(KeyKind::Signed, b"not a bitmap").is_err());
    }

    #[test]
    fn a_row_published_again_after_its_delete_counts_as_published() {
        let mut keys = PublishedKeys::of([4]);
        keys.deleted(&Key::Signed(4));
        keys.published(&Key::Signed(4));
        keys.confirm();
        assert!(keys.contains(&Key::Signed(4)));
    }
}
