//! Reading lines back after the scan, and noticing when the files changed meanwhile.
//!
//! Invariant: a judgement only ever uses lines as they were scanned. Members keep writing
//! while the verifier runs; an exactly-once member that restarts cuts its open segment back to
//! its last commit and writes on from there, so the bytes at a scanned offset can be a
//! different line by the time they are read back. Every read-back is checked against the
//! scan (a line by its hash, a whole file by the digest of its lines); a difference is
//! [`OutputChanged`], never a verdict on lines that were not scanned.

use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use crate::line_hash::hash_of;
use crate::lines::{Scan, Version};

/// The files changed between the scan and a read-back: the verdict would judge lines that were
/// never scanned; scanning again is the remedy.
#[derive(Debug, thiserror::Error)]
#[error(
    "{} changed while it was read ({what}): a member cut its open segment back to its last \
     commit and wrote on (it restarted) or the folder was edited",
    file.display()
)]
pub struct OutputChanged {
    /// The file.
    pub file: PathBuf,
    /// What differs from the scan.
    pub what: String,
}

/// Reading a line back failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadBackError {
    /// The operating system refused.
    #[error("reading {} back: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// What it said.
        source: std::io::Error,
    },
    /// The line there is not the one scanned.
    #[error(transparent)]
    Changed(#[from] OutputChanged),
}

/// Reads versions' lines back from the files of a scan, through the handles it opened.
pub struct LineReader<'a> {
    scan: &'a Scan,
    bytes: Vec<u8>,
}

impl<'a> LineReader<'a> {
    /// Reads back from the files of `scan`, as they were opened when scanned.
    pub fn of(scan: &'a Scan) -> Self {
        Self {
            scan,
            bytes: Vec::new(),
        }
    }

    /// One version's line, as JSON; [`OutputChanged`] when its bytes are no longer the line
    /// scanned there.
    pub fn read(&mut self, version: &Version) -> Result<serde_json::Value, ReadBackError> {
        let index = version.file as usize;
        let (Some(path), Some(file)) = (self.scan.files.get(index), self.scan.opened(index)) else {
            return Err(ReadBackError::Io {
                file: PathBuf::new(),
                source: std::io::Error::other("a version of a file not scanned"),
            });
        };
        self.bytes.resize(version.len as usize, 0);
        let changed = |what: String| OutputChanged {
            file: path.clone(),
            what,
        };
        match file.read_exact_at(&mut self.bytes, version.offset) {
            Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(changed(format!(
                    "it is shorter than the line at byte {}",
                    version.offset
                ))
                .into())
            }
            Err(source) => {
                return Err(ReadBackError::Io {
                    file: path.clone(),
                    source,
                })
            }
            Ok(()) => {}
        }
        if hash_of(&self.bytes) != version.hash {
            return Err(changed(format!("the line at byte {} is another", version.offset)).into());
        }
        serde_json::from_slice(&self.bytes).map_err(|e| {
            changed(format!(
                "the line at byte {} no longer parses: {e}",
                version.offset
            ))
            .into()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key_order::{KeyOrder, KeyType};

    fn line(id: i64, second: u32) -> String {
        format!("{{\"id\":{id},\"last_updated\":\"2026-12-01T10:00:0{second}.000000Z\"}}\n")
    }

    fn scan_of(dir: &std::path::Path) -> Scan {
        let mut keys = KeyOrder::new(KeyType::Signed);
        crate::lines::scan(&[dir.to_path_buf()], "id", "last_updated", &mut keys).expect("scan")
    }

    #[test]
    fn a_segment_closed_after_the_scan_is_read_back_as_scanned() {
        let dir = tempfile::tempdir().expect("dir");
        let open = dir.path().join("consumer-1.jsonl.part");
        std::fs::write(&open, line(5, 0)).expect("write");
        let scan = scan_of(dir.path());
        std::fs::rename(&open, dir.path().join("consumer-1.00000001.jsonl")).expect("roll");
        std::fs::write(&open, "").expect("a new open segment");
        let line = LineReader::of(&scan)
            .read(&scan.versions[0])
            .expect("read back");
        assert_eq!(line["id"], 5);
    }

    #[test]
    fn a_tail_cut_back_and_written_anew_is_told_not_judged() {
        let dir = tempfile::tempdir().expect("dir");
        let open = dir.path().join("consumer-1.jsonl.part");
        std::fs::write(&open, format!("{}{}", line(1, 1), line(22, 2))).expect("write");
        let scan = scan_of(dir.path());
        // The member restarts: its uncommitted second line is cut, and others written on.
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&open)
            .expect("open");
        file.set_len(line(1, 1).len() as u64).expect("cut");
        std::fs::write(&open, format!("{}{}", line(1, 1), line(333, 3))).expect("write on");
        let mut reader = LineReader::of(&scan);
        assert_eq!(reader.read(&scan.versions[0]).expect("unchanged")["id"], 1);
        let error = reader.read(&scan.versions[1]).expect_err("another line");
        assert!(
            matches!(&error, ReadBackError::Changed(changed) if changed.file == open),
            "{error}"
        );
        file.set_len(3).expect("cut shorter");
        let error = reader.read(&scan.versions[0]).expect_err("shorter");
        assert!(error.to_string().contains("shorter"), "{error}");
    }
}
