//! The producer side of sluice: changed rows of a MySQL table, read in keyset order, published
//! to Kafka as Avro records in the Confluent wire format.
//!
//! One folder per part: `source` reads the table, `poll` is the loop that reads pages and moves
//! the watermark, `encode` turns rows into Avro, `publish` hands records to Kafka, `watermark`
//! keeps the position, `sweep` finds rows deleted outright, `schema` registers the writer schema and follows the
//! table's changes, `binlog` reads every change from the server's binary log instead of polling
//! (`producer.source = "binlog"`); `startup` assembles them.

pub mod binlog;
pub mod check;
pub mod encode;
pub mod error;
pub mod events;
pub mod metrics;
pub mod poll;
pub mod publish;
pub mod reset;
pub mod schema;
pub mod source;
pub mod standby;
pub mod startup;
pub mod sweep;
pub mod watermark;
