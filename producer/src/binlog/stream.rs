//! The binary log as the binlog source reads it: each event of the server's stream becomes a
//! [`StreamEvent`] with the place right after it, the watched table's row changes decoded (by
//! `mysql_common`, through the table map the server sent before them), every other table's
//! rows passed over undecoded.
//!
//! Invariant: `next` is always where the stream goes on after the event it comes with, so a
//! position saved after a transaction's commit restarts the stream at the next transaction.

use std::sync::Arc;

use futures::StreamExt;
use mysql_async::binlog::events::{Event, EventData, QueryEvent, RotateEvent, RowsEventData};
use mysql_async::binlog::row::BinlogRow;
use mysql_async::binlog::EventType;
use mysql_async::BinlogStream;
use mysql_common::packets::Column;

use super::connect::RequestedStream;
use super::mariadb::{self, GtidEvent};
use super::position::BinlogPosition;
use super::row_images::row_images;

/// What the source does with one event.
#[derive(Debug)]
pub enum StreamEvent {
    /// A transaction, or a standalone statement, begins.
    Begin(GtidEvent),
    /// Rows of the watched table changed, in the order the transaction changed them.
    Rows(Vec<RowChange>),
    /// The transaction commits (its XID event, or `COMMIT` after non-transactional tables).
    Commit,
    /// A statement logged as text: DDL, or statements on tables that are not transactional.
    Statement {
        /// The default database the statement ran in.
        schema: String,
        /// Its text.
        query: String,
    },
    /// Nothing the source acts on: other tables' rows, table maps, heartbeats, a new file,
    /// MariaDB's bookkeeping.
    Skipped,
}

/// One row's change, with the images the binary log holds (`binlog_row_image=FULL`: every
/// column, before and after).
#[derive(Debug)]
pub struct RowChange {
    /// Insert, update or delete.
    pub operation: Operation,
    /// The row before the change (updates and deletes).
    pub before: Option<BinlogRow>,
    /// The row after the change (inserts and updates).
    pub after: Option<BinlogRow>,
}

/// The kind of a row change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// A new row.
    Insert,
    /// A row changed in place.
    Update,
    /// A row removed.
    Delete,
}

/// One event as the source sees it.
#[derive(Debug)]
pub struct SourceEvent {
    /// What it means.
    pub event: StreamEvent,
    /// Where the stream goes on after it.
    pub next: BinlogPosition,
    /// When the server wrote it (seconds since the epoch; 0 for events it made up for the
    /// stream's start).
    pub written_at: u32,
}

/// Why the stream cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The server or the connection failed.
    #[error("reading the binary log at {at}: {}", super::connect::brief(source))]
    Server {
        /// Where the stream stood.
        at: BinlogPosition,
        /// What the driver reported.
        #[source]
        source: mysql_async::Error,
    },
    /// An event the source cannot read.
    #[error("the binary log event at {at} cannot be read: {reason}")]
    Unreadable {
        /// Where it starts.
        at: BinlogPosition,
        /// What is wrong with it.
        reason: String,
    },
    /// The server closed the stream.
    #[error("the server ended the binary log stream at {at}")]
    Ended {
        /// Where the stream stood.
        at: BinlogPosition,
    },
}

/// The table whose rows are decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedTable {
    /// Its database.
    pub database: String,
    /// Its name.
    pub table: String,
}

/// The server's binary log from a position, as [`SourceEvent`]s.
pub struct ChangeStream {
    events: BinlogStream,
    watched: WatchedTable,
    /// Until the format description event, events keep the checksum the server writes: this
    /// many bytes end the first rotate event's file name.
    unstripped_checksum: usize,
    /// Where the next event starts.
    position: BinlogPosition,
    /// The column descriptions every row image shares: none (see `row_images`).
    no_columns: Arc<[Column]>,
}

impl ChangeStream {
    /// The events of `requested`, which was requested from `from`; rows of `watched` decoded.
    pub fn new(requested: RequestedStream, from: BinlogPosition, watched: WatchedTable) -> Self {
        Self {
            events: requested.events,
            watched,
            unstripped_checksum: if requested.checksummed {
                CHECKSUM_BYTES
            } else {
                0
            },
            position: from,
            no_columns: Arc::from(Vec::new()),
        }
    }

    /// Where the next event starts.
    pub fn position(&self) -> &BinlogPosition {
        &self.position
    }

    /// The next event; waits for the server to write one (a heartbeat comes every second).
    pub async fn next(&mut self) -> Result<SourceEvent, StreamError> {
        let event = match self.events.next().await {
            Some(Ok(event)) => event,
            Some(Err(source)) => {
                return Err(StreamError::Server {
                    at: self.position.clone(),
                    source,
                })
            }
            None => {
                return Err(StreamError::Ended {
                    at: self.position.clone(),
                })
            }
        };
        let header = event.header();
        let read = self
            .read(&event)
            .map_err(|reason| StreamError::Unreadable {
                at: self.position.clone(),
                reason,
            })?;
        let (stream_event, next) = match read {
            Read::Event(stream_event) => (stream_event, self.after(&event)),
            Read::NewFile(next) => (StreamEvent::Skipped, next),
        };
        self.position = next.clone();
        Ok(SourceEvent {
            event: stream_event,
            next,
            written_at: header.timestamp(),
        })
    }

