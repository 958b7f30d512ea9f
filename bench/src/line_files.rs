//! The members' line files of a bench run's output folder: emptied before a timed run, then
//! counted and dated once the members have stopped.

use std::path::Path;
use std::time::SystemTime;

/// Removes the members' line files (`*.jsonl`) of `folder`, with the members stopped: each
/// catch-up counts and times its own lines. Exactly once, a member stopped cleanly left no
/// batch behind that would refer to them.
pub fn remove_line_files(folder: &Path) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Ok(());
    };
    for path in entries.flatten().map(|e| e.path()) {
        if path.extension().is_some_and(|e| e == "jsonl") {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// The members' line files of a folder, once the members have stopped.
pub struct LineFiles {
    /// Lines in all of them.
    pub lines: u64,
    /// The newest modification time among them: when the last line was written.
    pub last_write: SystemTime,
}

impl LineFiles {
    /// Counts the lines of every `*.jsonl` file of `folder` and finds the newest write.
    pub fn read(folder: &Path) -> anyhow::Result<Self> {
        let mut lines = 0;
        let mut last_write = SystemTime::UNIX_EPOCH;
        for path in std::fs::read_dir(folder)?.flatten().map(|e| e.path()) {
            if path.extension().is_none_or(|e| e != "jsonl") {
                continue;
            }
            last_write = last_write.max(std::fs::metadata(&path)?.modified()?);
            lines += count_lines(&path)?;
        }
        anyhow::ensure!(lines > 0, "no lines in {}", folder.display());
        Ok(Self { lines, last_write })
    }
}

fn count_lines(path: &Path) -> anyhow::Result<u64> {
    use std::io::Read as _;
    let mut file = std::fs::File::open(path)?;
    let mut buffer = vec![0u8; 1 << 20];
    let mut lines = 0;
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            return Ok(lines);
        }
        lines += buffer[..read].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_counted_and_dated_in_jsonl_files_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("consumer-1.jsonl"), "{}\n{}\n").expect("write");
        std::fs::write(dir.path().join("consumer-2.jsonl"), "{}\n").expect("write");
        std::fs::write(dir.path().join("consumer-1.pending"), "x\ny\nz\n").expect("write");
        let files = LineFiles::read(dir.path()).expect("read");
        assert_eq!(files.lines, 3);
        assert!(files.last_write > SystemTime::UNIX_EPOCH);
        remove_line_files(dir.path()).expect("remove");
        assert!(LineFiles::read(dir.path()).is_err(), "no lines left");
        assert!(dir.path().join("consumer-1.pending").exists());
    }
}
