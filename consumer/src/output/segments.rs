//! A member's output in segments a loader can pick up: lines are appended to the open segment
//! `<member>.jsonl.part`, which is closed, once it holds `roll_bytes` or is `roll_seconds` old,
//! by renaming it to `<member>.<sequence>.jsonl` (eight digits and more, from 1, in the order
//! written). A loader's glob `*.jsonl` sees closed segments only, each whole.
//!
//! Invariant: **a segment is closed only when every line in it is durable and no committed
//! batch is outside it**, so a batch file (`commit::journal`) always describes the open
//! segment, and a crash at any point of a roll leaves either the open segment as it was or the
//! closed one whole: the rename is the roll, and the folder is synced after it. Without an open
//! segment at start, an empty one is made; the next sequence is one past the highest closed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use sluice_common::settings::ConsumerSettings;

/// When the open segment is closed; `None` in the settings: one file that grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rolling {
    /// Close at this many bytes (0: never by size).
    pub max_bytes: u64,
    /// Close at this age, from the segment's first line (zero: never by age).
    pub max_age: Duration,
    /// Closed segments kept, the oldest removed beyond (0: all).
    pub keep: usize,
}

impl Rolling {
    /// What the settings ask for; `None` when neither size nor age closes a segment.
    pub fn from_settings(settings: &ConsumerSettings) -> Option<Self> {
        (settings.roll_bytes > 0 || settings.roll_seconds > 0).then(|| Self {
            max_bytes: settings.roll_bytes,
            max_age: Duration::from_secs(settings.roll_seconds),
            keep: settings.keep_segments as usize,
        })
    }

    /// Whether a segment of `len` bytes begun at `started` is to be closed at `now`.
    pub fn due(&self, len: u64, started: Option<Instant>, now: Instant) -> bool {
        len > 0
            && ((self.max_bytes > 0 && len >= self.max_bytes)
                || (!self.max_age.is_zero()
                    && started.is_some_and(|at| now.saturating_duration_since(at) >= self.max_age)))
    }
}

/// The names of one member's files in its folder.
#[derive(Debug, Clone)]
pub struct SegmentNames {
    folder: PathBuf,
    member: String,
}

impl SegmentNames {
    /// `member`'s files in `folder`.
    pub fn new(folder: &Path, member: &str) -> Self {
        Self {
            folder: folder.to_path_buf(),
            member: member.to_owned(),
        }
    }

    /// The one file of a member that does not roll: `<member>.jsonl`.
    pub fn single(&self) -> PathBuf {
        self.folder.join(format!("{}.jsonl", self.member))
    }

    /// The open segment: `<member>.jsonl.part`.
    pub fn open(&self) -> PathBuf {
        self.folder.join(format!("{}.jsonl.part", self.member))
    }

    /// Closed segment number `sequence`.
    pub fn closed(&self, sequence: u64) -> PathBuf {
        self.folder
            .join(format!("{}.{sequence:08}.jsonl", self.member))
    }

    /// The sequence of a closed segment of this member named `name`.
    fn sequence_of(&self, name: &str) -> Option<u64> {
        let digits = name
            .strip_prefix(self.member.as_str())?
            .strip_prefix('.')?
            .strip_suffix(".jsonl")?;
        (digits.len() >= 8 && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| digits.parse().ok())
            .flatten()
    }

