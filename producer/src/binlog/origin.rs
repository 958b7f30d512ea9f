//! Where a record of the binlog source comes from, in its headers: the operation, and the
//! change's place in the binary log (its transaction's start and GTID, and its number in that
//! transaction), so a reader can tell every version apart and order them as they committed. A
//! snapshot's record says `snapshot` and the binary log position its snapshot (part) matches.

use rdkafka::message::{Header, OwnedHeaders};

use super::position::BinlogPosition;
use super::stream::Operation;

/// `snapshot`, `insert`, `update` or `delete`.
pub const OPERATION_HEADER: &str = "sluice.operation";
/// The start of the change's transaction in the binary log: `binlog.000012:4711`.
pub const POSITION_HEADER: &str = "sluice.binlog.position";
/// The transaction's MariaDB GTID: `0-1-4711`.
pub const GTID_HEADER: &str = "sluice.binlog.gtid";
/// The change's number among its transaction's changes of the table, from 1.
pub const ROW_HEADER: &str = "sluice.binlog.row";

/// The headers of a snapshot's records, read at binary log position `at`.
pub(super) fn snapshot_headers(at: &BinlogPosition) -> OwnedHeaders {
    let position = at.to_string();
    OwnedHeaders::new_with_capacity(2)
        .insert(Header {
            key: OPERATION_HEADER,
            value: Some("snapshot"),
        })
        .insert(Header {
            key: POSITION_HEADER,
            value: Some(&position),
        })
}

/// A change's origin; its transaction's start and GTID already as text (they are the same
/// for every change of the transaction).
pub(super) struct ChangeOrigin<'a> {
    pub(super) operation: Operation,
    /// The transaction's start, as `BinlogPosition` writes it.
    pub(super) transaction: &'a str,
    /// Its GTID, as `Gtid` writes it.
    pub(super) gtid: &'a str,
    pub(super) row: u64,
}

impl ChangeOrigin<'_> {
    /// The record headers that say it.
    pub(super) fn headers(&self) -> OwnedHeaders {
        let operation = match self.operation {
            Operation::Insert => "insert",
            Operation::Update => "update",
            Operation::Delete => "delete",
        };
        let mut row = itoa::Buffer::new();
        OwnedHeaders::new_with_capacity(4)
            .insert(Header {
                key: OPERATION_HEADER,
                value: Some(operation),
            })
            .insert(Header {
                key: POSITION_HEADER,
                value: Some(self.transaction),
            })
            .insert(Header {
                key: GTID_HEADER,
                value: Some(self.gtid),
            })
            .insert(Header {
                key: ROW_HEADER,
                value: Some(row.format(self.row)),
            })
    }
}
