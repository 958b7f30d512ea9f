//! The published keys kept across restarts: a checkpoint file beside the watermark, and the
//! records topic read from the checkpoint's offsets to its end.
//!
//! Invariant: a checkpoint's keys account for every record of the topic before its offsets.
//! Integer keys count when their record is queued: the topic's end offsets are read first, then
//! the keys (which then hold every record queued so far, and the deletes not yet confirmed).
//! Hashed keys (strings, binary) count when their record is delivered: the offsets are the ones
//! the delivery reports reached, taken with the keys under one lock. At start the records from those offsets on are applied in
//! offset order (a row adds its key, a tombstone removes it), which gives back the set of the
//! invariant in `published_keys` whatever happened since: a crash, other records, a lost file.
//! Without a usable checkpoint (none yet, unreadable, of another topic, or of a topic since
//! recreated) the whole topic is read. Records the topic's retention has deleted cannot be read:
//! their keys are missing, and a row of theirs deleted meanwhile is not found; the producer
//! says so (a compacted topic, `kafka.compact_topic`, keeps every key's latest record).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rdkafka::message::Message as _;
use serde::{Deserialize, Serialize};
use sluice_common::kafka::topic_reader::{self, OffsetRange, TopicReadError};
use sluice_common::settings::KafkaSettings;

use crate::source::key::KeyKind;
use crate::sweep::key_set::KeySet;

/// The first line of a checkpoint file.
const MAGIC: &[u8] = b"sluice published keys 1\n";

/// Where the published keys are saved, the topic they are of, and their kind.
#[derive(Debug, Clone)]
pub struct KeyCheckpoint {
    path: PathBuf,
    topic: String,
    kind: KeyKind,
}

/// What precedes the keys in a checkpoint file, as one JSON line.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    topic: String,
    /// By partition, the offset up to which the keys account for the records.
    offsets: BTreeMap<i32, i64>,
    /// The kind of key, when not signed integers (absent in files written before there was a
    /// choice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<SavedKind>,
}

/// A kind of key other than signed integers, as a checkpoint names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum SavedKind {
    Unsigned,
    /// Hashes of string keys.
    Text,
    /// Hashes of binary keys.
    Bytes,
}

fn saved_kind(kind: KeyKind) -> Option<SavedKind> {
    match kind {
        KeyKind::Signed => None,
        KeyKind::Unsigned => Some(SavedKind::Unsigned),
        KeyKind::Text => Some(SavedKind::Text),
        KeyKind::Bytes => Some(SavedKind::Bytes),
    }
}

/// The published keys found at start, and how they were found.
#[derive(Debug)]
pub struct Restored {
    /// The keys.
    pub keys: KeySet,
    /// Records read from the topic to find them.
    pub records_read: u64,
    /// By partition, the offset the topic was read up to.
    pub ends: BTreeMap<i32, i64>,
    /// Whether a checkpoint was used.
    pub from_checkpoint: bool,
    /// Partitions whose records from the checkpoint (or from the start) are partly deleted by
    /// the topic's retention: keys of theirs may be missing.
    pub retention_gaps: Vec<i32>,
}

/// The published keys could not be found or saved.
#[derive(Debug, thiserror::Error)]
pub enum KeyCheckpointError {
    /// The records topic could not be read.
    #[error("reading the published keys back from topic `{topic}`: {source}")]
    Read {
        /// The topic.
        topic: String,
        /// Why.
        #[source]
        source: Box<TopicReadError>,
    },
    /// The checkpoint file could not be written.
    #[error("saving the published keys in {}: {source}", path.display())]
    Save {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The task reading them back panicked or was cancelled: a defect.
    #[error("the task reading the published keys back ended abnormally")]
    Task(#[from] tokio::task::JoinError),
}

impl KeyCheckpoint {
    /// The checkpoint of `topic`'s keys of `kind`, in the file beside `watermark_file` named
    /// like it with the extension `keys`.
    pub fn beside(watermark_file: &Path, topic: &str, kind: KeyKind) -> Self {
        Self {
            path: watermark_file.with_extension("keys"),
            topic: topic.to_owned(),
            kind,
        }
    }

    /// The checkpoint file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The published keys: the checkpoint's, then the records after it. Blocking.
    pub fn restore(
        &self,
        kafka: &KafkaSettings,
        patience: Duration,
    ) -> Result<Restored, KeyCheckpointError> {
        let read_error = |source| KeyCheckpointError::Read {
            topic: self.topic.clone(),
            source: Box::new(source),
        };
        let bounds =
            topic_reader::partition_offsets(kafka, &self.topic, patience).map_err(read_error)?;
        let saved = self.load().filter(|(header, _)| {
            header.offsets.iter().all(|(partition, offset)| {
                bounds
                    .get(partition)
                    .is_some_and(|bounds| *offset <= bounds.end)
            })
        });
        let from_checkpoint = saved.is_some();
        let (offsets, mut keys) = match saved {
            Some((header, keys)) => (header.offsets, keys),
            None => (BTreeMap::new(), KeySet::new(self.kind)),
        };
        let mut retention_gaps = Vec::new();
        let mut ranges = Vec::new();
        for (partition, bounds) in &bounds {
            let from = offsets.get(partition).copied().unwrap_or(0);
            if from < bounds.first {
                retention_gaps.push(*partition);
            }
            ranges.push(OffsetRange {
                topic: self.topic.clone(),
                partition: *partition,
                start: from.max(bounds.first),
                end: bounds.end,
            });
        }
        let mut records_read = 0;
        topic_reader::read_ranges(kafka, &ranges, patience, |message| {
            records_read += 1;
            let Some(key) = message.key().and_then(|key| self.kind.from_record_key(key)) else {
                return;
            };
            match message.payload() {
                Some(_) => keys.published(&key),
                None => keys.deleted(&key),
            }
        })
        .map_err(read_error)?;
        keys.confirm();
        let ends: BTreeMap<i32, i64> = bounds.iter().map(|(p, b)| (*p, b.end)).collect();
        keys.account_up_to(&ends);
        Ok(Restored {
            keys,
            records_read,
            ends,
            from_checkpoint,
            retention_gaps,
        })
    }

    /// Saves `keys` as accounting for the records before `offsets`, which must have been read
    /// before the keys were taken (see the module documentation).
    pub fn save(
        &self,
        offsets: BTreeMap<i32, i64>,
        keys: &KeySet,
    ) -> Result<(), KeyCheckpointError> {
        let failed = |source| KeyCheckpointError::Save {
            path: self.path.clone(),
            source,
        };
        let header = Header {
            topic: self.topic.clone(),
            offsets,
            key: saved_kind(self.kind),
        };
        let mut head = MAGIC.to_vec();
        serde_json::to_writer(&mut head, &header).map_err(|e| failed(e.into()))?;
        head.push(b'\n');
        sluice_common::durable_file::replace_with(&self.path, |file| {
            file.write_all(&head)?;
            keys.write_to(file)
        })
        .map_err(failed)
    }

    /// The saved checkpoint of this topic, if there is a readable one; an unreadable one is
    /// only a cost (the topic is read from its start), so it is logged and passed over.
    fn load(&self) -> Option<(Header, KeySet)> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
            Err(error) => {
                tracing::warn!(
                    file = %self.path.display(),
                    topic = %self.topic,
                    "published keys in {}: {error}; reading topic {} from its start instead",
                    self.path.display(),
                    self.topic
                );
                return None;
            }
        };
        match parse(&bytes, self.kind) {
            Ok((header, _)) if header.topic != self.topic => None,
            Ok((header, _)) if header.key != saved_kind(self.kind) => None,
            Ok(saved) => Some(saved),
            Err(reason) => {
                tracing::warn!(
                    file = %self.path.display(),
                    topic = %self.topic,
                    "published keys in {} cannot be read ({reason}); reading topic {} from its \
                     start instead",
                    self.path.display(),
                    self.topic
                );
                None
            }
        }
    }
}

