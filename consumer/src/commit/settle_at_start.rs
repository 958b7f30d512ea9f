//! At start, exactly once: the batch a crash left between its batch file and the member's file
//! is settled before anything is read (see `journal` and `batch_commit`).
//!
//! If the batch's transaction committed, the member's file is cut back to where the batch was
//! to start and the batch's lines, rendered again from its records (see `replay`), appended and
//! synced: whatever part of it had been appended before the crash is replaced, not repeated.
//! If it did not, the file is cut back the same way (nothing of the batch can be in it, since
//! lines are appended only after the commit) and the batch is dropped: its records are read
//! again from the committed offsets.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use sluice_common::kafka::topic_reader::TopicReadError;

use crate::commit::journal::{BatchRange, Journal};

/// Why the batch left behind could not be settled; the file and the batch file are then as they
/// were, and the next start tries again.
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    /// The batch file or the member's file could not be read or written.
    #[error("reading or writing the files")]
    Io(#[from] std::io::Error),
    /// Which batch committed last, or the batch's records, could not be read from Kafka.
    #[error(transparent)]
    Kafka(#[from] TopicReadError),
    /// The member's file is shorter than it was when the batch began.
    #[error(
        "{file} is {len} bytes, shorter than the {file_len} it had before batch {batch} in \
         {journal}: the file was changed outside sluice; move it away to start the file over",
        file = file.display(),
        journal = journal.display()
    )]
    FileChanged {
        /// The member's file.
        file: PathBuf,
        /// Its length now.
        len: u64,
        /// Its length when the batch began.
        file_len: u64,
        /// The batch.
        batch: String,
        /// The batch file.
        journal: PathBuf,
    },
}

/// What became of the batch left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// No batch was left behind.
    Nothing,
    /// Its transaction committed; its lines are now in the file.
    Appended {
        /// The batch's id.
        batch: String,
        /// Bytes of lines appended.
        bytes: usize,
    },
    /// Its transaction did not commit; it was dropped.
    Dropped {
        /// The batch's id.
        batch: String,
    },
}

