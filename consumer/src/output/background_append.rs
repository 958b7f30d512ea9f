//! Exactly once, a committed batch's lines are appended to the member's file and synced on a
//! thread of their own, while the member reads and renders the next batch.
//!
//! Invariant: **at most one committed batch is outside the file, and the next batch's
//! transaction waits for it to be durable.** The batch file (`journal`) of the batch being
//! appended is removed only once its lines are synced, and the next batch file is written only
//! after that: a crash while the append runs leaves the committed batch's file, and the next
//! start appends the batch again from Kafka. An append that fails hands its lines back, the
//! file cut to its last synced length, to be written again by the member (a full disk waits
//! like any other write).

use std::fs::File;
use std::io::Write;
use std::sync::Arc;
use std::thread::JoinHandle;

/// What became of an append: its lines come back either way, emptied on success.
pub(crate) struct Appended {
    lines: Vec<u8>,
    outcome: Result<(), FlushError>,
    /// When the lines were written, readable by the file's readers (before their sync).
    readable_at: chrono::DateTime<chrono::Utc>,
}

/// A committed batch now durable in the file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Durable {
    /// Its bytes.
    pub(crate) len: u64,
    /// When its lines became readable in the file (written, before their sync).
    pub(crate) readable_at: chrono::DateTime<chrono::Utc>,
}

/// An append running on its thread, or one done where it was asked for.
pub(crate) enum Append {
    Thread(JoinHandle<Appended>),
    Finished(Appended),
}

/// Why lines could not be made durable.
#[derive(Debug, thiserror::Error)]
pub enum FlushError {
    /// The lines could not be written (e.g. the disk is full); they are kept, and the file holds
    /// whole lines only: writing can be tried again.
    #[error("cannot write: {0}")]
    Write(std::io::Error),
    /// The file could not be synced; what was written since the last sync is removed.
    #[error("cannot sync: {0}")]
    Sync(std::io::Error),
}

/// The committed batch outside the file, if any.
#[derive(Default)]
pub(crate) enum CommittedLines {
    /// None: every committed line is durable.
    #[default]
    Settled,
    /// Being appended and synced; `len` bytes.
    Appending { append: Append, len: u64 },
    /// The append failed (e.g. a full disk); the file was cut back to its synced length and
    /// these lines wait to be written again.
    Failed(Vec<u8>),
    /// The appending thread panicked and its lines are gone from memory: the member must stop
    /// (the batch file stays, and the next start appends the batch again from Kafka).
    Lost,
}

impl CommittedLines {
    /// Starts appending `lines` after `durable_len` (the file's synced length) on a thread of
    /// its own; should no thread start, the append is done here and now.
    pub(crate) fn start(file: &Arc<File>, lines: Vec<u8>, durable_len: u64) -> Self {
        let len = lines.len() as u64;
        let shared = Arc::clone(file);
        // The lines travel by channel so that they come back should the thread not start.
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<u8>>(1);
        let spawned = std::thread::Builder::new()
            .name("sluice-append".into())
            .spawn(move || {
                let lines = receiver.recv().unwrap_or_default();
                append_and_sync(&shared, lines, durable_len)
            });
        let append = match spawned {
            Ok(thread) => match sender.send(lines) {
                Ok(()) => Append::Thread(thread),
                Err(returned) => Append::Finished(append_and_sync(file, returned.0, durable_len)),
            },
            Err(_) => Append::Finished(append_and_sync(file, lines, durable_len)),
        };
        Self::Appending { append, len }
    }

    /// Whether a committed batch is not yet durable in the file.
    pub(crate) fn outstanding(&self) -> bool {
        !matches!(self, Self::Settled)
    }

    /// Bytes of the committed batch not yet durable in the file, as far as they are known.
    pub(crate) fn len(&self) -> u64 {
        match self {
            Self::Appending { len, .. } => *len,
            Self::Failed(lines) => lines.len() as u64,
            Self::Settled | Self::Lost => 0,
        }
    }

