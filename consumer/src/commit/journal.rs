//! The batch a member is about to commit, described durably beside its file until its lines
//! are appended: `<output_dir>/<member>.pending`.
//!
//! Invariant (exactly once): **the batch file is durable before its transaction begins, and is
//! removed only once the batch's lines are durable in the member's file.** Whatever a crash
//! interrupts, the next start finds the batch and learns from Kafka whether its transaction
//! committed: if so, the member's file is cut back to where the batch was to start and the
//! batch's records, named by their offset ranges, are read again from Kafka and their lines
//! appended (see `replay`); if not, the batch is dropped (its records are read again from the
//! committed offsets). A batch file cut short was never committed: its transaction begins only
//! after the whole file is synced.
//!
//! The file holds one JSON line, `{"batch":…,"file_len":…,"ranges":[{"topic":…,"partition":…,
//! "start":…,"end":…}]}`: a few hundred bytes, whatever the batch weighs. The lines themselves
//! are written once, to the member's file.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sluice_common::durable_file;

/// The records of one partition in a batch: offsets `start` up to `end`, not included (`end`
/// is the offset the batch commits). The record at `end - 1` is the batch's last of the
/// partition; offsets before it may be transaction markers or aborted records, which a
/// read-committed consumer never sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRange {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The batch's first offset in the partition.
    pub start: i64,
    /// The offset after the batch's last record in the partition.
    pub end: i64,
}

/// A batch, as its file describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingBatch {
    /// The batch's id, also the value of the member's marker in the batch topic.
    pub batch: String,
    /// The member file's length before the batch: where its lines start.
    pub file_len: u64,
    /// Its records, by partition.
    pub ranges: Vec<BatchRange>,
}

/// The member's batch file.
#[derive(Debug, Clone)]
pub struct Journal {
    path: PathBuf,
}

impl Journal {
    /// The batch file of `member` in `folder`.
    pub fn new(folder: &Path, member: &str) -> Self {
        Self {
            path: folder.join(format!("{member}.pending")),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `batch` and syncs it (and its folder, so the file's name is durable too). On
    /// failure (e.g. a full disk) no batch file is left behind.
    pub fn write(&self, batch: &PendingBatch) -> std::io::Result<()> {
        let written = (|| {
            let mut file = OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .open(&self.path)?;
            let mut text = serde_json::to_vec(batch).map_err(std::io::Error::other)?;
            text.push(b'\n');
            file.write_all(&text)?;
            file.sync_data()?;
            durable_file::sync_folder_of(&self.path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&self.path);
        }
        written
    }

    /// The batch left by an earlier run, if a whole one is there. A file cut short (its
    /// transaction never began) is `Ok(None)`, as is no file.
    pub fn read(&self) -> std::io::Result<Option<PendingBatch>> {
        let mut text = Vec::new();
        match File::open(&self.path) {
            Ok(mut file) => file.read_to_end(&mut text)?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        let Some(newline) = text.iter().position(|&b| b == b'\n') else {
            return Ok(None);
        };
        Ok(serde_json::from_slice(&text[..newline]).ok())
    }

    /// Removes the batch file once its lines are durable (or it is dropped). A removal lost in
    /// a crash only makes the next start write the same batch at the same place again.
    pub fn remove(&self) -> std::io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(id: &str) -> PendingBatch {
        PendingBatch {
            batch: id.into(),
            file_len: 42,
            ranges: vec![
                BatchRange {
                    topic: "t".into(),
                    partition: 3,
                    start: 100,
                    end: 180,
                },
                BatchRange {
                    topic: "t".into(),
                    partition: 7,
                    start: 0,
                    end: 2,
                },
            ],
        }
    }

    #[test]
    fn a_batch_comes_back_whole_and_is_gone_once_removed() {
        let dir = tempfile::tempdir().expect("dir");
        let journal = Journal::new(dir.path(), "consumer-1");
        assert_eq!(journal.read().expect("read"), None);
        journal.write(&batch("b-1")).expect("write");
        assert_eq!(journal.read().expect("read"), Some(batch("b-1")));
        journal.remove().expect("remove");
        assert_eq!(journal.read().expect("read"), None);
        journal.remove().expect("removing twice is fine");
    }

    #[test]
    fn a_batch_file_cut_short_was_never_committed() {
        let dir = tempfile::tempdir().expect("dir");
        let journal = Journal::new(dir.path(), "consumer-1");
        journal.write(&batch("b-2")).expect("write");
        let whole = std::fs::read(journal.path()).expect("file");
        for cut in [whole.len() - 1, whole.len() / 2, 3] {
            std::fs::write(journal.path(), &whole[..cut]).expect("cut");
            assert_eq!(journal.read().expect("read"), None, "cut at {cut}");
        }
    }
}