fn parse(bytes: &[u8], kind: KeyKind) -> Result<(Header, KeySet), String> {
    let rest = bytes
        .strip_prefix(MAGIC)
        .ok_or("not a checkpoint of published keys")?;
    let newline = rest
        .iter()
        .position(|&b| b == b'\n')
        .ok_or("no header line")?;
    let header: Header = serde_json::from_slice(&rest[..newline]).map_err(|e| e.to_string())?;
    let keys = KeySet::from_bytes(kind, &rest[newline + 1..]).map_err(|e| e.to_string())?;
    Ok((header, keys))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::published_keys::PublishedKeys;

    #[test]
    fn a_checkpoint_reads_back_its_keys_and_offsets() {
        let dir = tempfile::tempdir().expect("dir");
        let checkpoint =
            KeyCheckpoint::beside(&dir.path().join("w.json"), "products", KeyKind::Signed);
        assert_eq!(checkpoint.path(), dir.path().join("w.keys"));
        let keys = KeySet::Ordered(PublishedKeys::of([1, 5, 9]));
        checkpoint
            .save(BTreeMap::from([(0, 12), (1, 40)]), &keys)
            .expect("save");
        let (header, loaded) = checkpoint.load().expect("a checkpoint");
        assert_eq!(header.offsets, BTreeMap::from([(0, 12), (1, 40)]));
        assert_eq!(loaded, keys);

        let other =
            KeyCheckpoint::beside(&dir.path().join("w.json"), "other_topic", KeyKind::Signed);
        assert!(
            other.load().is_none(),
            "a checkpoint of another topic is not used"
        );
        let unsigned =
            KeyCheckpoint::beside(&dir.path().join("w.json"), "products", KeyKind::Unsigned);
        assert!(
            unsigned.load().is_none(),
            "a checkpoint of another kind of key is not used"
        );
    }

    #[test]
    fn a_damaged_checkpoint_is_passed_over() {
        let dir = tempfile::tempdir().expect("dir");
        let checkpoint =
            KeyCheckpoint::beside(&dir.path().join("w.json"), "products", KeyKind::Signed);
        checkpoint
            .save(
                BTreeMap::from([(0, 3)]),
                &KeySet::Ordered(PublishedKeys::of([1, 2, 3])),
            )
            .expect("save");
        let mut bytes = std::fs::read(checkpoint.path()).expect("read");
        bytes.truncate(bytes.len() - 3);
        std::fs::write(checkpoint.path(), &bytes).expect("damage");
        assert!(checkpoint.load().is_none());
        std::fs::write(checkpoint.path(), b"{}").expect("damage");
        assert!(checkpoint.load().is_none());
    }

    #[test]
    fn a_checkpoint_saved_by_the_integer_only_producer_reads_back() {
        let path = format!(
            "{}/../e2e/fixtures/saved_state/producer.watermark.keys",
            env!("CARGO_MANIFEST_DIR")
        );
        let bytes = std::fs::read(path).expect("fixture");
        let (header, keys) = parse(&bytes, KeyKind::Signed).expect("parses");
        assert_eq!(header.topic, "product_updates");
        assert_eq!(header.key, None);
        assert_eq!(header.offsets, BTreeMap::from([(0, 0), (1, 0)]));
        assert_eq!(keys, KeySet::Ordered(PublishedKeys::of(1..=150)));
    }
}