    /// Settles the committed batch outside the file: writes again one whose append failed,
    /// then waits for the append (`wait`) or only looks whether it is done. `Ok(Some(_))`
    /// once the batch is durable; `Ok(None)` while it runs, or when none is
    /// outstanding. A failed append keeps its lines for the next call; `spare` gets the
    /// emptied buffer of a successful one, for the next batch.
    pub(crate) fn settle(
        &mut self,
        file: &Arc<File>,
        durable_len: u64,
        wait: bool,
        spare: &mut Vec<u8>,
    ) -> Result<Option<Durable>, FlushError> {
        if let Self::Failed(lines) = self {
            let lines = std::mem::take(lines);
            *self = Self::start(file, lines, durable_len);
        }
        if let Self::Appending {
            append: Append::Thread(thread),
            ..
        } = self
        {
            if !wait && !thread.is_finished() {
                return Ok(None);
            }
        }
        let (append, len) = match std::mem::take(self) {
            Self::Appending { append, len } => (append, len),
            Self::Lost => {
                *self = Self::Lost;
                return Err(lost());
            }
            other => {
                *self = other;
                return Ok(None);
            }
        };
        let appended = match append {
            Append::Finished(appended) => appended,
            Append::Thread(thread) => match thread.join() {
                Ok(appended) => appended,
                Err(_) => {
                    *self = Self::Lost;
                    return Err(lost());
                }
            },
        };
        match appended.outcome {
            Ok(()) => {
                *spare = appended.lines;
                Ok(Some(Durable {
                    len,
                    readable_at: appended.readable_at,
                }))
            }
            Err(error) => {
                *self = Self::Failed(appended.lines);
                Err(error)
            }
        }
    }
}

fn lost() -> FlushError {
    FlushError::Sync(std::io::Error::other(
        "the thread appending a committed batch panicked; the batch is appended again from \
         Kafka at the next start",
    ))
}

/// Writes `lines` after `durable_len` and syncs them. On failure the file is cut back to
/// `durable_len`, so it holds whole, synced lines only, and the lines are returned whole.
fn append_and_sync(file: &File, mut lines: Vec<u8>, durable_len: u64) -> Appended {
    let mut readable_at = chrono::Utc::now();
    let outcome = (|| {
        let mut writer = file;
        writer.write_all(&lines).map_err(FlushError::Write)?;
        readable_at = chrono::Utc::now();
        file.sync_data().map_err(FlushError::Sync)
    })();
    match outcome {
        Ok(()) => lines.clear(),
        Err(_) => {
            if let Err(cut) = file.set_len(durable_len) {
                tracing::error!("cannot cut a failed append back to the last synced line: {cut}");
            }
        }
    }
    Appended {
        lines,
        outcome,
        readable_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_appended_after_the_synced_length_and_its_buffer_comes_back() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("consumer-1.jsonl");
        std::fs::write(&path, "{\"a\":1}\n").expect("write");
        let file = Arc::new(
            std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .expect("open"),
        );
        let lines = b"{\"a\":2}\n{\"a\":3}\n".to_vec();
        let mut state = CommittedLines::start(&file, lines, 8);
        assert!(state.outstanding());
        let mut spare = Vec::new();
        let before = chrono::Utc::now();
        let settled = state.settle(&file, 8, true, &mut spare).expect("appended");
        assert_eq!(settled.map(|d| d.len), Some(16));
        assert!(
            settled.is_some_and(|d| before <= d.readable_at && d.readable_at <= chrono::Utc::now())
        );
        assert!(!state.outstanding());
        assert!(spare.is_empty() && spare.capacity() >= 16);
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n"
        );
        assert_eq!(
            state.settle(&file, 24, true, &mut spare).expect("none"),
            None
        );
    }

    #[test]
    fn a_failed_append_keeps_its_lines_and_is_tried_again() {
        // Every write to /dev/full fails as a full disk does.
        let file = Arc::new(
            std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .expect("/dev/full"),
        );
        let lines = b"{\"a\":2}\n".to_vec();
        let mut state = CommittedLines::start(&file, lines.clone(), 0);
        let mut spare = Vec::new();
        for attempt in 0..2 {
            match state.settle(&file, 0, true, &mut spare) {
                Err(FlushError::Write(_)) => {}
                other => panic!("attempt {attempt}: expected a write error, got {other:?}"),
            }
            match &state {
                CommittedLines::Failed(kept) => assert_eq!(kept, &lines),
                _ => panic!("attempt {attempt}: the lines must be kept"),
            }
        }
    }
}
