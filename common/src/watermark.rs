//! The producer's position in the table: the `(timestamp, key)` of the last row it has handed
//! to Kafka for good.
//!
//! Invariant: **the watermark never passes a row that Kafka has not acknowledged.** The producer
//! saves it only after every record up to it is acknowledged, and the save is atomic (write a
//! temporary file, fsync it, rename it over the old one, fsync the folder), so a crash at any
//! moment leaves either the previous position or the new one, never a torn file. A restart
//! resumes from it and at worst sends again the records of the pages not saved yet.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A position in the table: which rows have been published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Watermark {
    /// In timestamp order, the timestamp of the last published row; in key order, the bound of
    /// the snapshot.
    pub last_updated: DateTime<Utc>,
    /// The key of the last published row (which orders rows sharing one timestamp).
    pub id: i64,
    /// How the table is being read; absent in files written before there was a choice.
    #[serde(default, skip_serializing_if = "ReadOrder::is_timestamp")]
    pub order: ReadOrder,
}

/// The two ways the producer reads the table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReadOrder {
    /// Changes in `(timestamp, key)` order: every row at or before `(last_updated, id)` is
    /// published.
    #[default]
    Timestamp,
    /// The first read of a table in primary-key order, one pass over the table's clustered
    /// index: every row with a key up to `id` and a timestamp up to `last_updated` is
    /// published, as it was when read. Rows changed since carry later timestamps, which the
    /// timestamp order reads next.
    Key,
}

impl ReadOrder {
    fn is_timestamp(&self) -> bool {
        *self == ReadOrder::Timestamp
    }
}

impl Watermark {
    /// Before every row in timestamp order: where a producer starts when the table cannot be
    /// read in key order.
    pub fn beginning() -> Self {
        Self {
            last_updated: DateTime::<Utc>::UNIX_EPOCH,
            id: i64::MIN,
            order: ReadOrder::Timestamp,
        }
    }

    /// Before every row of a key-order snapshot of the rows up to `bound`.
    pub fn snapshot_up_to(bound: DateTime<Utc>) -> Self {
        Self {
            last_updated: bound,
            id: i64::MIN,
            order: ReadOrder::Key,
        }
    }

    /// Where the reading goes on after a page that ended at key `last_key` (`None` for an
    /// empty page), `full` when the page had as many rows as asked for. In timestamp order the
    /// caller gives the last row's position instead; see [`Watermark::at_row`].
    pub fn after_key_page(self, last_key: Option<i64>, full: bool) -> Self {
        match (last_key, full) {
            (Some(id), true) => Self { id, ..self },
            // The snapshot is done: every row up to its bound is published, and changes follow
            // in timestamp order from there.
            _ => Self {
                last_updated: self.last_updated,
                id: i64::MAX,
                order: ReadOrder::Timestamp,
            },
        }
    }

    /// The position of a row read in timestamp order.
    pub fn at_row(last_updated: DateTime<Utc>, id: i64) -> Self {
        Self {
            last_updated,
            id,
            order: ReadOrder::Timestamp,
        }
    }
}

impl std::fmt::Display for Watermark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = self
            .last_updated
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        match (self.order, self.id) {
            (ReadOrder::Key, i64::MIN) => write!(f, "start of the key-order snapshot up to {at}"),
            (ReadOrder::Key, id) => write!(f, "key {id} of the key-order snapshot up to {at}"),
            (ReadOrder::Timestamp, i64::MIN) if self.last_updated == DateTime::UNIX_EPOCH => {
                write!(f, "the beginning")
            }
            (ReadOrder::Timestamp, i64::MAX) => write!(f, "{at}"),
            (ReadOrder::Timestamp, id) => write!(f, "{at} id {id}"),
        }
    }
}

/// The watermark file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum WatermarkError {
    /// Reading, writing or renaming failed.
    #[error("watermark file {}: {source}", path.display())]
    Io {
        /// The file (or its temporary sibling).
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file exists but does not hold a watermark; it is never silently replaced, since
    /// starting over would re-send the whole table.
    #[error("watermark file {} is not a valid watermark ({reason}); fix or delete it to start over", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why it could not be parsed.
        reason: String,
    },
}

/// Where the watermark is kept.
#[derive(Debug, Clone)]
pub struct WatermarkStore {
    path: PathBuf,
}

