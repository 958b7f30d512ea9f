//! The member's output: one JSON line per record appended to `<output_dir>/<member>.jsonl`.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// An append-only JSON-lines file, flushed to disk before offsets are committed.
pub struct JsonlSink {
    path: PathBuf,
    writer: BufWriter<File>,
    bytes: u64,
    lines: u64,
}

impl JsonlSink {
    /// Opens (creating if needed) `<folder>/<member>.jsonl` for appending.
    pub fn open(folder: &Path, member: &str) -> std::io::Result<Self> {
        std::fs::create_dir_all(folder)?;
        let path = folder.join(format!("{member}.jsonl"));
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(Self {
            path,
            writer: BufWriter::with_capacity(1 << 20, file),
            bytes: 0,
            lines: 0,
        })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line (its newline included).
    pub fn write(&mut self, line: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(line)?;
        self.bytes += line.len() as u64;
        self.lines += 1;
        Ok(())
    }

    /// Hands buffered lines to the operating system, so readers of the file see them now
    /// rather than at the next commit; durability still waits for [`flush`](Self::flush).
    pub fn write_through(&mut self) -> std::io::Result<()> {
        self.writer.flush()
    }

    /// Makes every line written so far durable: only then may its offset be committed.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.writer.flush()?;
        self.writer.get_ref().sync_data()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_appended_across_reopen() {
        let dir = tempfile::tempdir().expect("dir");
        let mut sink = JsonlSink::open(dir.path(), "consumer-1").expect("open");
        sink.write(b"{\"a\":1}\n").expect("write");
        sink.flush().expect("flush");
        drop(sink);
        let mut sink = JsonlSink::open(dir.path(), "consumer-1").expect("reopen");
        sink.write(b"{\"a\":2}\n").expect("write");
        sink.flush().expect("flush");
        let text = std::fs::read_to_string(dir.path().join("consumer-1.jsonl")).expect("read");
        assert_eq!(text, "{\"a\":1}\n{\"a\":2}\n");
        assert_eq!(sink.lines(), 1);
    }
}
