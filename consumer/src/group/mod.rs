//! The member's Kafka consumer in its group: made and joined (`joiner`), its rebalance
//! callbacks (`context`), and `fetch_watch` noticing one that receives nothing while
//! `owed_records` says records wait for it (the member then replaces it:
//! `member::consumer_renewal`).

pub mod context;
pub(crate) mod fetch_watch;
pub mod joiner;
pub(crate) mod owed_records;
