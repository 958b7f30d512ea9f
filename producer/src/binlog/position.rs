//! Where the binlog source stands: a place in the server's binary log (file and offset), and the
//! MariaDB GTID of a transaction.
//!
//! A file offset names a place on one server only; the GTID names the same transaction on every
//! server of a replication topology, so both are kept.

use serde::{Deserialize, Serialize};

/// A place in the binary log: the event that starts at `offset` in `file`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BinlogPosition {
    /// The binary log file, as `SHOW BINARY LOGS` names it (`binlog.000012`).
    pub file: String,
    /// Bytes from the file's start.
    pub offset: u64,
}

impl BinlogPosition {
    /// The place `offset` in `file`.
    pub fn new(file: impl Into<String>, offset: u64) -> Self {
        Self {
            file: file.into(),
            offset,
        }
    }

    /// The file's sequence number (`binlog.000012` → 12), which orders files; `None` for a name
    /// without one.
    pub fn file_sequence(&self) -> Option<u64> {
        self.file.rsplit_once('.')?.1.parse().ok()
    }

    /// Whether this place is `other` or after it: in a later file, or further in the same.
    pub fn is_at_or_after(&self, other: &BinlogPosition) -> bool {
        match (self.file_sequence(), other.file_sequence()) {
            (Some(mine), Some(theirs)) if mine != theirs => mine > theirs,
            _ => self.offset >= other.offset,
        }
    }
}

impl std::fmt::Display for BinlogPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.offset)
    }
}

/// A MariaDB global transaction id, `domain-server-sequence` (`0-1-4711`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Gtid {
    /// The replication domain.
    pub domain: u32,
    /// The server that first committed the transaction.
    pub server: u32,
    /// The transaction's number within its domain.
    pub sequence: u64,
}

impl std::fmt::Display for Gtid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}-{}", self.domain, self.server, self.sequence)
    }
}

impl std::str::FromStr for Gtid {
    type Err = String;

    /// Reads `domain-server-sequence`, as `BINLOG_GTID_POS` and `@@gtid_binlog_pos` write one.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{text}` is not a MariaDB GTID (domain-server-sequence)");
        let mut parts = text.trim().splitn(3, '-');
        let mut next = || parts.next().ok_or_else(bad);
        let domain = next()?.parse().map_err(|_| bad())?;
        let server = next()?.parse().map_err(|_| bad())?;
        let sequence = next()?.parse().map_err(|_| bad())?;
        Ok(Self {
            domain,
            server,
            sequence,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_order_by_their_sequence_number() {
        assert_eq!(
            BinlogPosition::new("binlog.000012", 4).file_sequence(),
            Some(12)
        );
        assert_eq!(BinlogPosition::new("binlog", 4).file_sequence(), None);
        assert_eq!(
            BinlogPosition::new("binlog.000012", 330).to_string(),
            "binlog.000012:330"
        );
    }

    #[test]
    fn a_position_is_reached_in_a_later_file_or_further_in_the_same() {
        let end = BinlogPosition::new("binlog.000007", 500);
        let reached = |file: &str, offset| BinlogPosition::new(file, offset).is_at_or_after(&end);
        assert!(reached("binlog.000007", 500));
        assert!(reached("binlog.000008", 4));
        assert!(!reached("binlog.000007", 499));
        assert!(!reached("binlog.000006", 9_000));
    }

    #[test]
    fn gtids_read_and_write_as_mariadb_does() {
        let gtid: Gtid = "0-1-4711".parse().expect("a GTID");
        assert_eq!(
            gtid,
            Gtid {
                domain: 0,
                server: 1,
                sequence: 4711
            }
        );
        assert_eq!(gtid.to_string(), "0-1-4711");
        assert!("0-1".parse::<Gtid>().is_err());
        assert!("a-1-2".parse::<Gtid>().is_err());
        assert!("".parse::<Gtid>().is_err());
    }
}