impl WatermarkStore {
    /// A store backed by `path`; its folder is created on the first save.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The file this store reads and writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved watermark, or `None` when nothing was ever saved.
    pub fn load(&self) -> Result<Option<Watermark>, WatermarkError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(self.io(source)),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| WatermarkError::Corrupt {
                path: self.path.clone(),
                reason: e.to_string(),
            })
    }

    /// Replaces the saved watermark atomically; see the module documentation.
    pub fn save(&self, watermark: &Watermark) -> Result<(), WatermarkError> {
        let mut text =
            serde_json::to_string_pretty(watermark).map_err(|e| WatermarkError::Corrupt {
                path: self.path.clone(),
                reason: e.to_string(),
            })?;
        text.push('\n');
        crate::durable_file::replace(&self.path, text.as_bytes()).map_err(|e| self.io(e))
    }

    fn io(&self, source: std::io::Error) -> WatermarkError {
        WatermarkError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(seconds: i64, micros: u32, id: i64) -> Watermark {
        Watermark::at_row(
            Utc.timestamp_opt(seconds, micros * 1000)
                .single()
                .expect("valid time"),
            id,
        )
    }

    #[test]
    fn nothing_saved_loads_as_none() {
        let dir = tempfile::tempdir().expect("dir");
        let store = WatermarkStore::new(dir.path().join("w.json"));
        assert_eq!(store.load().expect("load"), None);
    }

    #[test]
    fn saved_watermark_loads_back_to_the_microsecond() {
        let dir = tempfile::tempdir().expect("dir");
        let store = WatermarkStore::new(dir.path().join("nested/w.json"));
        let mark = at(1_795_000_000, 123_456, 42);
        store.save(&mark).expect("save");
        assert_eq!(store.load().expect("load"), Some(mark));
        let later = at(1_795_000_001, 0, 7);
        store.save(&later).expect("save again");
        assert_eq!(store.load().expect("load"), Some(later));
        assert!(
            !dir.path().join("nested/w.json.tmp").exists(),
            "no temporary left behind"
        );
    }

    #[test]
    fn file_is_readable_by_people() {
        let dir = tempfile::tempdir().expect("dir");
        let store = WatermarkStore::new(dir.path().join("w.json"));
        store.save(&at(1_795_000_000, 123_456, 42)).expect("save");
        let text = fs::read_to_string(store.path()).expect("read");
        assert!(text.contains("\"2026-11-18T"), "{text}");
        assert!(text.contains(".123456Z\""), "{text}");
    }

    #[test]
    fn corrupt_file_is_an_error_not_a_restart() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("w.json");
        fs::write(&path, "{not json").expect("write");
        let err = WatermarkStore::new(&path).load().expect_err("must fail");
        assert!(matches!(err, WatermarkError::Corrupt { .. }), "{err}");
    }

    #[test]
    fn order_is_timestamp_then_key() {
        assert!(at(10, 0, 99) < at(10, 1, 1));
        assert!(at(10, 0, 1) < at(10, 0, 2));
        assert!(Watermark::beginning() < at(1, 0, i64::MIN));
    }

    #[test]
    fn a_file_from_before_the_key_order_loads_in_timestamp_order() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("w.json");
        fs::write(
            &path,
            r#"{ "last_updated": "2026-11-18T10:00:00.000001Z", "id": 42 }"#,
        )
        .expect("write");
        let mark = WatermarkStore::new(&path).load().expect("load");
        assert_eq!(
            mark.map(|m| (m.id, m.order)),
            Some((42, ReadOrder::Timestamp))
        );
    }

    #[test]
    fn a_snapshot_position_round_trips_and_says_what_it_is() {
        let dir = tempfile::tempdir().expect("dir");
        let store = WatermarkStore::new(dir.path().join("w.json"));
        let bound = at(1_795_000_000, 5, 0).last_updated;
        let mark = Watermark::snapshot_up_to(bound).after_key_page(Some(5000), true);
        store.save(&mark).expect("save");
        assert_eq!(store.load().expect("load"), Some(mark));
        let text = fs::read_to_string(store.path()).expect("read");
        assert!(text.contains(r#""order": "key""#), "{text}");
        assert_eq!(
            mark.to_string(),
            "key 5000 of the key-order snapshot up to 2026-11-18T11:06:40.000005Z"
        );
    }

    #[test]
    fn a_snapshot_goes_on_by_key_while_pages_are_full_then_follows_changes_from_its_bound() {
        let bound = at(1_795_000_000, 0, 0).last_updated;
        let start = Watermark::snapshot_up_to(bound);
        let next = start.after_key_page(Some(7), true);
        assert_eq!(
            (next.id, next.order, next.last_updated),
            (7, ReadOrder::Key, bound)
        );
        for (last, full) in [(Some(9), false), (None, false), (None, true)] {
            let done = next.after_key_page(last, full);
            assert_eq!(done, Watermark::at_row(bound, i64::MAX), "{last:?} {full}");
            // Changes then start after every row at the bound.
            assert!(at(1_795_000_000, 0, i64::MAX - 1) < done);
            assert!(done < at(1_795_000_000, 1, i64::MIN));
        }
    }
}
