//! The watermark kept in a file, under at-least-once delivery.
//!
//! Invariant: the save is atomic (write a temporary file, fsync it, rename it over the old one,
//! fsync the folder), so a crash at any moment leaves either the previous position or the new
//! one, never a torn file. The producer saves a watermark only after every record up to it is
//! acknowledged; a restart resumes from it and at worst sends again the records of the pages
//! not saved yet.

use std::fs;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::position::Watermark;

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
        self.load_as()
    }

    /// The saved position of a source that keeps its own kind of position (the binlog
    /// source's), or `None` when nothing was ever saved.
    pub fn load_as<T: DeserializeOwned>(&self) -> Result<Option<T>, WatermarkError> {
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

    /// Replaces the saved watermark (or another source's position) atomically; see the module
    /// documentation.
    pub fn save<T: Serialize>(&self, watermark: &T) -> Result<(), WatermarkError> {
        let mut text =
            serde_json::to_string_pretty(watermark).map_err(|e| WatermarkError::Corrupt {
                path: self.path.clone(),
                reason: e.to_string(),
            })?;
        text.push('\n');
        sluice_common::durable_file::replace(&self.path, text.as_bytes()).map_err(|e| self.io(e))
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
    use crate::source::key::Key;
    use crate::watermark::position::at;
    use crate::watermark::{KeyBound, ReadOrder};

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
        assert_eq!(store.load().expect("load"), Some(mark.clone()));
        let later = at(1_795_000_001, 0, 7);
        store.save(&later).expect("save again");
        assert_eq!(store.load().expect("load"), Some(later.clone()));
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
            mark.map(|m| (m.key, m.order)),
            Some((KeyBound::At(Key::Signed(42)), ReadOrder::Timestamp))
        );
    }

    #[test]
    fn a_snapshot_position_round_trips_and_says_what_it_is() {
        let dir = tempfile::tempdir().expect("dir");
        let store = WatermarkStore::new(dir.path().join("w.json"));
        let bound = at(1_795_000_000, 5, 0).last_updated;
        let mark = Watermark::snapshot_up_to(bound).after_key_page(Some(Key::Signed(5000)), true);
        store.save(&mark).expect("save");
        assert_eq!(store.load().expect("load"), Some(mark.clone()));
        let text = fs::read_to_string(store.path()).expect("read");
        assert!(text.contains(r#""order": "key""#), "{text}");
        assert_eq!(
            mark.to_string(),
            "key 5000 of the key-order snapshot up to 2026-11-18T11:06:40.000005Z"
        );
    }
}
