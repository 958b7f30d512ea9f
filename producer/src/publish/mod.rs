//! Everything between an encoded record and Kafka: the client and its pages of records
//! (`publisher`), transactions under exactly-once (`transaction`, with the registration of the
//! transactional id in `transactional_id`), and which failures are tried again
//! (`failure_policy`).

pub mod failure_policy;
pub mod injected_failure;
mod page_tracker;
pub mod publisher;
pub mod transaction;
pub mod transactional_id;

pub use publisher::{publisher_config, PageReport, PageSend, PendingPage, Publisher};
