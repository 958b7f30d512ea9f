//! The consumer side of sluice: a group member that decodes each record by its writer schema,
//! transforms it and appends it as a JSON line to its own file.

mod background_append;
pub mod batch_commit;
mod blocked_output;
mod change_times;
pub mod check;
pub mod checkpoint;
pub mod crash_point;
pub mod dead_letters;
pub mod decode;
pub mod error;
pub mod events;
mod fetch_watch;
pub mod group_joiner;
pub mod journal;
pub mod json_line;
mod loop_clock;
pub mod member;
pub mod member_context;
pub mod member_lock;
pub mod metrics;
pub mod price;
pub mod recovery;
pub mod render;
mod renewal;
pub mod replay;
pub mod sink;
pub mod startup;
pub mod transform;
