//! The batch a member is about to commit, kept durable beside its file until its lines are
//! appended: `<output_dir>/<member>.pending`.
//!
//! Invariant (exactly once): **the batch file is durable before its transaction begins, and is
//! removed only once its lines are durable in the member's file.** Whatever a crash interrupts,
//! the next start finds the batch and learns from Kafka whether its transaction committed: if
//! so, the member's file is cut back to where the batch was to start and the batch appended
//! again; if not, the batch is dropped (its records are read again). A batch file cut short was
//! never committed: its transaction begins only after the whole file is synced.
//!
//! Layout: one JSON header line `{"batch":…,"file_len":…,"bytes":…}`, then `bytes` bytes of
//! JSON lines.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What the batch file says about its batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Header {
    /// The batch's id, also the value of the member's marker in the batch topic.
    batch: String,
    /// The member file's length before the batch: where its lines start.
    file_len: u64,
    /// Bytes of lines after the header.
    bytes: u64,
}

/// A batch read back from its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingBatch {
    /// The batch's id.
    pub batch: String,
    /// The member file's length before the batch.
    pub file_len: u64,
    /// Its lines.
    pub lines: Vec<u8>,
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

    /// Writes the batch and syncs it (and its folder, so the file's name is durable too). On
    /// failure (e.g. a full disk) no batch file is left behind.
    pub fn write(&self, batch: &str, file_len: u64, lines: &[u8]) -> std::io::Result<()> {
        let header = Header {
            batch: batch.to_owned(),
            file_len,
            bytes: lines.len() as u64,
        };
        let written = (|| {
            let mut file = OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .open(&self.path)?;
            let mut head = serde_json::to_vec(&header).map_err(std::io::Error::other)?;
            head.push(b'\n');
            file.write_all(&head)?;
            file.write_all(lines)?;
            file.sync_data()?;
            sync_folder(&self.path)
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
        let Ok(header) = serde_json::from_slice::<Header>(&text[..newline]) else {
            return Ok(None);
        };
        let lines = text.split_off(newline + 1);
        if lines.len() as u64 != header.bytes {
            return Ok(None);
        }
        Ok(Some(PendingBatch {
            batch: header.batch,
            file_len: header.file_len,
            lines,
        }))
    }

    /// Removes the batch file once its lines are durable (or it is dropped). A removal lost in
    /// a crash only makes the next start append the same batch at the same place again.
    pub fn remove(&self) -> std::io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }
}

fn sync_folder(path: &Path) -> std::io::Result<()> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    File::open(folder)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_comes_back_whole_and_is_gone_once_removed() {
        let dir = tempfile::tempdir().expect("dir");
        let journal = Journal::new(dir.path(), "consumer-1");
        assert_eq!(journal.read().expect("read"), None);
        journal
            .write("b-1", 42, b"{\"id\":1}\n{\"id\":2}\n")
            .expect("write");
        assert_eq!(
            journal.read().expect("read"),
            Some(PendingBatch {
                batch: "b-1".into(),
                file_len: 42,
                lines: b"{\"id\":1}\n{\"id\":2}\n".to_vec(),
            })
        );
        journal.remove().expect("remove");
        assert_eq!(journal.read().expect("read"), None);
        journal.remove().expect("removing twice is fine");
    }

    #[test]
    fn a_batch_file_cut_short_was_never_committed() {
        let dir = tempfile::tempdir().expect("dir");
        let journal = Journal::new(dir.path(), "consumer-1");
        journal
            .write("b-2", 0, b"{\"id\":1}\n{\"id\":2}\n")
            .expect("write");
        let whole = std::fs::read(journal.path()).expect("file");
        for cut in [whole.len() - 1, whole.len() / 2, 3] {
            std::fs::write(journal.path(), &whole[..cut]).expect("cut");
            assert_eq!(journal.read().expect("read"), None, "cut at {cut}");
        }
    }
}
