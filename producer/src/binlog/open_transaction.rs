//! The stream loop's state between events: the source transaction open in the stream, and why
//! one connection's stream ended.

use super::error::BinlogError;
use super::position::{BinlogPosition, Gtid};
use super::watermark::BinlogWatermark;
use crate::error::ProducerError;

/// A transaction of the stream, open.
pub(super) struct OpenTransaction {
    /// Where it starts: its GTID event.
    pub(super) start: BinlogPosition,
    pub(super) gtid: Gtid,
    /// Changes of the table seen in it so far.
    pub(super) seen: u64,
    /// Changes already published before a restart, passed over.
    pub(super) skip: u64,
    /// `start` and `gtid` as its records' headers say them, written once per transaction.
    pub(super) start_text: String,
    pub(super) gtid_text: String,
}

impl OpenTransaction {
    /// The transaction starting at `start` with `gtid`, its first `skip` changes of the table
    /// published before a restart.
    pub(super) fn new(start: BinlogPosition, gtid: Gtid, skip: u64) -> Self {
        Self {
            start_text: start.to_string(),
            gtid_text: gtid.to_string(),
            start,
            gtid,
            seen: 0,
            skip,
        }
    }

    /// The position once its first `changes` changes of the table are published.
    pub(super) fn published(&self, changes: u64) -> BinlogWatermark {
        BinlogWatermark::inside_transaction(self.start.clone(), self.gtid, changes)
    }
}

/// Where a page closed now ends: inside the open transaction, as its start and the changes of
/// it queued (or passed over as published before); else at `position`, between transactions.
pub(super) fn end_now(
    open: Option<&OpenTransaction>,
    position: &BinlogPosition,
) -> BinlogWatermark {
    match open {
        Some(transaction) => transaction.published(transaction.seen),
        None => BinlogWatermark::at_transaction(position.clone()),
    }
}

/// Why one connection's stream ended.
pub(super) enum Stopped {
    /// The producer stops (or renews its client) with this.
    For(ProducerError),
    /// A wait heals it: the stream goes on from the last page queued.
    Healable(BinlogError),
    /// The table's columns changed: everything up to the change is kept, and the run ends so
    /// the producer plans again.
    TableChanged,
}

impl From<BinlogError> for Stopped {
    fn from(error: BinlogError) -> Self {
        if error.heals() {
            Self::Healable(error)
        } else {
            Self::For(error.into())
        }
    }
}

impl From<ProducerError> for Stopped {
    fn from(error: ProducerError) -> Self {
        Self::For(error)
    }
}
