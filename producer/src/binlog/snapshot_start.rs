//! The seam between the snapshot and the stream, without a lock: a transaction started `WITH
//! CONSISTENT SNAPSHOT` sees exactly the transactions committed before the binary log position
//! MariaDB reports for it (`Binlog_snapshot_file`, `Binlog_snapshot_position`), so the table
//! read inside it and the stream read from that position hold every committed version once.
//!
//! MariaDB (and Percona Server) report that position; Oracle MySQL does not, and is refused.

use sqlx::mysql::MySqlConnection;
use sqlx::Row;

use super::position::{BinlogPosition, Gtid};

/// A snapshot transaction open on a connection, and where the stream after it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotStart {
    /// The binary log position the snapshot matches: the stream starts here.
    pub position: BinlogPosition,
    /// The same place as MariaDB GTIDs, one per replication domain (`BINLOG_GTID_POS`); empty
    /// before the first GTID.
    pub gtids: Vec<Gtid>,
}

/// Why a snapshot could not start.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotStartError {
    /// A query failed.
    #[error("starting the snapshot transaction: {0}")]
    Database(#[from] sqlx::Error),
    /// The server does not say where its snapshot lies in the binary log.
    #[error(
        "the server reports no Binlog_snapshot_file for its consistent snapshot: the binlog \
         source needs MariaDB (10.x or later) with log_bin=ON"
    )]
    NoSnapshotPosition,
    /// `BINLOG_GTID_POS` answered what is not a GTID list.
    #[error("BINLOG_GTID_POS answered {0}")]
    BadGtids(String),
}

/// Starts a read-only `REPEATABLE READ` transaction `WITH CONSISTENT SNAPSHOT` on `conn`, which
/// the caller reads the table in and then ends, and returns its binary log position.
pub async fn start_snapshot(
    conn: &mut MySqlConnection,
) -> Result<SnapshotStart, SnapshotStartError> {
    sqlx::query("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .execute(&mut *conn)
        .await?;
    sqlx::query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        .execute(&mut *conn)
        .await?;
    let status = sqlx::query("SHOW SESSION STATUS LIKE 'Binlog_snapshot_%'")
        .fetch_all(&mut *conn)
        .await?;
    let value = |name: &str| {
        status.iter().find_map(|row| {
            let key: String = row.try_get(0).ok()?;
            (key.eq_ignore_ascii_case(name))
                .then(|| row.try_get::<String, _>(1).ok())
                .flatten()
        })
    };
    let (Some(file), Some(offset)) = (
        value("Binlog_snapshot_file").filter(|file| !file.is_empty()),
        value("Binlog_snapshot_position").and_then(|offset| offset.parse().ok()),
    ) else {
        return Err(SnapshotStartError::NoSnapshotPosition);
    };
    let gtids: Option<String> = sqlx::query_scalar("SELECT BINLOG_GTID_POS(?, ?)")
        .bind(&file)
        .bind(offset)
        .fetch_one(&mut *conn)
        .await?;
    Ok(SnapshotStart {
        position: BinlogPosition::new(file, offset),
        gtids: parse_gtids(gtids.as_deref().unwrap_or_default())?,
    })
}

/// A GTID list as MariaDB writes one (`0-1-100,1-2-7`); empty for none.
pub fn parse_gtids(text: &str) -> Result<Vec<Gtid>, SnapshotStartError> {
    text.split(',')
        .map(str::trim)
        .filter(|gtid| !gtid.is_empty())
        .map(|gtid| {
            gtid.parse()
                .map_err(|_| SnapshotStartError::BadGtids(text.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtid_lists_hold_one_gtid_per_domain() {
        let gtids = parse_gtids("0-1-100,1-2-7").expect("a list");
        assert_eq!(
            gtids.iter().map(Gtid::to_string).collect::<Vec<_>>(),
            ["0-1-100", "1-2-7"]
        );
        assert!(parse_gtids("").expect("empty").is_empty());
        assert!(parse_gtids("0-1").is_err());
    }
}
