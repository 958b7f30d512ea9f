//! The published keys of a string or binary key: what the delete sweep compares the table's keys
//! with when the keys are not integers (see `published_keys` for integers).
//!
//! A string key compares in its column's collation (`utf8mb4_unicode_ci` takes `a`, `A` and
//! `a ` for one key), so a set ordered by bytes cannot be merged with the table's key order.
//! The sweep therefore compares no order: each key is kept as a 64-bit hash of its record key
//! (XXH3) with where its latest record lies on the topic (partition and offset, 16 bytes a key,
//! so a million keys take 16 MB). A pass marks the hashes of the keys the table holds; the
//! published keys it did not see are candidates, whose keys are read back from their records,
//! and a candidate is deleted only when the database holds no row with exactly its bytes then.
//!
//! Invariant: **the set holds every key whose latest delivered record on the topic is a row**,
//! located at that record. A key is added when its record is delivered (the delivery report
//! says where), removed when its tombstone is queued, and remembered as unconfirmed until that
//! tombstone is acknowledged or committed, as in `published_keys`. Two keys of one hash would
//! hide the delete of one of them: about one chance in 3 · 10⁷ for a table of a million keys.
//!
//! The sorted list is cut into buckets by the hash's top bits, so adding keys grows one small
//! list at a time: a single list of a million keys, grown, is copied whole by most allocators,
//! and for that moment takes twice its memory.

use std::collections::{BTreeMap, HashMap};

use xxhash_rust::xxh3::xxh3_64;

/// A record's place on the topic: its partition in the top 16 bits, its offset below.
pub type Location = u64;

/// The location of a record at `offset` of `partition`; `None` past what a location holds.
pub fn location(partition: i32, offset: i64) -> Option<Location> {
    let partition = u64::try_from(partition).ok().filter(|p| *p < 1 << 16)?;
    let offset = u64::try_from(offset).ok().filter(|o| *o < 1 << 48)?;
    Some(partition << 48 | offset)
}

/// The partition and offset of a location.
pub fn place(location: Location) -> (i32, i64) {
    ((location >> 48) as i32, (location & ((1 << 48) - 1)) as i64)
}

/// The hash a record key is kept by.
pub fn hash(record_key: &[u8]) -> u64 {
    xxh3_64(record_key)
}

/// Keys added since the last merge that make the next one: a small map beside the sorted list.
const MERGE_AT: usize = 1 << 15;

/// Marks a key removed from `base` until the next merge.
const GONE: Location = u64::MAX;

/// The top bits of a hash that choose its bucket.
const BUCKET_BITS: u32 = 10;

/// A hash's bucket.
fn bucket_of(hash: u64) -> usize {
    (hash >> (64 - BUCKET_BITS)) as usize
}

/// One bucket of the sorted list: sorted by hash, each hash once.
type Bucket = Vec<(u64, Location)>;

/// The published keys by hash, and the removed ones not yet confirmed.
#[derive(Debug, Clone, PartialEq)]
pub struct HashedKeys {
    /// Buckets by the top bits of the hash, each sorted by hash, each hash once; `GONE` for a
    /// key removed since the last merge.
    base: Vec<Bucket>,
    /// Keys added since the last merge (never in `base`).
    recent: HashMap<u64, Location>,
    /// Removed keys whose tombstone is not confirmed, with the location they had.
    unconfirmed: Vec<(u64, Location)>,
    /// Entries of `base` marked `GONE`.
    gone: usize,
    /// The pass in progress.
    pass: Option<Pass>,
    /// By partition, the offset up to which the set accounts for the topic's records.
    accounted: BTreeMap<i32, i64>,
}

/// What a pass has seen: a bit for each entry of `base` the table's keys matched, numbered
/// through the buckets in order.
#[derive(Debug, Clone, PartialEq)]
struct Pass {
    /// The number of the first entry of each bucket.
    first: Vec<usize>,
    seen: Vec<u64>,
}

impl Default for HashedKeys {
    fn default() -> Self {
        Self {
            base: vec![Vec::new(); 1 << BUCKET_BITS],
            recent: HashMap::new(),
            unconfirmed: Vec::new(),
            gone: 0,
            pass: None,
            accounted: BTreeMap::new(),
        }
    }
}

