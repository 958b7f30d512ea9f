//! Why the binlog source stops: what failed, where in the binary log, and what to do when no
//! wait can heal it.

use super::connect::brief;
use super::image::MissingColumn;
use super::position::BinlogPosition;
use super::snapshot_start::SnapshotStartError;
use super::stream::StreamError;

/// MariaDB's `ER_MASTER_FATAL_ERROR_READING_BINLOG`: the position asked for is gone (purged) or
/// was never there.
const FATAL_READING_BINLOG: u16 = 1236;
/// `ER_SPECIFIC_ACCESS_DENIED_ERROR`: a privilege is missing.
const ACCESS_DENIED: u16 = 1227;

/// Why the binlog source cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum BinlogError {
    /// The snapshot could not start.
    #[error(transparent)]
    SnapshotStart(#[from] SnapshotStartError),
    /// Reading the snapshot's pages failed.
    #[error("reading the snapshot of {table}: {source}")]
    SnapshotRead {
        /// `database.table`.
        table: String,
        /// The database's error.
        source: sqlx::Error,
    },
    /// The binlog connection could not be opened or the stream requested.
    #[error("opening the binary log stream at {at}: {}{}", brief(source), fix.as_ref().map(|fix| format!("; {fix}")).unwrap_or_default())]
    Open {
        /// The position asked for.
        at: BinlogPosition,
        /// What the driver reported.
        source: mysql_async::Error,
        /// What to do, when no wait heals it.
        fix: Option<String>,
    },
    /// The stream failed.
    #[error("{source}{}", fix.as_ref().map(|fix| format!("; {fix}")).unwrap_or_default())]
    Stream {
        /// What failed.
        source: StreamError,
        /// What to do, when no wait heals it.
        fix: Option<String>,
    },
    /// A column the plan reads is not in the table.
    #[error(transparent)]
    Layout(#[from] MissingColumn),
    /// The stream's rows of the table do not fit the table as it is now (it changed again
    /// after them, and the stream is behind that change).
    #[error(
        "the rows of {table} at binlog {at} do not fit the table as it is now ({what}); \
         `sluice-producer reset` and a restart take a new snapshot"
    )]
    TableChanged {
        /// `database.table`.
        table: String,
        /// Where.
        at: BinlogPosition,
        /// What was seen.
        what: String,
    },
    /// The key column's order, which a snapshot taken in parts is filtered by, is not known.
    #[error("the key order of {table}: {source}")]
    KeyOrder {
        /// `database.table`.
        table: String,
        /// Why.
        source: super::snapshot_parts::KeyOrderError,
    },
    /// A key could not be compared with a snapshot part's last key.
    #[error("comparing a key of {table} with the snapshot's parts: {source}")]
    KeyCompare {
        /// `database.table`.
        table: String,
        /// The database's error.
        source: sqlx::Error,
    },
    /// A setting the binlog source cannot work with.
    #[error("{0}")]
    Unsupported(String),
}

impl BinlogError {
    /// Whether waiting and reconnecting can heal it (the server restarting, the network).
    pub fn heals(&self) -> bool {
        match self {
            Self::Open { fix, .. } | Self::Stream { fix, .. } => fix.is_none(),
            Self::KeyCompare { .. } => true,
            _ => false,
        }
    }

    /// A failed stream, with its fix when it cannot heal.
    pub fn stream(source: StreamError) -> Self {
        let fix = match &source {
            StreamError::Server { source, .. } => fix_for(source),
            StreamError::Unreadable { .. } => Some(
                "the event cannot be read by this version of sluice; report it with the \
                 server's version"
                    .to_string(),
            ),
            StreamError::Ended { .. } => None,
        };
        Self::Stream { source, fix }
    }

    /// A failed open, with its fix when it cannot heal.
    pub fn open(at: &BinlogPosition, source: mysql_async::Error) -> Self {
        Self::Open {
            at: at.clone(),
            fix: fix_for(&source),
            source,
        }
    }
}

/// What to do about a server error no wait heals: the position purged, a privilege missing, a
/// refused login.
pub fn fix_for(error: &mysql_async::Error) -> Option<String> {
    let mysql_async::Error::Server(server) = error else {
        return None;
    };
    match server.code {
        FATAL_READING_BINLOG => Some(
            "the binary log at the saved position is no longer on the server (purged, e.g. by \
             binlog_expire_logs_seconds, while the producer was stopped): `sluice-producer \
             reset` and a restart take a new snapshot; keep binary logs longer than the \
             producer may be down"
                .to_string(),
        ),
        ACCESS_DENIED => Some(
            "the user needs REPLICATION SLAVE and BINLOG MONITOR: GRANT REPLICATION SLAVE, \
             BINLOG MONITOR ON *.* TO the user (see stack/sql/binlog-grants.sql)"
                .to_string(),
        ),
        1044 | 1045 | 1142 | 1698 => Some(
            "the server refused the login or a grant: check mysql.user and its password, and \
             its grants"
                .to_string(),
        ),
        _ => None,
    }
}
