//! What exactly once costs: in each full-size run, after the at-least-once snapshot and group,
//! the same table is snapshotted again with `producer.exactly_once` into a topic of its own and
//! read by a fresh group with `consumer.exactly_once`. Each rate is set against the
//! at-least-once one of the same run, so a noisy minute moves both.

use sluice_common::settings::IsolatedRun;

use crate::cli::TABLE;
use crate::context::Bench;
use crate::group::{self, Delivery, GroupRun};
use crate::snapshot::{self, Snapshot};

/// The exactly-once producer and group of one run.
pub struct ExactlyOnceRun {
    /// The producer's snapshot, in transactions.
    pub producer: Snapshot,
    /// The group, each member committing its batches in transactions.
    pub group: GroupRun,
}

/// The names of the exactly-once pipeline of the run tagged `tag`.
pub fn names(bench: &Bench, tag: &str) -> IsolatedRun {
    bench.run_names(TABLE, &format!("exactly-once-{tag}"))
}

/// Snapshots the `rows` rows of the table exactly once and reads them with `members`
/// exactly-once members; the group's files must then hold exactly one line per row.
pub fn run(bench: &Bench, tag: &str, rows: i64, members: u32) -> anyhow::Result<ExactlyOnceRun> {
    let names = names(bench, tag);
    tracing::info!("exactly once: producer snapshot of {rows} rows in transactions");
    let producer = snapshot::producer_exactly_once(bench, &names, rows)?;
    tracing::info!("exactly once: consumer group of {members} over {rows} records");
    let group = group::consume(bench, &names, members, rows, Delivery::ExactlyOnce)?;
    std::fs::remove_dir_all(names.out_dir()).ok();
    Ok(ExactlyOnceRun { producer, group })
}