impl HashedKeys {
    /// A record of this key was delivered at `location`.
    pub fn delivered(&mut self, hash: u64, location: Location) {
        match self.find(hash) {
            Some((bucket, at)) => {
                let entry = &mut self.base[bucket][at];
                if entry.1 == GONE {
                    self.gone -= 1;
                }
                entry.1 = location;
            }
            None => {
                self.recent.insert(hash, location);
                self.merge_if_large();
            }
        }
    }

    /// The set accounts for the records of `partition` before `next_offset` (the record before
    /// it was delivered, or the topic was read back up to it).
    pub fn account(&mut self, partition: i32, next_offset: i64) {
        let accounted = self.accounted.entry(partition).or_default();
        *accounted = (*accounted).max(next_offset);
    }

    /// By partition, the offset up to which the set accounts for the topic's records.
    pub fn accounted(&self) -> &BTreeMap<i32, i64> {
        &self.accounted
    }

    /// The tombstone of this key was queued.
    pub fn deleted(&mut self, hash: u64) {
        let removed = match self.find(hash) {
            Some((bucket, at)) if self.base[bucket][at].1 != GONE => {
                self.gone += 1;
                Some(std::mem::replace(&mut self.base[bucket][at].1, GONE))
            }
            _ => self.recent.remove(&hash),
        };
        if let Some(location) = removed {
            self.unconfirmed.push((hash, location));
        }
    }

    /// Every tombstone queued so far is acknowledged or committed.
    pub fn confirm(&mut self) {
        self.unconfirmed.clear();
    }

    /// The tombstones not confirmed may not have reached the topic: their keys count as
    /// published again, at the records they had.
    pub fn restore_unconfirmed(&mut self) {
        for (hash, location) in std::mem::take(&mut self.unconfirmed) {
            self.delivered(hash, location);
        }
    }

    /// Adds the keys of `other`.
    pub fn union_with(&mut self, other: HashedKeys) {
        for (hash, location) in other.live().chain(other.unconfirmed.iter().copied()) {
            self.delivered(hash, location);
        }
    }

    /// Whether a key of this hash counts as published.
    pub fn contains(&self, hash: u64) -> bool {
        self.recent.contains_key(&hash)
            || self
                .find(hash)
                .is_some_and(|(bucket, at)| self.base[bucket][at].1 != GONE)
    }

    /// How many keys count as published.
    pub fn len(&self) -> u64 {
        (self.entries() - self.gone + self.recent.len()) as u64
    }

    /// Whether no key counts as published.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What the set takes in memory, about.
    pub fn size_in_bytes(&self) -> usize {
        let entry = std::mem::size_of::<(u64, Location)>();
        let base: usize = self.base.iter().map(Vec::capacity).sum();
        (base + self.recent.capacity() + self.unconfirmed.capacity()) * entry
    }

    /// Starts a pass over the table's keys: every key published so far is one the pass may
    /// find gone.
    pub fn start_pass(&mut self) {
        self.merge();
        let first = self
            .base
            .iter()
            .scan(0, |next, bucket| {
                let first = *next;
                *next += bucket.len();
                Some(first)
            })
            .collect();
        self.pass = Some(Pass {
            first,
            seen: vec![0; self.entries().div_ceil(64)],
        });
    }

    /// The table holds a key of this hash.
    pub fn seen(&mut self, hash: u64) {
        let Some((bucket, at)) = self.find(hash) else {
            return;
        };
        if let Some(pass) = self.pass.as_mut() {
            let number = pass.first[bucket] + at;
            pass.seen[number / 64] |= 1 << (number % 64);
        }
    }

    /// Ends the pass: the keys published before it that it did not see, with their records'
    /// locations. Keys published since it started are left for the next.
    pub fn unseen(&mut self) -> Vec<(u64, Location)> {
        let Some(Pass { seen, .. }) = self.pass.take() else {
            return Vec::new();
        };
        let unseen = self
            .base
            .iter()
            .flatten()
            .enumerate()
            .filter(|(number, (_, location))| {
                *location != GONE && seen[number / 64] & (1 << (number % 64)) == 0
            })
            .map(|(_, entry)| *entry)
            .collect();
        self.merge_if_large();
        unseen
    }

