//! The member's output: one JSON line per record appended to `<output_dir>/<member>.jsonl`,
//! or, when segments roll, to the open segment `<member>.jsonl.part` (see `segments`).
//!
//! Invariant: **the file holds whole lines only.** Lines are gathered in memory and handed to
//! the file in one write; a write that fails part-way (a full disk) is cut back to the last whole
//! line and its bytes stay in memory to be written again, and a line cut short by a crash is
//! removed when the file is opened again (its record was never committed, so it is read again).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::crash_point::{self, CrashPoint};
use crate::output::background_append::CommittedLines;
pub use crate::output::background_append::FlushError;
use crate::output::segments::{started_at, Rolling, SegmentNames};

/// How much of the file's end is read at a time when looking for its last newline.
const TAIL_CHUNK: u64 = 64 * 1024;

/// An append-only JSON-lines file, synced before offsets are committed.
pub struct JsonlSink {
    path: PathBuf,
    /// Shared with the thread appending a committed batch (exactly once), which alone writes
    /// while it runs.
    file: Arc<File>,
    /// Lines not yet handed to the file.
    buffer: Vec<u8>,
    /// Exactly once: the committed batch being appended, if any.
    committed: CommittedLines,
    /// The buffer of the last batch appended, emptied, to gather the next one in.
    spare: Vec<u8>,
    /// How many lines `buffer` holds.
    buffered_lines: u64,
    /// Bytes of whole lines in the file.
    file_len: u64,
    /// Bytes of the file known to be on disk.
    durable_len: u64,
    bytes: u64,
    lines: u64,
    /// The member's file names.
    names: SegmentNames,
    /// When segments roll; `None`: one file.
    rolling: Option<Rolling>,
    /// The sequence the open segment gets when it is closed.
    next_sequence: u64,
    /// When the open segment got its first line.
    started: Option<Instant>,
}

impl JsonlSink {
    /// Opens (creating if needed) `<folder>/<member>.jsonl` for appending, first removing a
    /// line left cut short at its end.
    pub fn open(folder: &Path, member: &str) -> std::io::Result<Self> {
        Self::open_rolling(folder, member, None)
    }

