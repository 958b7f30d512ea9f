//! The producer side of sluice: changed rows of a MySQL table, read in keyset order, published
//! to Kafka as Avro records in the Confluent wire format.

pub mod avro_binary;
pub mod check;
pub mod client_failure;
pub mod delete_sweep;
pub mod encode;
pub mod error;
pub mod events;
pub mod failure;
pub mod key_checkpoint;
pub mod loadgen;
pub mod metrics;
pub mod page_reader;
pub mod pipeline;
pub mod progress;
pub mod publish;
pub mod published_keys;
pub mod reset;
pub mod source;
pub mod standby;
pub mod startup;
mod sweep_publish;
pub mod transaction;
pub mod transactional_id;
pub mod watermark_saver;
pub mod watermark_topic;