    /// The place after `event` in the current file; an event the server made up for the
    /// stream (its end position 0) leaves the place as it was.
    fn after(&self, event: &Event) -> BinlogPosition {
        match event.header().log_pos() {
            0 => self.position.clone(),
            end => BinlogPosition::new(self.position.file.clone(), u64::from(end)),
        }
    }

    fn read(&mut self, event: &Event) -> Result<Read, String> {
        let kind = event.header().event_type_raw();
        let stream_event = match kind {
            mariadb::GTID => GtidEvent::parse(event.header().server_id(), event.data())
                .map(StreamEvent::Begin)
                .ok_or_else(|| "a GTID event shorter than its fixed part".to_string())?,
            kind if mariadb::COMPRESSED.contains(&kind) => {
                return Err(
                    "it is compressed (log_bin_compress=ON); the binlog source reads \
                     uncompressed events only: SET GLOBAL log_bin_compress=OFF"
                        .into(),
                )
            }
            mariadb::START_ENCRYPTION => {
                return Err("the binary log is encrypted from here on".into())
            }
            _ if kind == EventType::FORMAT_DESCRIPTION_EVENT as u8 => {
                self.unstripped_checksum = 0;
                StreamEvent::Skipped
            }
            _ if kind == EventType::ROTATE_EVENT as u8 => {
                let rotate: RotateEvent<'_> = event.read_event().map_err(|e| e.to_string())?;
                let name = rotate.name_raw();
                let name = name
                    .get(..name.len().saturating_sub(self.unstripped_checksum))
                    .unwrap_or_default();
                return Ok(Read::NewFile(BinlogPosition::new(
                    String::from_utf8_lossy(name),
                    rotate.position(),
                )));
            }
            _ if kind == EventType::XID_EVENT as u8 => StreamEvent::Commit,
            _ if kind == EventType::QUERY_EVENT as u8 => {
                let query: QueryEvent<'_> = event.read_event().map_err(|e| e.to_string())?;
                statement(&query)
            }
            _ if is_rows(kind) => self.rows(event)?,
            _ => StreamEvent::Skipped,
        };
        Ok(Read::Event(stream_event))
    }

    /// A rows event: the watched table's row changes, or `Skipped` for another table's.
    fn rows(&self, event: &Event) -> Result<StreamEvent, String> {
        let Some(EventData::RowsEvent(rows)) = event.read_data().map_err(|e| e.to_string())? else {
            return Err("a rows event that reads as another kind".into());
        };
        let Some(table_map) = self.events.get_tme(rows.table_id()) else {
            return Err(format!(
                "rows of table id {} without its table map",
                rows.table_id()
            ));
        };
        if table_map.database_name() != self.watched.database.as_str()
            || table_map.table_name() != self.watched.table.as_str()
        {
            return Ok(StreamEvent::Skipped);
        }
        let operation = match rows {
            RowsEventData::WriteRowsEventV1(_) | RowsEventData::WriteRowsEvent(_) => {
                Operation::Insert
            }
            RowsEventData::DeleteRowsEventV1(_) | RowsEventData::DeleteRowsEvent(_) => {
                Operation::Delete
            }
            RowsEventData::UpdateRowsEventV1(_)
            | RowsEventData::UpdateRowsEvent(_)
            | RowsEventData::PartialUpdateRowsEvent(_) => Operation::Update,
        };
        let images = row_images(&rows, table_map, &self.no_columns).map_err(|e| e.to_string())?;
        Ok(StreamEvent::Rows(
            images
                .into_iter()
                .map(|(before, after)| RowChange {
                    operation,
                    before,
                    after,
                })
                .collect(),
        ))
    }
}

/// The CRC32 after each event when the server writes checksums.
const CHECKSUM_BYTES: usize = 4;

/// What an event does to the stream.
enum Read {
    Event(StreamEvent),
    /// The stream goes on at this place (a rotate: the next file, or the first one's name).
    NewFile(BinlogPosition),
}

/// A query event: `COMMIT` closes a transaction, `BEGIN` (which MariaDB replaces with its GTID
/// event for this client) is passed over, anything else is a statement.
fn statement(query: &QueryEvent<'_>) -> StreamEvent {
    let text = query.query();
    match text.trim() {
        "COMMIT" => StreamEvent::Commit,
        "BEGIN" => StreamEvent::Skipped,
        _ => StreamEvent::Statement {
            schema: query.schema().into_owned(),
            query: text.into_owned(),
        },
    }
}

/// Rows events, V1 (which MariaDB writes) and V2.
fn is_rows(kind: u8) -> bool {
    [
        EventType::WRITE_ROWS_EVENT_V1,
        EventType::UPDATE_ROWS_EVENT_V1,
        EventType::DELETE_ROWS_EVENT_V1,
        EventType::WRITE_ROWS_EVENT,
        EventType::UPDATE_ROWS_EVENT,
        EventType::DELETE_ROWS_EVENT,
        EventType::PARTIAL_UPDATE_ROWS_EVENT,
    ]
    .iter()
    .any(|rows| *rows as u8 == kind)
}