    /// [`open`](Self::open), or the open segment when `rolling` (see `segments`).
    pub fn open_rolling(
        folder: &Path,
        member: &str,
        rolling: Option<Rolling>,
    ) -> std::io::Result<Self> {
        std::fs::create_dir_all(folder)?;
        let names = SegmentNames::new(folder, member);
        let path = names.writing(rolling.is_some())?;
        let next_sequence = match rolling {
            Some(_) => names
                .closed_segments()?
                .last()
                .map_or(1, |(sequence, _)| sequence + 1),
            None => 1,
        };
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)?;
        sluice_common::durable_file::sync_folder_of(&path)?;
        let metadata = file.metadata()?;
        let len = metadata.len();
        let whole = whole_lines_len(&mut file, len)?;
        if whole < len {
            file.set_len(whole)?;
            file.sync_data()?;
            tracing::warn!(
                "{}: removed a line cut short at its end ({} bytes); its record was not committed and is read again",
                path.display(),
                len - whole
            );
        }
        Ok(Self {
            path,
            file: Arc::new(file),
            buffer: Vec::with_capacity(1 << 20),
            committed: CommittedLines::Settled,
            spare: Vec::new(),
            buffered_lines: 0,
            file_len: whole,
            durable_len: whole,
            bytes: 0,
            lines: 0,
            names,
            rolling,
            next_sequence,
            started: (whole > 0).then(|| started_at(&metadata)),
        })
    }

    /// Closes the open segment when it is due (see `segments`): only between batches, with
    /// every line in it durable and none outside it. The closed segment's path and size, if
    /// one was closed. A failed sync is [`FlushError::Sync`], as [`flush`](Self::flush) says it;
    /// a rename or a new open segment that cannot be made is a failed write.
    pub fn roll_if_due(&mut self, now: Instant) -> Result<Option<(PathBuf, u64)>, FlushError> {
        let Some(rolling) = self.rolling else {
            return Ok(None);
        };
        if self.holds_committed() || !rolling.due(self.file_len, self.started, now) {
            return Ok(None);
        }
        if self.durable_len < self.file_len {
            self.flush()?;
        }
        self.close_segment(rolling, now)
            .map(Some)
            .map_err(FlushError::Write)
    }

    /// Renames the open segment closed, makes a new open one and removes the closed ones beyond
    /// those kept.
    fn close_segment(&mut self, rolling: Rolling, now: Instant) -> std::io::Result<(PathBuf, u64)> {
        let closed = self.names.closed(self.next_sequence);
        let bytes = self.file_len;
        std::fs::rename(&self.path, &closed)?;
        crash_point::maybe_crash_at_roll(CrashPoint::RollRenamed);
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&self.path)?;
        // One sync makes both the closed name and the new open segment durable.
        sluice_common::durable_file::sync_folder_of(&self.path)?;
        self.file = Arc::new(file);
        self.next_sequence += 1;
        self.file_len = 0;
        self.durable_len = 0;
        self.started = (!self.buffer.is_empty()).then_some(now);
        let removed = self.names.remove_beyond(rolling.keep)?;
        if removed > 0 {
            tracing::info!(
                "removed {removed} closed segment(s) of {} beyond the {} kept",
                self.path.display(),
                rolling.keep
            );
        }
        Ok((closed, bytes))
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Adds one line (its newline included); it reaches the file at the next
    /// [`write_through`](Self::write_through).
    pub fn write(&mut self, line: &[u8]) {
        if self.started.is_none() {
            self.started = Some(Instant::now());
        }
        self.buffer.extend_from_slice(line);
        self.buffered_lines += 1;
        self.bytes += line.len() as u64;
        self.lines += 1;
    }

    /// Bytes of lines not yet handed to the file.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// The lines not yet handed to the file.
    pub fn buffer(&self) -> &[u8] {
        &self.buffer
    }

    /// Bytes of the file known to be on disk: where the next lines start once they are.
    pub fn durable_len(&self) -> u64 {
        self.durable_len
    }

    /// Drops the lines not yet handed to the file (their batch was not committed); how many.
    pub fn discard_buffer(&mut self) -> u64 {
        let dropped = self.buffered_lines;
        self.lines -= dropped;
        self.bytes -= self.buffer.len() as u64;
        self.buffer.clear();
        self.buffered_lines = 0;
        dropped
    }

    /// Hands the lines gathered to the operating system, so readers of the file see them now.
    /// On failure the file is cut back to its last whole line and the lines stay here, to be
    /// written again by the next call.
    pub fn write_through(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        match self.file.as_ref().write_all(&self.buffer) {
            Ok(()) => {
                self.file_len += self.buffer.len() as u64;
                self.buffer.clear();
                self.buffered_lines = 0;
                Ok(())
            }
            Err(error) => {
                if let Err(cut) = self.file.set_len(self.file_len) {
                    tracing::error!(
                        "{}: cannot cut a failed write back to the last whole line: {cut}",
                        self.path.display()
                    );
                }
                Err(error)
            }
        }
    }

    /// For the `mid-append` crash point: writes the first half of the lines gathered, most
    /// likely ending mid-line, and dies as `kill -9` would leave it.
    pub fn write_half_then_abort(&mut self) -> ! {
        let half = self.buffer.len() / 2;
        let _ = self.file.as_ref().write_all(&self.buffer[..half]);
        std::process::abort()
    }

    /// Makes every line gathered so far durable: only then may its offset be committed. A
    /// failed sync leaves the file's unsynced part unknown: it is cut back to what was synced,
    /// and the error returned is for the caller to stop on (the records after the last commit
    /// are read again).
    pub fn flush(&mut self) -> Result<(), FlushError> {
        self.write_through().map_err(FlushError::Write)?;
        if let Err(error) = self.file.sync_data() {
            let _ = self.file.set_len(self.durable_len);
            self.file_len = self.durable_len;
            return Err(FlushError::Sync(error));
        }
        self.durable_len = self.file_len;
        Ok(())
    }

    /// Exactly once, once the lines gathered are committed: appends and syncs them on a thread
    /// of their own (see `background_append`), and gathers the next batch in a fresh buffer.
    /// The next [`settle_committed`](Self::settle_committed) says when they are durable.
    pub fn append_committed(&mut self) {
        let lines = std::mem::replace(&mut self.buffer, std::mem::take(&mut self.spare));
        self.buffered_lines = 0;
        self.committed = CommittedLines::start(&self.file, lines, self.durable_len);
    }

    /// Whether a committed batch is not yet durable in the file.
    pub fn holds_committed(&self) -> bool {
        self.committed.outstanding()
    }

    /// Bytes of lines held in memory: those gathered and a committed batch's not yet durable.
    pub fn held(&self) -> u64 {
        self.buffer.len() as u64 + self.committed.len()
    }

    /// Exactly once: settles the committed batch outside the file, waiting for its append
    /// (`wait`) or only looking whether it is done; an append that failed is tried again.
    /// `Ok(Some(when its lines became readable))` when a batch has just become durable. On
    /// failure the file holds whole, synced lines only and the batch's lines are kept for the
    /// next call.
    pub fn settle_committed(
        &mut self,
        wait: bool,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, FlushError> {
        let settled = self
            .committed
            .settle(&self.file, self.durable_len, wait, &mut self.spare)?;
        let Some(durable) = settled else {
            return Ok(None);
        };
        self.file_len += durable.len;
        self.durable_len = self.file_len;
        Ok(Some(durable.readable_at))
    }

    /// Lines written since start.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Bytes written since start.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl Drop for JsonlSink {
    /// A committed batch still being appended is waited for, so the process does not end in
    /// the middle of its write (were it to, the next start would append it again).
    fn drop(&mut self) {
        if self.holds_committed() {
            let _ = self.settle_committed(true);
        }
    }
}