    /// This member's closed segments, by sequence.
    pub fn closed_segments(&self) -> std::io::Result<Vec<(u64, PathBuf)>> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&self.folder)? {
            let entry = entry?;
            if let Some(sequence) = entry.file_name().to_str().and_then(|n| self.sequence_of(n)) {
                found.push((sequence, entry.path()));
            }
        }
        found.sort_unstable();
        Ok(found)
    }

    /// The file lines go to: the open segment when rolling, the single file otherwise. A
    /// member switched from one to the other goes on with the file it was writing (renamed
    /// when the other name is free), so a batch file describing it stays true.
    pub fn writing(&self, rolling: bool) -> std::io::Result<PathBuf> {
        let (wanted, other) = if rolling {
            (self.open(), self.single())
        } else {
            (self.single(), self.open())
        };
        if !wanted.exists() && other.exists() {
            std::fs::rename(&other, &wanted)?;
            sluice_common::durable_file::sync_folder_of(&wanted)?;
            tracing::info!(
                "{} renamed to {}: {}",
                other.display(),
                wanted.display(),
                if rolling {
                    "it is the open segment now that segments roll"
                } else {
                    "segments no longer roll"
                }
            );
        }
        Ok(wanted)
    }

    /// Removes the oldest closed segments beyond `keep` (0: none removed); how many.
    pub fn remove_beyond(&self, keep: usize) -> std::io::Result<usize> {
        if keep == 0 {
            return Ok(0);
        }
        let closed = self.closed_segments()?;
        let excess = closed.len().saturating_sub(keep);
        for (_, path) in &closed[..excess] {
            std::fs::remove_file(path)?;
        }
        Ok(excess)
    }
}

/// When a file's first line was written, as an instant: its creation time where the file
/// system keeps one, else its last change; now when neither can be read.
pub fn started_at(metadata: &std::fs::Metadata) -> Instant {
    let now = Instant::now();
    metadata
        .created()
        .or_else(|_| metadata.modified())
        .ok()
        .and_then(|at| SystemTime::now().duration_since(at).ok())
        .and_then(|age| now.checked_sub(age))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_segments_are_this_members_only_in_order() {
        let dir = tempfile::tempdir().expect("dir");
        let names = SegmentNames::new(dir.path(), "consumer-1");
        for name in [
            "consumer-1.00000002.jsonl",
            "consumer-1.00000010.jsonl",
            "consumer-1.00000001.jsonl",
            "consumer-10.00000003.jsonl",
            "consumer-1.jsonl",
            "consumer-1.jsonl.part",
            "consumer-1.0001.jsonl",
            "consumer-1.00000004.jsonl.tmp",
        ] {
            std::fs::write(dir.path().join(name), "").expect("write");
        }
        let closed: Vec<u64> = names
            .closed_segments()
            .expect("read")
            .into_iter()
            .map(|(sequence, _)| sequence)
            .collect();
        assert_eq!(closed, [1, 2, 10]);
        assert_eq!(
            names.closed(3),
            dir.path().join("consumer-1.00000003.jsonl")
        );
        assert_eq!(names.remove_beyond(2).expect("remove"), 1);
        assert!(!dir.path().join("consumer-1.00000001.jsonl").exists());
        assert!(dir.path().join("consumer-10.00000003.jsonl").exists());
    }

    #[test]
    fn a_member_switched_goes_on_with_the_file_it_was_writing() {
        let dir = tempfile::tempdir().expect("dir");
        let names = SegmentNames::new(dir.path(), "m");
        std::fs::write(names.single(), "{\"a\":1}\n").expect("write");
        assert_eq!(names.writing(true).expect("switch"), names.open());
        assert_eq!(
            std::fs::read_to_string(names.open()).expect("read"),
            "{\"a\":1}\n"
        );
        assert!(!names.single().exists());
        assert_eq!(names.writing(false).expect("switch back"), names.single());
        assert!(names.single().exists() && !names.open().exists());
    }

    #[test]
    fn a_segment_is_due_by_size_or_age_and_never_empty() {
        let rolling = Rolling {
            max_bytes: 100,
            max_age: Duration::from_secs(60),
            keep: 0,
        };
        let now = Instant::now();
        let old = now.checked_sub(Duration::from_secs(61));
        assert!(rolling.due(100, Some(now), now));
        assert!(!rolling.due(99, Some(now), now));
        assert!(rolling.due(1, old, now));
        assert!(!rolling.due(0, old, now));
        let by_age_only = Rolling {
            max_bytes: 0,
            ..rolling
        };
        assert!(!by_age_only.due(1_000_000, Some(now), now));
    }
}
