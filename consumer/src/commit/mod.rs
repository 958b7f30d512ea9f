//! Making a member's lines and offsets durable together: the checkpoint of what was written
//! (`checkpoint`), the exactly-once batch (`journal`, `batch_commit`), and what a start settles
//! after a crash (`settle_at_start`, `replay_committed`). The invariant is stated in
//! `checkpoint`.

pub mod batch_commit;
pub mod checkpoint;
pub mod commit_error;
pub mod exactly_once;
pub mod journal;
pub(crate) mod offsets;
pub mod replay_committed;
pub mod settle_at_start;
