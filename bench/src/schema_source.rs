//! The writer schema built from the table against the schema file: the producer's first
//! snapshot of the benchmark table, once with each, interleaved in `--runs` pairs so a noisy
//! moment moves both of a pair. CPU per million rows of each, and the ratio of each pair. The
//! derived schema writes `last_updated` as a `timestamp-micros` long rather than as text, and
//! both read the table's columns after every page.

use crate::cli::{Cli, TABLE};
use crate::context::Bench;
use crate::machine;
use crate::report::Results;
use crate::samples::Samples;
use crate::snapshot;

/// `cli.runs` pairs of snapshots of the `rows` rows of the benchmark table.
pub async fn run(bench: &Bench, cli: &Cli, rows: i64, results: &mut Results) -> anyhow::Result<()> {
    let mut samples = Samples::default();
    for run in 1..=cli.runs {
        let mut cpu = [0.0; 2];
        for (index, (source, sets)) in [
            ("file", Vec::new()),
            ("table", vec!["producer.schema_from=table".to_owned()]),
        ]
        .into_iter()
        .enumerate()
        {
            machine::flush_writes();
            tracing::info!(
                "schema from the {source}: producer snapshot of {rows} rows, run {run} of {}",
                cli.runs
            );
            let names = bench.run_names(TABLE, &format!("schema-{source}-{run}"));
            let produced = snapshot::producer_with(bench, &names, rows, &sets)?;
            cpu[index] = produced.usage.cpu_seconds * 1e6 / rows as f64;
            samples.push(
                &format!("schema_from_{source}.cpu.producer_seconds_per_million"),
                &format!("schema from the {source}: producer CPU per million rows"),
                "s",
                cpu[index],
            );
            bench.drop_run_topics(&names).await?;
        }
        samples.push_ratio(
            "schema_from_table.cpu_ratio_to_file",
            "producer CPU per row, schema built from the table ÷ schema file (pairs)",
            cpu[1],
            cpu[0],
        );
    }
    samples.record(results);
    Ok(())
}