/// The length of `file` up to and including its last newline (0 without one).
fn whole_lines_len(file: &mut File, len: u64) -> std::io::Result<u64> {
    let mut end = len;
    let mut chunk = Vec::new();
    while end > 0 {
        let start = end.saturating_sub(TAIL_CHUNK);
        chunk.resize((end - start) as usize, 0);
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk)?;
        if let Some(newline) = chunk.iter().rposition(|&b| b == b'\n') {
            return Ok(start + newline as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(dir: &Path) -> String {
        std::fs::read_to_string(dir.join("consumer-1.jsonl")).expect("read")
    }

    #[test]
    fn lines_are_appended_across_reopen() {
        let dir = tempfile::tempdir().expect("dir");
        let mut sink = JsonlSink::open(dir.path(), "consumer-1").expect("open");
        sink.write(b"{\"a\":1}\n");
        sink.flush().expect("flush");
        drop(sink);
        let mut sink = JsonlSink::open(dir.path(), "consumer-1").expect("reopen");
        sink.write(b"{\"a\":2}\n");
        assert_eq!(
            text(dir.path()),
            "{\"a\":1}\n",
            "not written before write_through"
        );
        sink.write_through().expect("write");
        assert_eq!(text(dir.path()), "{\"a\":1}\n{\"a\":2}\n");
        sink.flush().expect("flush");
        assert_eq!(sink.lines(), 1);
    }

    #[test]
    fn segments_close_whole_by_size_and_number_on_across_reopen() {
        let dir = tempfile::tempdir().expect("dir");
        let rolling = Rolling {
            max_bytes: 16,
            max_age: std::time::Duration::ZERO,
            keep: 2,
        };
        let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).expect(name);
        let mut sink = JsonlSink::open_rolling(dir.path(), "m", Some(rolling)).expect("open");
        assert_eq!(sink.path(), dir.path().join("m.jsonl.part"));
        sink.write(b"{\"a\":1}\n");
        sink.flush().expect("flush");
        assert_eq!(
            sink.roll_if_due(Instant::now()).expect("roll"),
            None,
            "8 bytes"
        );
        sink.write(b"{\"a\":2}\n");
        sink.flush().expect("flush");
        let closed = sink.roll_if_due(Instant::now()).expect("roll");
        assert_eq!(closed, Some((dir.path().join("m.00000001.jsonl"), 16)));
        assert_eq!(read("m.00000001.jsonl"), "{\"a\":1}\n{\"a\":2}\n");
        assert_eq!(read("m.jsonl.part"), "");
        // Lines written through but not yet synced are synced before their segment closes.
        sink.write(b"{\"a\":3}\n{\"a\":4}\n");
        sink.write_through().expect("write");
        assert!(sink.roll_if_due(Instant::now()).expect("roll").is_some());
        assert_eq!(read("m.00000002.jsonl"), "{\"a\":3}\n{\"a\":4}\n");
        drop(sink);
        let mut sink = JsonlSink::open_rolling(dir.path(), "m", Some(rolling)).expect("reopen");
        sink.write(b"{\"a\":5}\n{\"a\":6}\n");
        sink.flush().expect("flush");
        let closed = sink.roll_if_due(Instant::now()).expect("roll");
        assert_eq!(closed, Some((dir.path().join("m.00000003.jsonl"), 16)));
        assert!(
            !dir.path().join("m.00000001.jsonl").exists(),
            "two closed segments kept"
        );
        assert!(dir.path().join("m.00000002.jsonl").exists());
    }

    #[test]
    fn a_segment_closes_by_age_only_once_it_holds_a_line() {
        let dir = tempfile::tempdir().expect("dir");
        let rolling = Rolling {
            max_bytes: 0,
            max_age: std::time::Duration::from_secs(60),
            keep: 0,
        };
        let mut sink = JsonlSink::open_rolling(dir.path(), "m", Some(rolling)).expect("open");
        let later = Instant::now() + std::time::Duration::from_secs(61);
        assert_eq!(sink.roll_if_due(later).expect("roll"), None, "empty");
        sink.write(b"{\"a\":1}\n");
        sink.flush().expect("flush");
        assert_eq!(
            sink.roll_if_due(Instant::now()).expect("roll"),
            None,
            "young"
        );
        assert!(sink.roll_if_due(later).expect("roll").is_some(), "old");
    }

    #[test]
    fn a_line_cut_short_is_removed_on_open() {
        let dir = tempfile::tempdir().expect("dir");
        let long_tail = "x".repeat(200_000);
        std::fs::write(
            dir.path().join("consumer-1.jsonl"),
            format!("{{\"a\":1}}\n{{\"a\":2}}\n{{\"a\":{long_tail}"),
        )
        .expect("write");
        let mut sink = JsonlSink::open(dir.path(), "consumer-1").expect("open");
        assert_eq!(text(dir.path()), "{\"a\":1}\n{\"a\":2}\n");
        sink.write(b"{\"a\":3}\n");
        sink.flush().expect("flush");
        assert_eq!(text(dir.path()), "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n");

        std::fs::write(dir.path().join("consumer-1.jsonl"), "no newline at all").expect("write");
        drop(JsonlSink::open(dir.path(), "consumer-1").expect("open"));
        assert_eq!(text(dir.path()), "");
    }
}
