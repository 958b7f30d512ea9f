//! Before the snapshot: whether the server lets the user read its binary log at all, so a
//! missing grant stops the producer at once with the grant to give, not after a snapshot of the
//! whole table. `SHOW MASTER STATUS` needs `BINLOG MONITOR`; the stream, `REPLICATION SLAVE`.
//!
//! Only a refusal no wait heals stops it here; a server away is left to the run, which waits
//! for it as for any database failure.

use std::time::Duration;

use sqlx::mysql::MySqlDatabaseError;

use super::connect::{connect, request_stream, server_id};
use super::error::BinlogError;
use super::position::BinlogPosition;
use super::stream::{ChangeStream, WatchedTable};
use crate::poll::Pipeline;

/// `ER_SPECIFIC_ACCESS_DENIED_ERROR`, as the server answers a statement it needs a privilege for.
const ACCESS_DENIED: u32 = 1227;

/// How long the probe waits for the stream's first event (the server's first answer).
const FIRST_EVENT: Duration = Duration::from_secs(5);

impl Pipeline {
    /// `Err` when the server refuses this user its binary log position or its stream.
    pub(super) async fn probe_binlog_access(&self) -> Result<(), BinlogError> {
        let position: (String, u64) = match sqlx::query_as("SHOW MASTER STATUS")
            .fetch_one(&self.pool)
            .await
        {
            Ok(position) => position,
            Err(error) if refused(&error) => {
                return Err(BinlogError::Unsupported(format!(
                    "the server refuses user `{}` its binary log position (SHOW MASTER \
                     STATUS: {error}); the binlog source needs REPLICATION SLAVE and BINLOG \
                     MONITOR: GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO the user (see \
                     stack/sql/binlog-grants.sql)",
                    self.mysql.user
                )))
            }
            Err(_) => return Ok(()),
        };
        let at = BinlogPosition::new(position.0, position.1);
        let open = |error| BinlogError::open(&at, error);
        let conn = match connect(&self.mysql).await.map_err(open) {
            Ok(conn) => conn,
            Err(error) => return refusal_only(error),
        };
        let replica = server_id(self.settings.binlog_server_id, &self.kafka.topic);
        let requested = match request_stream(conn, &at, replica).await.map_err(open) {
            Ok(requested) => requested,
            Err(error) => return refusal_only(error),
        };
        let watched = WatchedTable {
            database: self.mysql.database.clone(),
            table: self.mysql.table.clone(),
        };
        let mut stream = ChangeStream::new(requested, at.clone(), watched);
        match tokio::time::timeout(FIRST_EVENT, stream.next()).await {
            Ok(Err(error)) => refusal_only(BinlogError::stream(error)),
            Ok(Ok(_)) | Err(_) => Ok(()),
        }
    }
}

/// `error` when no wait heals it; else nothing (the run waits for the server).
fn refusal_only(error: BinlogError) -> Result<(), BinlogError> {
    match error.heals() {
        true => Ok(()),
        false => Err(error),
    }
}

fn refused(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|error| error.try_downcast_ref::<MySqlDatabaseError>())
        .is_some_and(|error| u32::from(error.number()) == ACCESS_DENIED)
}
