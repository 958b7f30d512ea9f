//! The producer's position in the table: the `(timestamp, key)` of the last row it has handed
//! to Kafka for good.
//!
//! Invariant: **the watermark never passes a row that Kafka has not acknowledged.** The producer
//! saves it only after every record up to it is acknowledged, and the save is atomic (write a
//! temporary file, fsync it, rename it over the old one, fsync the folder), so a crash at any
//! moment leaves either the previous position or the new one, never a torn file. A restart
//! resumes from it and at worst sends again the records of the pages not saved yet.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A position in `(timestamp, key)` order: rows at or before it have been published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Watermark {
    /// The timestamp column of the last published row.
    pub last_updated: DateTime<Utc>,
    /// The key of the last published row, which orders rows sharing one timestamp.
    pub id: i64,
}

impl Watermark {
    /// Before every row: where a producer without a saved watermark starts.
    pub fn beginning() -> Self {
        Self {
            last_updated: DateTime::<Utc>::UNIX_EPOCH,
            id: i64::MIN,
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
        let folder = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&folder).map_err(|e| self.io(e))?;
        let temporary = self.path.with_extension("json.tmp");
        let text =
            serde_json::to_string_pretty(watermark).map_err(|e| WatermarkError::Corrupt {
                path: self.path.clone(),
                reason: e.to_string(),
            })?;
        let write = || -> std::io::Result<()> {
            let mut file = File::create(&temporary)?;
            file.write_all(text.as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            fs::rename(&temporary, &self.path)?;
            // The rename itself is durable only once the folder is synced.
            File::open(&folder)?.sync_all()
        };
        write().map_err(|e| self.io(e))
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
        Watermark {
            last_updated: Utc
                .timestamp_opt(seconds, micros * 1000)
                .single()
                .expect("valid time"),
            id,
        }
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
}
