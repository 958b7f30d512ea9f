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
//! Keys are kept in a compressed bitmap (`roaring`): a million dense keys take about 130 KB.

use roaring::RoaringTreemap;

/// The published keys, and the deleted ones not yet confirmed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PublishedKeys {
    live: RoaringTreemap,
    unconfirmed: RoaringTreemap,
}

/// The bitmap's value of a key: its bits with the sign flipped, so that the bitmap's order is
/// the keys' order, negative keys first.
fn bit(key: i64) -> u64 {
    (key as u64) ^ (1 << 63)
}

fn key_of(bit: u64) -> i64 {
    (bit ^ (1 << 63)) as i64
}

impl PublishedKeys {
    /// A set holding `keys`, none of them unconfirmed.
    pub fn of(keys: impl IntoIterator<Item = i64>) -> Self {
        Self {
            live: keys.into_iter().map(bit).collect(),
            unconfirmed: RoaringTreemap::new(),
        }
    }

    /// The record of a row with this key was queued.
    pub fn published(&mut self, key: i64) {
        self.live.insert(bit(key));
    }

    /// The tombstone of this key was queued.
    pub fn deleted(&mut self, key: i64) {
        self.live.remove(bit(key));
        self.unconfirmed.insert(bit(key));
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
    pub fn contains(&self, key: i64) -> bool {
        self.live.contains(bit(key))
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
    pub fn absent_from(&self, after: i64, through: Option<i64>, present: &[i64]) -> Vec<i64> {
        if after == i64::MAX {
            return Vec::new();
        }
        let mut published = self.live.iter();
        published.advance_to(bit(after) + 1);
        let mut present = present.iter().copied().peekable();
        let mut gone = Vec::new();
        for key in published.map(key_of) {
            if through.is_some_and(|through| key > through) {
                break;
            }
            while present.next_if(|&p| p < key).is_some() {}
            if present.next_if_eq(&key).is_none() {
                gone.push(key);
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

    /// The set a checkpoint saved.
    pub fn from_bytes(bytes: &[u8]) -> std::io::Result<Self> {
        Ok(Self {
            live: RoaringTreemap::deserialize_from(bytes)?,
            unconfirmed: RoaringTreemap::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_absent_from_the_table_in_a_range_are_gone() {
        let keys = PublishedKeys::of([-5, 1, 2, 3, 7, 9, 20]);
        assert_eq!(keys.absent_from(-10, Some(7), &[-5, 2, 3]), vec![1, 7]);
        assert_eq!(keys.absent_from(7, Some(20), &[9, 20]), Vec::<i64>::new());
        assert_eq!(keys.absent_from(3, None, &[4, 5, 6, 20]), vec![7, 9]);
        // Keys of the table the producer has not published yet change nothing.
        assert_eq!(
            keys.absent_from(i64::MIN, None, &[0, 4, 100]),
            vec![-5, 1, 2, 3, 7, 9, 20]
        );
        assert_eq!(keys.absent_from(i64::MAX, None, &[]), Vec::<i64>::new());
    }

    #[test]
    fn the_extremes_of_the_key_range_keep_their_order() {
        let keys = PublishedKeys::of([i64::MIN, i64::MIN + 1, -1, 0, i64::MAX]);
        // The sweep starts after the smallest key: that one key is never swept.
        assert_eq!(
            keys.absent_from(i64::MIN, Some(-1), &[]),
            vec![i64::MIN + 1, -1]
        );
        assert_eq!(keys.absent_from(-1, None, &[0]), vec![i64::MAX]);
        assert_eq!(keys.absent_from(i64::MIN + 1, Some(0), &[-1]), vec![0]);
    }

    #[test]
    fn a_tombstone_not_confirmed_puts_its_key_back_after_a_failure() {
        let mut keys = PublishedKeys::of([1, 2, 3]);
        keys.deleted(2);
        assert!(!keys.contains(2));
        keys.restore_unconfirmed();
        assert!(
            keys.contains(2),
            "the delete is sent again by the next sweep"
        );

        keys.deleted(3);
        keys.confirm();
        keys.restore_unconfirmed();
        assert!(!keys.contains(3), "a confirmed delete stays done");
        assert_eq!(keys.len(), 2);
    }

    #[test]
    fn a_checkpoint_holds_the_unconfirmed_deletes_too() {
        let mut keys = PublishedKeys::of([10, 11, 12]);
        keys.deleted(11);
        keys.published(13);
        let saved = PublishedKeys::from_bytes(&keys.to_bytes().expect("encodes")).expect("decodes");
        assert_eq!(saved, PublishedKeys::of([10, 11, 12, 13]));
        assert!(PublishedKeys::from_bytes(b"not a bitmap").is_err());
    }

    #[test]
    fn a_row_published_again_after_its_delete_counts_as_published() {
        let mut keys = PublishedKeys::of([4]);
        keys.deleted(4);
        keys.published(4);
        keys.confirm();
        assert!(keys.contains(4));
    }
}
