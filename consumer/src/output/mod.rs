//! The member's file: one JSON line per record in `<output_dir>/<member>.jsonl` (`sink`), or in
//! segments closed by size and age for loaders to pick up (`segments`),
//! appended durably beside the loop (`background_append`), held by one process at a time
//! (`member_lock`), with the end-to-end latency of its lines (`change_times`). The member
//! waits for it while the disk is full (`member::disk_full`).

pub(crate) mod background_append;
pub(crate) mod change_times;
pub mod member_lock;
pub mod segments;
pub mod sink;
