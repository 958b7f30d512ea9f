//! The binlog source's position, as the watermark file (and, exactly once, the watermark topic)
//! keeps it: where the stream goes on, and how far into the transaction there it got.
//!
//! Invariant: **`resume_at` is always the start of a transaction (or of the stream), never the
//! middle of one.** A transaction published in parts is resumed from its start, its first
//! `changes_done` row changes of the watched table passed over, so each is published once.

use serde::{Deserialize, Serialize};

use super::position::{BinlogPosition, Gtid};
use super::snapshot_parts::SnapshotPart;

/// Where the binlog source stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct BinlogWatermark {
    /// Where the stream goes on: the start of the first transaction not wholly published.
    pub resume_at: BinlogPosition,
    /// That transaction's GTID, when part of it is published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtid: Option<Gtid>,
    /// The watched table's row changes of that transaction already published.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub changes_done: u64,
    /// Whether the snapshot at `resume_at` is wholly published; until then a restart goes on
    /// with a new snapshot after its last published key.
    pub snapshot_done: bool,
    /// The parts of a snapshot taken in more than one (see `snapshot_parts`): while the
    /// snapshot runs, the parts published so far; once it is done, until the stream passes the
    /// last part's position, the parts the stream filters its changes by.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snapshot_parts: Vec<SnapshotPart>,
}

fn is_zero(count: &u64) -> bool {
    *count == 0
}

/// The file's form: the position under a `binlog` key (`{"binlog": {"resume_at": …}}`), so
/// neither source mistakes the other's file for its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SavedPosition {
    /// The binlog source's.
    Binlog(BinlogWatermark),
}

impl BinlogWatermark {
    /// Before the stream at `resume_at`, every change before it published.
    pub fn at_transaction(resume_at: BinlogPosition) -> Self {
        Self {
            resume_at,
            gtid: None,
            changes_done: 0,
            snapshot_done: true,
            snapshot_parts: Vec::new(),
        }
    }

    /// Part of the transaction `gtid` at `start` published: its first `changes_done` changes.
    pub fn inside_transaction(start: BinlogPosition, gtid: Gtid, changes_done: u64) -> Self {
        Self {
            resume_at: start,
            gtid: Some(gtid),
            changes_done,
            snapshot_done: true,
            snapshot_parts: Vec::new(),
        }
    }

    /// A snapshot running (`done` false) or done, whose first part lies at `resume_at`.
    pub fn of_snapshot(resume_at: BinlogPosition, parts: Vec<SnapshotPart>, done: bool) -> Self {
        Self {
            resume_at,
            gtid: None,
            changes_done: 0,
            snapshot_done: done,
            snapshot_parts: parts,
        }
    }
}

impl std::fmt::Display for BinlogWatermark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.gtid, self.snapshot_done) {
            (_, false) => match self
                .snapshot_parts
                .last()
                .and_then(|part| part.up_to.as_ref())
            {
                Some(key) => write!(
                    f,
                    "the snapshot at binlog {}, published up to key {key}",
                    self.resume_at
                ),
                None => write!(f, "the snapshot at binlog {}", self.resume_at),
            },
            (Some(gtid), true) => write!(
                f,
                "binlog {} (transaction {gtid}, {} changes published)",
                self.resume_at, self.changes_done
            ),
            (None, true) => write!(f, "binlog {}", self.resume_at),
        }
    }
}

impl std::fmt::Display for SavedPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Binlog(position) => position.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_holds_the_position_under_its_source() {
        let saved = SavedPosition::Binlog(BinlogWatermark::inside_transaction(
            BinlogPosition::new("binlog.000003", 4711),
            "0-1-9".parse().expect("a GTID"),
            500,
        ));
        let text = serde_json::to_string(&saved).expect("encodes");
        assert_eq!(
            text,
            r#"{"binlog":{"resume_at":{"file":"binlog.000003","offset":4711},"gtid":{"domain":0,"server":1,"sequence":9},"changes_done":500,"snapshot_done":true}}"#
        );
        assert_eq!(
            serde_json::from_str::<SavedPosition>(&text).expect("decodes"),
            saved
        );
        // A timestamp watermark is not mistaken for one.
        assert!(serde_json::from_str::<SavedPosition>(
            r#"{"last_updated":"2026-12-06T10:00:00Z","id":5}"#
        )
        .is_err());
    }
}
