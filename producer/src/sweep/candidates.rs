//! The end of a pass over string or binary keys (see `hashed_keys`): the published keys it did
//! not see are read back from their latest records, and only those the database then holds no
//! row of, byte for byte, are deleted.
//!
//! Invariant: **a key is deleted only when, after the pass, a lookup finds no row whose key has
//! exactly its bytes.** A key the pass missed because its row came back meanwhile is found by the
//! lookup; a key the collation takes for another (`abc` for a row now keyed `ABC`) is a key of
//! its own on the topic and in the files, so it is deleted.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use rdkafka::message::Message as _;
use sluice_common::kafka::offset_reader;
use sluice_common::kafka::topic_reader::{self, TopicReadError};
use sluice_common::settings::KafkaSettings;
use sqlx::MySqlPool;

use crate::source::key::{Key, KeyKind};
use crate::source::keyset::KeysetQuery;
use crate::sweep::hashed_keys::{hash, place, Location};

/// Keys looked up in the table per query.
const LOOKUP_KEYS: usize = 500;

/// The candidates' keys read back from the topic.
#[derive(Debug, Default)]
pub struct ReadBack {
    /// Each candidate found: its hash and key.
    pub keys: Vec<(u64, Key)>,
    /// Hashes whose record the topic no longer holds (deleted by its retention).
    pub lost: Vec<u64>,
}

/// Reads the record key of each candidate (hash, location) from `topic`, records of aborted
/// transactions included (a key located at one was never committed since, and may be
/// committed before it). Blocking.
pub fn read_back(
    kafka: &KafkaSettings,
    topic: &str,
    kind: KeyKind,
    candidates: &[(u64, Location)],
    patience: Duration,
) -> Result<ReadBack, TopicReadError> {
    let bounds = topic_reader::partition_offsets(kafka, topic, patience)?;
    let mut wanted: BTreeMap<i32, BTreeMap<i64, u64>> = BTreeMap::new();
    let mut read = ReadBack::default();
    for &(hash, location) in candidates {
        let (partition, offset) = place(location);
        match bounds.get(&partition) {
            Some(bounds) if (bounds.first..bounds.end).contains(&offset) => {
                wanted.entry(partition).or_default().insert(offset, hash);
            }
            _ => read.lost.push(hash),
        }
    }
    let offsets: BTreeMap<i32, Vec<i64>> = wanted
        .iter()
        .map(|(partition, offsets)| (*partition, offsets.keys().copied().collect()))
        .collect();
    offset_reader::read_offsets(kafka, topic, &offsets, patience, |message| {
        let Some(expected) = wanted
            .get_mut(&message.partition())
            .and_then(|offsets| offsets.remove(&message.offset()))
        else {
            return;
        };
        let key = message
            .key()
            .filter(|key| hash(key) == expected)
            .and_then(|key| kind.from_record_key(key));
        match key {
            Some(key) => read.keys.push((expected, key)),
            None => read.lost.push(expected),
        }
    })?;
    // Offsets the read did not deliver (compacted away): nothing left of them to delete.
    read.lost.extend(
        wanted
            .into_values()
            .flat_map(|offsets| offsets.into_values()),
    );
    Ok(read)
}

/// Of `keys`, those the table holds no row of whose key has exactly their bytes.
pub async fn absent_from_table(
    pool: &MySqlPool,
    query: &KeysetQuery,
    keys: Vec<(u64, Key)>,
) -> Result<Vec<(u64, Key)>, sqlx::Error> {
    let mut absent = Vec::new();
    for chunk in keys.chunks(LOOKUP_KEYS) {
        let held: HashSet<Vec<u8>> = query
            .present(pool, chunk.iter().map(|(_, key)| key))
            .await?
            .iter()
            .map(Key::record_key)
            .collect();
        absent.extend(
            chunk
                .iter()
                .filter(|(_, key)| !held.contains(&key.record_key()))
                .cloned(),
        );
    }
    Ok(absent)
}