    /// The key of a candidate cannot be read back (its record was deleted by the topic's
    /// retention): it is forgotten, as nothing of it is left on the topic to delete.
    pub fn forget(&mut self, hash: u64) {
        self.deleted(hash);
        self.unconfirmed.retain(|(h, _)| *h != hash);
    }

    /// Writes what a checkpoint saves: the published keys with the unconfirmed deletes, 16
    /// bytes each (hash, location; little-endian).
    pub fn write_to(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        for (hash, location) in self.live().chain(self.unconfirmed.iter().copied()) {
            out.write_all(&hash.to_le_bytes())?;
            out.write_all(&location.to_le_bytes())?;
        }
        Ok(())
    }

    /// [`HashedKeys::write_to`] into a buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity((self.len() as usize + self.unconfirmed.len()) * 16);
        let _ = self.write_to(&mut bytes);
        bytes
    }

    /// The set a checkpoint saved.
    pub fn from_bytes(bytes: &[u8]) -> std::io::Result<Self> {
        if !bytes.len().is_multiple_of(16) {
            return Err(std::io::Error::other("not whole entries of 16 bytes"));
        }
        let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or_default());
        let entries = || {
            bytes.chunks_exact(16).map(|entry| {
                let (hash, location) = entry.split_at(8);
                (word(hash), word(location))
            })
        };
        let mut keys = Self::default();
        keys.grow_buckets(entries().map(|(hash, _)| hash));
        for (hash, location) in entries() {
            keys.base[bucket_of(hash)].push((hash, location));
        }
        for bucket in &mut keys.base {
            // A key deleted but not confirmed and published again is saved twice: either
            // record holds its key.
            bucket.sort_by_key(|e| e.0);
            bucket.dedup_by_key(|e| e.0);
        }
        Ok(keys)
    }

    /// Entries of `base`, `GONE` included.
    fn entries(&self) -> usize {
        self.base.iter().map(Vec::len).sum()
    }

    /// The bucket and place in it of a hash in `base`.
    fn find(&self, hash: u64) -> Option<(usize, usize)> {
        let bucket = bucket_of(hash);
        let at = self.base[bucket]
            .binary_search_by_key(&hash, |e| e.0)
            .ok()?;
        Some((bucket, at))
    }

    fn live(&self) -> impl Iterator<Item = (u64, Location)> + '_ {
        self.base
            .iter()
            .flatten()
            .copied()
            .filter(|(_, location)| *location != GONE)
            .chain(self.recent.iter().map(|(h, l)| (*h, *l)))
    }

    /// Merges when the keys added since the last merge are many, and no pass is marking `base`.
    fn merge_if_large(&mut self) {
        if self.pass.is_none() && self.recent.len() > MERGE_AT {
            self.merge();
        }
    }

    /// Puts the keys added since the last merge into `base`, sorted, and drops the removed.
    fn merge(&mut self) {
        if self.recent.is_empty() && self.gone == 0 {
            return;
        }
        if self.gone > 0 {
            for bucket in &mut self.base {
                bucket.retain(|(_, location)| *location != GONE);
            }
        }
        let recent = std::mem::take(&mut self.recent);
        self.grow_buckets(recent.keys().copied());
        for (hash, location) in recent {
            self.base[bucket_of(hash)].push((hash, location));
        }
        for bucket in &mut self.base {
            if !bucket.is_sorted_by_key(|e| e.0) {
                bucket.sort_unstable_by_key(|e| e.0);
            }
        }
        self.recent.reserve(1 << 10);
        self.gone = 0;
    }

    /// Makes room in each bucket for exactly the given hashes: lists grown by doubling would
    /// hold up to twice the keys' memory.
    fn grow_buckets(&mut self, hashes: impl Iterator<Item = u64>) {
        let mut adding = vec![0usize; self.base.len()];
        for hash in hashes {
            adding[bucket_of(hash)] += 1;
        }
        for (bucket, more) in self.base.iter_mut().zip(adding) {
            bucket.reserve_exact(more);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(offset: i64) -> Location {
        location(3, offset).expect("fits")
    }

    #[test]
    fn a_location_keeps_its_partition_and_offset() {
        assert_eq!(place(location(7, 123_456).expect("fits")), (7, 123_456));
        assert_eq!(
            place(location(65_535, (1 << 48) - 1).expect("fits")),
            (65_535, (1 << 48) - 1)
        );
        assert_eq!(location(65_536, 0), None);
        assert_eq!(location(0, -1), None);
        assert_eq!(hash(b"abc"), hash(b"abc"));
        assert_ne!(
            hash(b"abc"),
            hash(b"ABC"),
            "keys are told apart by their bytes"
        );
    }

    #[test]
    fn keys_not_seen_by_a_pass_are_its_candidates_with_their_latest_record() {
        let mut keys = HashedKeys::default();
        for h in 1..=5 {
            keys.delivered(h, at(h as i64));
        }
        keys.delivered(2, at(20));
        keys.start_pass();
        keys.seen(1);
        keys.seen(4);
        keys.seen(99);
        // Published during the pass: left for the next.
        keys.delivered(6, at(6));
        // Deleted during the pass: no longer a candidate.
        keys.deleted(5);
        let mut unseen = keys.unseen();
        unseen.sort_unstable();
        assert_eq!(unseen, vec![(2, at(20)), (3, at(3))]);
        assert_eq!(keys.len(), 5);
        assert!(keys.contains(6) && !keys.contains(5));
        keys.start_pass();
        let unseen: Vec<u64> = keys.unseen().into_iter().map(|(h, _)| h).collect();
        assert_eq!(unseen, vec![1, 2, 3, 4, 6]);
    }

    #[test]
    fn a_tombstone_not_confirmed_puts_its_key_back_at_its_record_after_a_failure() {
        let mut keys = HashedKeys::default();
        keys.delivered(1, at(1));
        keys.start_pass();
        keys.unseen();
        keys.delivered(2, at(2));
        keys.deleted(1);
        keys.deleted(2);
        assert_eq!(keys.len(), 0);
        keys.restore_unconfirmed();
        assert!(keys.contains(1) && keys.contains(2));
        keys.deleted(2);
        keys.confirm();
        keys.restore_unconfirmed();
        assert!(!keys.contains(2), "a confirmed delete stays done");
        keys.forget(1);
        keys.restore_unconfirmed();
        assert_eq!(keys.len(), 0, "a forgotten key does not come back");
    }

    #[test]
    fn a_checkpoint_holds_every_key_with_its_location_and_the_unconfirmed_deletes() {
        let mut keys = HashedKeys::default();
        for h in [9, 3, 7] {
            keys.delivered(h, at(h as i64));
        }
        keys.start_pass();
        keys.unseen();
        keys.deleted(7);
        keys.delivered(11, at(11));
        let saved = HashedKeys::from_bytes(&keys.to_bytes()).expect("decodes");
        assert_eq!(saved.len(), 4);
        for h in [3, 7, 9, 11] {
            assert!(saved.contains(h), "{h}");
        }
        assert!(HashedKeys::from_bytes(&[0; 15]).is_err());
        let mut union = HashedKeys::default();
        union.union_with(saved);
        assert_eq!(union.len(), 4);
    }

    #[test]
    fn a_key_published_again_before_its_delete_was_confirmed_is_read_back_once_at_its_latest_record(
    ) {
        let mut keys = HashedKeys::default();
        keys.delivered(5, at(5));
        keys.start_pass();
        keys.unseen();
        keys.deleted(5);
        keys.delivered(5, at(50));
        let saved = HashedKeys::from_bytes(&keys.to_bytes()).expect("decodes");
        assert_eq!(saved.len(), 1);
        let mut saved = saved;
        saved.start_pass();
        assert_eq!(saved.unseen(), vec![(5, at(50))]);
    }

    #[test]
    fn many_keys_merge_into_one_sorted_list() {
        let mut keys = HashedKeys::default();
        for h in (0..200_000u64).rev() {
            keys.delivered(h.wrapping_mul(0x9e37_79b9_7f4a_7c15), at(h as i64));
        }
        assert_eq!(keys.len(), 200_000);
        assert!(keys.recent.len() <= MERGE_AT, "merged as it grew");
        let hashes: Vec<u64> = keys.base.iter().flatten().map(|e| e.0).collect();
        assert!(
            hashes.windows(2).all(|w| w[0] < w[1]),
            "sorted through the buckets"
        );
        assert!(keys.size_in_bytes() >= 200_000 * 16);
    }
}
