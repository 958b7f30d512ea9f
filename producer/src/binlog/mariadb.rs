//! MariaDB's own binlog events, which `mysql_common` (written for MySQL's) reads as events of
//! an unknown type with their body intact: the GTID that opens each transaction is parsed here;
//! the compressed and encrypted ones are named so the stream can refuse them, and the rest
//! (annotations, checkpoints, GTID lists) are passed over.
//!
//! Layouts from MariaDB's `log_event.h`; the parser is tested against events of the stack's own
//! server (`producer/tests/binlog_stream_live.rs`).

use super::position::Gtid;

/// `GTID_EVENT`: opens a transaction (replaces `BEGIN`), or precedes a standalone statement.
pub const GTID: u8 = 162;
/// `START_ENCRYPTION_EVENT`: the rest of the file is encrypted.
pub const START_ENCRYPTION: u8 = 164;

/// The compressed events of `log_bin_compress=ON`: the query, then rows events V1 and V2.
pub const COMPRESSED: std::ops::RangeInclusive<u8> = 165..=171;

/// `FL_STANDALONE`: a statement without `COMMIT` or XID after it (DDL).
const FLAG_STANDALONE: u8 = 1;
/// `FL_GROUP_COMMIT_ID`: a commit id of 8 bytes follows the flags.
const FLAG_GROUP_COMMIT_ID: u8 = 2;
/// `FL_DDL`: the statement is DDL.
const FLAG_DDL: u8 = 32;

/// A MariaDB GTID event's body: which transaction follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GtidEvent {
    /// The transaction's GTID.
    pub gtid: Gtid,
    /// No `COMMIT` or XID closes it: the one statement after it is the whole transaction.
    pub standalone: bool,
    /// The statement is DDL.
    pub ddl: bool,
}

impl GtidEvent {
    /// Reads the body `data` (checksum removed) of a GTID event written by server `server`;
    /// `None` when it is shorter than its fixed part.
    pub fn parse(server: u32, data: &[u8]) -> Option<Self> {
        let sequence = u64::from_le_bytes(data.get(0..8)?.try_into().ok()?);
        let domain = u32::from_le_bytes(data.get(8..12)?.try_into().ok()?);
        let flags = *data.get(12)?;
        if flags & FLAG_GROUP_COMMIT_ID != 0 && data.len() < 13 + 8 {
            return None;
        }
        Some(Self {
            gtid: Gtid {
                domain,
                server,
                sequence,
            },
            standalone: flags & FLAG_STANDALONE != 0,
            ddl: flags & FLAG_DDL != 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(sequence: u64, domain: u32, flags: u8, tail: &[u8]) -> Vec<u8> {
        let mut data = sequence.to_le_bytes().to_vec();
        data.extend_from_slice(&domain.to_le_bytes());
        data.push(flags);
        data.extend_from_slice(tail);
        data
    }

    #[test]
    fn a_transactions_gtid_event_gives_its_gtid() {
        let event = GtidEvent::parse(1, &body(4711, 0, 4 | 8, &[0; 6])).expect("parsed");
        assert_eq!(event.gtid.to_string(), "0-1-4711");
        assert!(!event.standalone);
        assert!(!event.ddl);
    }

    #[test]
    fn ddl_is_standalone_and_a_group_commit_id_is_read_past() {
        let event = GtidEvent::parse(7, &body(9, 3, 1 | 32, &[0; 6])).expect("parsed");
        assert_eq!(event.gtid.to_string(), "3-7-9");
        assert!(event.standalone && event.ddl);
        let grouped = GtidEvent::parse(1, &body(10, 0, 2 | 4, &[1; 8])).expect("parsed");
        assert_eq!(grouped.gtid.sequence, 10);
    }

    #[test]
    fn a_truncated_body_is_refused() {
        assert_eq!(GtidEvent::parse(1, &[0; 12]), None);
        assert_eq!(GtidEvent::parse(1, &body(1, 0, 2, &[0; 4])), None);
    }
}