/// Settles the batch `journal` holds, if any, against `file` (the member's JSON-lines file);
/// `last_committed` tells which batch of this member committed last, and `replay` renders the
/// lines of a committed batch's records again.
pub fn settle_pending_batch(
    journal: &Journal,
    file: &Path,
    last_committed: impl FnOnce() -> Result<Option<String>, TopicReadError>,
    replay: impl FnOnce(&[BatchRange]) -> Result<Vec<u8>, TopicReadError>,
) -> Result<Settled, SettleError> {
    let Some(pending) = journal.read()? else {
        // A batch file cut short was never committed.
        journal.remove()?;
        return Ok(Settled::Nothing);
    };
    let committed = last_committed()?.as_deref() == Some(pending.batch.as_str());
    let mut output = OpenOptions::new().create(true).append(true).open(file)?;
    let len = output.metadata()?.len();
    if len < pending.file_len {
        return Err(SettleError::FileChanged {
            file: file.to_path_buf(),
            len,
            file_len: pending.file_len,
            batch: pending.batch,
            journal: journal.path().to_path_buf(),
        });
    }
    let settled = if committed {
        // Rendered before the file is touched: a failure leaves everything as it was.
        let lines = replay(&pending.ranges)?;
        output.set_len(pending.file_len)?;
        output.write_all(&lines)?;
        Settled::Appended {
            batch: pending.batch,
            bytes: lines.len(),
        }
    } else {
        output.set_len(pending.file_len)?;
        Settled::Dropped {
            batch: pending.batch,
        }
    };
    output.sync_data()?;
    journal.remove()?;
    Ok(settled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commit::journal::PendingBatch;

    const BATCH_LINES: &[u8] = b"{\"b\":2}\n{\"c\":3}\n";

    fn setup(file_text: &str) -> (tempfile::TempDir, Journal) {
        let dir = tempfile::tempdir().expect("dir");
        let journal = Journal::new(dir.path(), "consumer-1");
        std::fs::write(dir.path().join("consumer-1.jsonl"), file_text).expect("file");
        journal
            .write(&PendingBatch {
                batch: "run-7".into(),
                file_len: 8,
                ranges: vec![BatchRange {
                    topic: "t".into(),
                    partition: 4,
                    start: 10,
                    end: 12,
                }],
            })
            .expect("batch file");
        (dir, journal)
    }

    fn file_text(dir: &tempfile::TempDir) -> String {
        std::fs::read_to_string(dir.path().join("consumer-1.jsonl")).expect("file")
    }

    /// Renders the lines of the one range the tests write, and checks it was asked for that.
    fn replay(ranges: &[BatchRange]) -> Result<Vec<u8>, TopicReadError> {
        assert!(
            ranges.len() == 1 && (ranges[0].start, ranges[0].end) == (10, 12),
            "asked to replay {ranges:?}"
        );
        Ok(BATCH_LINES.to_vec())
    }

    fn never(_: &[BatchRange]) -> Result<Vec<u8>, TopicReadError> {
        panic!("a batch that did not commit is not replayed")
    }

    /// What reading the batch's records reports when Kafka does not answer.
    fn kafka_away(_: &[BatchRange]) -> Result<Vec<u8>, TopicReadError> {
        Err(TopicReadError::Client {
            topic: "t".into(),
            source: rdkafka::error::KafkaError::MetadataFetch(
                rdkafka::types::RDKafkaErrorCode::AllBrokersDown,
            ),
        })
    }

    #[test]
    fn a_committed_batch_half_appended_is_appended_whole_once() {
        let (dir, journal) = setup("{\"a\":1}\n{\"b\":");
        let file = dir.path().join("consumer-1.jsonl");
        let settled = settle_pending_batch(&journal, &file, || Ok(Some("run-7".into())), replay)
            .expect("settle");
        assert_eq!(
            settled,
            Settled::Appended {
                batch: "run-7".into(),
                bytes: 16
            }
        );
        assert_eq!(file_text(&dir), "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
        assert_eq!(journal.read().expect("read"), None, "batch file removed");
        // A second start finds nothing left to do.
        let again = settle_pending_batch(&journal, &file, || Ok(Some("run-7".into())), never)
            .expect("settle");
        assert_eq!(again, Settled::Nothing);
        assert_eq!(file_text(&dir), "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
    }

    #[test]
    fn a_batch_whose_transaction_did_not_commit_is_dropped() {
        let (dir, journal) = setup("{\"a\":1}\n");
        let file = dir.path().join("consumer-1.jsonl");
        let settled = settle_pending_batch(&journal, &file, || Ok(Some("run-6".into())), never)
            .expect("settle");
        assert_eq!(
            settled,
            Settled::Dropped {
                batch: "run-7".into()
            }
        );
        assert_eq!(file_text(&dir), "{\"a\":1}\n");
        assert_eq!(journal.read().expect("read"), None);
    }

    #[test]
    fn a_replay_that_fails_leaves_the_file_and_the_batch_for_the_next_start() {
        let (dir, journal) = setup("{\"a\":1}\n{\"b\":");
        let file = dir.path().join("consumer-1.jsonl");
        let failed = settle_pending_batch(&journal, &file, || Ok(Some("run-7".into())), kafka_away)
            .expect_err("the replay failed");
        assert!(
            matches!(failed, SettleError::Kafka(TopicReadError::Client { .. })),
            "{failed}"
        );
        assert_eq!(file_text(&dir), "{\"a\":1}\n{\"b\":");
        assert!(journal.read().expect("read").is_some(), "batch file kept");
    }

    #[test]
    fn a_file_shorter_than_the_batch_says_is_refused() {
        let (dir, journal) = setup("{\"a");
        let file = dir.path().join("consumer-1.jsonl");
        let refused = settle_pending_batch(&journal, &file, || Ok(None), never)
            .expect_err("the file lost bytes it had");
        assert!(
            refused.to_string().contains("changed outside sluice"),
            "{refused}"
        );
    }
}
