//! The binlog source: every committed change of the table, read from MariaDB's row-based binary
//! log rather than polled by timestamp. `snapshot_start` opens the snapshot at a known binary
//! log position, `connect` asks the server for its log from there, `stream` reads its events
//! (`mysql_common`'s decoders, its row images by `row_images`, MariaDB's own events in
//! `mariadb`), `position` says where the
//! source stands.

pub mod cells;
pub mod check;
pub mod connect;
pub mod error;
mod follow;
pub mod image;
pub mod mariadb;
mod open_transaction;
pub mod origin;
pub mod position;
mod probe;
mod queue_change;
pub mod row_images;
mod run;
mod saved;
pub mod snapshot_parts;
mod snapshot_read;
pub mod snapshot_start;
pub mod stream;
mod table_change;
mod unsigned;
pub mod watermark;
