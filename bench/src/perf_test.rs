//! Kafka's own ceilings on this machine: `kafka-producer-perf-test` and
//! `kafka-consumer-perf-test`, from the same jars as the broker, with the producer's settings.

use anyhow::Context as _;

use crate::context::Bench;
use sluice_common::settings::{Choice, GroupProtocol};

/// What a perf tool reported.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ceiling {
    /// Records per second over the whole run, as the tool counts it.
    pub records_per_s: f64,
}

/// Sends `records` records of `record_bytes` each to a fresh topic named `purpose`, with
/// the partitions, acks, idempotence, compression, linger and batch size of sluice's producer.
pub async fn producer(
    bench: &Bench,
    purpose: &str,
    records: i64,
    record_bytes: usize,
) -> anyhow::Result<Ceiling> {
    let topic = format!("{}{purpose}", bench.topic_prefix());
    let kafka = &bench.settings.kafka;
    sluice_common::kafka::ensure_topic(kafka, &topic, kafka.partitions, true).await?;
    let producer = &bench.settings.producer;
    let props = [
        "acks=all".to_owned(),
        "enable.idempotence=true".to_owned(),
        format!("compression.type={}", producer.compression),
        format!("linger.ms={}", producer.linger_ms),
        // sluice's producer gives librdkafka up to 1 MB per batch.
        "batch.size=1000000".to_owned(),
    ];
    let mut args = vec![
        "producer-perf-test".to_owned(),
        "--topic".to_owned(),
        topic,
        "--num-records".to_owned(),
        records.to_string(),
        "--record-size".to_owned(),
        record_bytes.to_string(),
        "--throughput".to_owned(),
        "-1".to_owned(),
        "--bootstrap-server".to_owned(),
        kafka.bootstrap_servers.clone(),
        // One flag followed by every property: repeating the flag keeps only the last.
        "--command-property".to_owned(),
    ];
    args.extend(props);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = bench.kafka_tool(&args)?;
    parse_producer(&output)
        .with_context(|| format!("unexpected producer-perf-test output:\n{output}"))
}

/// Deletes the topic [`producer`] wrote for `purpose`.
pub async fn drop_topic(bench: &Bench, purpose: &str) -> anyhow::Result<()> {
    let topic = format!("{}{purpose}", bench.topic_prefix());
    sluice_common::kafka::delete_topics_starting_with(&bench.settings.kafka, &topic).await?;
    Ok(())
}

/// Reads `records` records of `topic` with one consumer in a fresh group that speaks
/// `group_protocol` (the tool's default is the classic one).
pub fn consumer(
    bench: &Bench,
    topic: &str,
    records: i64,
    group_protocol: GroupProtocol,
) -> anyhow::Result<Ceiling> {
    let name = group_protocol.name();
    let group = format!("{topic}-perf-test-{name}");
    let protocol = format!("group.protocol={name}");
    let output = bench.kafka_tool(&[
        "consumer-perf-test",
        "--bootstrap-server",
        &bench.settings.kafka.bootstrap_servers,
        "--topic",
        topic,
        "--num-records",
        &records.to_string(),
        "--group",
        &group,
        "--timeout",
        "60000",
        "--command-property",
        &protocol,
    ])?;
    parse_consumer(&output)
        .with_context(|| format!("unexpected consumer-perf-test output:\n{output}"))
}

/// The summary line: `1000000 records sent, 252844.5 records/sec (14.47 MB/sec), …`.
fn parse_producer(output: &str) -> Option<Ceiling> {
    let line = output
        .lines()
        .rev()
        .find(|l| l.contains(" records sent, "))?;
    let rate = line.split(", ").nth(1)?.split_whitespace().next()?;
    Some(Ceiling {
        records_per_s: rate.parse().ok()?,
    })
}

/// The CSV under the header: `nMsg.sec` counts from start (group join included) to the last
/// record, as sluice's consumers are timed.
fn parse_consumer(output: &str) -> Option<Ceiling> {
    let mut lines = output.lines().skip_while(|l| !l.starts_with("start.time"));
    let header: Vec<&str> = lines.next()?.split(',').map(str::trim).collect();
    let values: Vec<&str> = lines.next()?.split(',').map(str::trim).collect();
    let column = header.iter().position(|h| *h == "nMsg.sec")?;
    Some(Ceiling {
        records_per_s: values.get(column)?.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn producer_summary_is_parsed() {
        let output = "1000 records sent, 900.0 records/sec\n\
            200000 records sent, 252844.500632 records/sec (14.47 MB/sec), 32.32 ms avg latency, 241.00 ms max latency, 32 ms 50th, 54 ms 95th, 58 ms 99th, 62 ms 99.9th.\n";
        assert_eq!(
            parse_producer(output),
            Some(Ceiling {
                records_per_s: 252844.500632
            })
        );
    }

    #[test]
    fn consumer_csv_is_parsed_by_header() {
        let output = "Warning: something\n\
            start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n\
            2026-11-25 21:39:38:088, 2026-11-25 21:39:39:631, 11.4441, 7.4168, 200000, 129617.6280, 1223, 320, 35.7628, 625000.0000\n";
        assert_eq!(
            parse_consumer(output),
            Some(Ceiling {
                records_per_s: 129617.628
            })
        );
        assert_eq!(parse_consumer("no header"), None);
    }
}
