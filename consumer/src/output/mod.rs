//! The member's file: one JSON line per record in `<output_dir>/<member>.jsonl` (`sink`),
//! appended durably beside the loop (`background_append`), waited for while the disk is full
//! (`disk_full`), held by one process at a time (`member_lock`), with the end-to-end latency
//! of its lines (`change_times`).

pub(crate) mod background_append;
pub(crate) mod change_times;
pub(crate) mod disk_full;
pub mod member_lock;
pub mod sink;
