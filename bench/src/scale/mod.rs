//! The throughput phase at one table size, repeated `--runs` times: the producer's snapshot
//! and the consumer group, and at full size the ceilings beside them and a single consumer.
//! Each run has topics, groups and a watermark of its own; a ratio pairs two figures of the same
//! run, and every figure is reported as the median of its runs with their extremes.

mod ceilings;
mod one_run;

use one_run::{perf_test_purpose, OneRun};

use sluice_common::kafka::delete_topics_starting_with;
use sluice_common::settings::IsolatedRun;

use crate::cli::{Cli, TABLE};
use crate::context::Bench;
use crate::machine;
use crate::report::Results;
use crate::samples::Samples;
use crate::{exactly_once, keyed_ceiling};

/// `cli.runs` runs over a table of `rows` rows: the producer snapshot and the consumer group;
/// with `full`, the ceilings and the single consumer too. Returns the last run's names: its
/// topic and watermark stay for the bulk updates; every earlier run's topics are deleted.
pub async fn run(
    bench: &Bench,
    cli: &Cli,
    rows: i64,
    full: bool,
    results: &mut Results,
) -> anyhow::Result<IsolatedRun> {
    let prefix = if full { "" } else { "growth.small." };
    let mut samples = Samples::default();
    let mut last = None;
    for run in 1..=cli.runs {
        machine::flush_writes();
        let tag = format!("{rows}-{run}");
        tracing::info!("size {rows}, run {run} of {}", cli.runs);
        let names = bench.run_names(TABLE, &format!("snapshot-{tag}"));
        let mut one = OneRun {
            bench,
            samples: &mut samples,
            prefix,
        };
        one.measure(cli, &names, &tag, rows, full).await?;
        if let Some((earlier, earlier_tag)) = last.replace((names, tag)) {
            drop_topics(bench, &earlier, &earlier_tag).await?;
        }
    }
    samples.record(results);
    let (names, _) = last.ok_or_else(|| anyhow::anyhow!("--runs must be at least 1"))?;
    Ok(names)
}

/// Deletes the topics of the run tagged `tag`: a broker holding hundreds of idle partitions
/// from earlier runs spends more on them, and later runs would be timed on a slower broker.
async fn drop_topics(bench: &Bench, names: &IsolatedRun, tag: &str) -> anyhow::Result<()> {
    bench.drop_run_topics(names).await?;
    bench
        .drop_run_topics(&exactly_once::names(bench, tag))
        .await?;
    let run_prefix = bench.topic_prefix();
    for topics in [
        format!("{run_prefix}{}", perf_test_purpose(tag)),
        keyed_ceiling::topic(bench, tag),
    ] {
        delete_topics_starting_with(&bench.settings.kafka, &topics).await?;
    }
    Ok(())
}

/// Cost per row at the small size against the full size: 1.0 is linear.
pub fn growth(results: &mut Results) {
    results.ratio(
        "growth.producer_rate_ratio",
        "producer rows/s, full ÷ small (1 = linear cost)",
        "producer.rows_per_s",
        "growth.small.producer.rows_per_s",
    );
    results.ratio(
        "growth.consumer_rate_ratio",
        "consumer records/s, full ÷ small (1 = linear cost)",
        "consumer.records_per_s",
        "growth.small.consumer.records_per_s",
    );
    results.ratio(
        "growth.producer_rss_ratio",
        "producer peak RSS, full ÷ small",
        "rss.producer_mb",
        "growth.small.rss.producer_mb",
    );
    results.ratio(
        "growth.consumer_rss_ratio",
        "consumer peak RSS, full ÷ small",
        "rss.consumer_mb",
        "growth.small.rss.consumer_mb",
    );
}
