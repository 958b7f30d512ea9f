//! The member's Kafka consumer in its group: made and joined (`joiner`), its rebalance
//! callbacks (`context`), and replaced when it cannot go on (`consumer_renewal`, with
//! `fetch_watch` noticing one that receives nothing).

pub mod consumer_renewal;
pub mod context;
pub(crate) mod fetch_watch;
pub mod joiner;
