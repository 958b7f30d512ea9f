//! The consumer side of sluice: a group member that decodes each record by its writer schema,
//! transforms it and appends it as a JSON line to its own file.
//!
//! One folder per part: `group` is the member's Kafka consumer in its group, `record` turns a
//! record into its line, `output` is the member's file, `commit` makes lines and offsets durable
//! together; `member` is the loop that ties them, `startup` assembles them. `crash_point` lets
//! tests stop a member inside a commit or a roll.

pub mod check;
pub mod commit;
pub mod crash_point;
pub mod dead_letter_publisher;
pub mod error;
pub mod events;
pub mod group;
mod loop_clock;
pub mod member;
pub mod metrics;
pub mod output;
pub mod record;
pub mod startup;
