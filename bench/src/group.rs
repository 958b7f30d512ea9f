//! The consumer group reading a whole topic: timed from the start of the members until every
//! record's line is written and its offset committed.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::context::Bench;
use crate::offsets::CommitWatch;
use crate::process::{Measured, Usage};
use sluice_common::settings::IsolatedRun;

const PATIENCE: Duration = Duration::from_secs(600);
const STOP_PATIENCE: Duration = Duration::from_secs(30);

/// How the group did.
#[derive(Debug, Clone)]
pub struct GroupRun {
    /// From the first member's start until the last offset was committed.
    pub seconds: f64,
    /// From the first member's start until every member had been assigned partitions, as
    /// their logs say: process starts and the partitions spreading over the group.
    pub join_seconds: Option<f64>,
    /// Records per second over that time.
    pub records_per_s: f64,
    /// What each member used.
    pub usage: Vec<Usage>,
}

/// How the members deliver, and so how the bench tells they are done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Every record has its line at least once; the topic holds records only.
    AtLeastOnce,
    /// `consumer.exactly_once` over a topic written in transactions: exactly one line each.
    ExactlyOnce,
}

/// [`consume`] at least once, the files then removed; the group's rate and the members'
/// highest peak RSS added to `samples` as `<prefix>.consumer.records_per_s` and
/// `<prefix>.rss.consumer_mb`, each label starting with `what`.
pub fn consume_into(
    bench: &Bench,
    names: &IsolatedRun,
    members: u32,
    records: i64,
    samples: &mut crate::samples::Samples,
    (prefix, what): (&str, &str),
) -> anyhow::Result<()> {
    tracing::info!("{what}: consumer group of {members} over {records} records");
    let group = consume(bench, names, members, records, Delivery::AtLeastOnce)?;
    std::fs::remove_dir_all(names.out_dir()).ok();
    samples.push(
        &format!("{prefix}.consumer.records_per_s"),
        &format!("{what}: consumer group throughput"),
        "records/s",
        group.records_per_s,
    );
    samples.push(
        &format!("{prefix}.rss.consumer_mb"),
        &format!("{what}: highest peak RSS of the members"),
        "MiB",
        group
            .usage
            .iter()
            .map(|u| u.peak_rss_mb)
            .fold(0.0, f64::max),
    );
    Ok(())
}

/// Starts `members` consumers in a fresh group over `names.topic`, waits until they have
/// committed all `records`, stops them and checks every record has its line (exactly once:
/// done when the commits reach every partition's last commit marker, and then the files must
/// hold exactly `records` lines).
pub fn consume(
    bench: &Bench,
    names: &IsolatedRun,
    members: u32,
    records: i64,
    delivery: Delivery,
) -> anyhow::Result<GroupRun> {
    std::fs::create_dir_all(&names.dir)?;
    let watch = CommitWatch::new(&bench.settings.kafka, &names.group, &names.topic)?;
    let mut overrides = names.overrides();
    if delivery == Delivery::ExactlyOnce {
        overrides.push("consumer.exactly_once=true".into());
    }
    let started = Instant::now();
    let mut processes = Vec::new();
    let mut logs = Vec::new();
    for n in 1..=members {
        let mut command = bench.sluice("sluice-consumer", &overrides)?;
        command.arg("--member").arg(n.to_string());
        let log = names.dir.join(format!("consumer-{n}.log"));
        processes.push(Measured::spawn(&format!("consumer-{n}"), command, &log)?);
        logs.push(log);
    }
    let deadline = started + PATIENCE;
    let mut joined = None;
    loop {
        if joined.is_none() && logs.iter().all(|log| has_partitions(log)) {
            joined = Some(started.elapsed().as_secs_f64());
        }
        let done = match delivery {
            Delivery::AtLeastOnce => watch.committed()? >= records,
            Delivery::ExactlyOnce => watch.covers_transactional_topic()?,
        };
        if done {
            break;
        }
        crate::process::ensure_running(&mut processes)?;
        anyhow::ensure!(
            Instant::now() < deadline,
            "the group did not commit {records} records within {PATIENCE:?}; see {}",
            names.dir.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let elapsed = started.elapsed();
    let usage = processes
        .into_iter()
        .map(|p| p.stop(STOP_PATIENCE))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let lines = count_lines(&names.out_dir())?;
    match delivery {
        Delivery::AtLeastOnce => anyhow::ensure!(
            lines >= records as u64,
            "{records} records committed but only {lines} lines written in {}",
            names.out_dir().display()
        ),
        Delivery::ExactlyOnce => anyhow::ensure!(
            lines == records as u64,
            "{records} records committed exactly once but {lines} lines written in {}",
            names.out_dir().display()
        ),
    }
    Ok(GroupRun {
        seconds: elapsed.as_secs_f64(),
        join_seconds: joined,
        records_per_s: records as f64 / elapsed.as_secs_f64(),
        usage,
    })
}

/// Whether the member logging to `log` has been assigned partitions (its rebalance callback
/// logs `<member>: assigned [3,8]; …`), whatever group protocol it speaks.
fn has_partitions(log: &Path) -> bool {
    std::fs::read_to_string(log).is_ok_and(|text| {
        text.split(": assigned [")
            .skip(1)
            .any(|after| after.starts_with(|c: char| c.is_ascii_digit()))
    })
}

/// Lines in every member's file of `folder` (`*.jsonl`: not a batch left pending).
pub fn count_lines(folder: &Path) -> anyhow::Result<u64> {
    let mut lines = 0;
    for entry in std::fs::read_dir(folder)? {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "jsonl") {
            continue;
        }
        let bytes = std::fs::read(path)?;
        lines += bytes.iter().filter(|&&b| b == b'\n').count() as u64;
    }
    Ok(lines)
}
