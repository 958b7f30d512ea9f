//! The producer's Kafka ceiling with sluice's own bytes: the snapshot's records, keys and values
//! as the producer wrote them, read back from its topic and sent again to a fresh topic by
//! librdkafka with the producer's own client settings (`publisher_config`), with nothing read
//! from the database or encoded. It does what the producer does on Kafka's side and nothing else,
//! so the producer cannot beat it by more than noise: an upper bound, unlike a perf-test of
//! keyless records of an average size. Its CPU is counted over the sends alone (the reading back
//! before them is not): the bench process's own, which is then librdkafka's cost of these records
//! with the producer's settings and nothing else, and the whole machine's.

use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use sluice_producer::publish::publisher_config;

use crate::context::Bench;
use crate::machine::{self, CpuShare, CpuWindow};
use crate::offsets;

/// Reading the records back, and sending them, must each finish within this.
const PATIENCE: Duration = Duration::from_secs(300);

/// The topic the run tagged `tag` sends to.
pub fn topic(bench: &Bench, tag: &str) -> String {
    format!("{}keyed-ceiling-{tag}", bench.topic_prefix())
}

/// What sending the records again took.
pub struct KeyedCeiling {
    /// Records sent per second, from the first send to the last acknowledgement.
    pub records_per_s: f64,
    /// The bench process's CPU seconds over the same span: librdkafka's, as nothing else runs in
    /// it meanwhile.
    pub own_cpu_seconds: f64,
    /// The whole machine's over the same span.
    pub machine: CpuShare,
}

/// Sends the first `rows` records of `topic` again, keyed as they are, to the topic of the run
/// tagged `tag`.
pub async fn run(bench: &Bench, topic: &str, tag: &str, rows: i64) -> anyhow::Result<KeyedCeiling> {
    let kafka = &bench.settings.kafka;
    let wanted = usize::try_from(rows)?;
    let records = offsets::read_records(kafka, topic, wanted, PATIENCE)?;
    anyhow::ensure!(
        records.len() == wanted,
        "read back {} of {rows} records of {topic}",
        records.len()
    );
    let target = self::topic(bench, tag);
    sluice_common::kafka::ensure_topic(kafka, &target, kafka.partitions, true).await?;
    let producer: BaseProducer = publisher_config(kafka, &bench.settings.producer).create()?;
    let own_cpu = || {
        own_cpu_seconds().ok_or_else(|| {
            anyhow::anyhow!("the bench's own CPU time cannot be read from /proc/self/task")
        })
    };
    let window = CpuWindow::start(&machine::state_dir(&bench.root));
    let cpu_before = own_cpu()?;
    let started = Instant::now();
    for (key, value) in &records {
        let mut record = BaseRecord::to(&target).key(key).payload(value);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    producer.poll(Duration::from_millis(1));
                }
                Err((error, _)) => return Err(error.into()),
            }
        }
    }
    producer.flush(PATIENCE)?;
    let seconds = started.elapsed().as_secs_f64();
    let own_cpu_seconds = own_cpu()? - cpu_before;
    let machine = window.finish();
    let published = offsets::records_in(kafka, &target)?;
    anyhow::ensure!(
        published == rows,
        "the keyed ceiling published {published} of {rows} records into {target}"
    );
    Ok(KeyedCeiling {
        records_per_s: rows as f64 / seconds,
        own_cpu_seconds,
        machine,
    })
}

/// The CPU seconds every thread of this process has run so far, to the nanosecond: the first
/// field of each `/proc/self/task/*/schedstat`. A thread that ended is no longer counted, so a
/// span measured with it must keep its threads (the producer's are made before and dropped
/// after). `/proc/self/stat` counts in clock ticks, too coarse for a smoke run's few records.
fn own_cpu_seconds() -> Option<f64> {
    let mut nanos: u64 = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        // A thread that ended since the listing has nothing left to count.
        let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        nanos += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(nanos as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_own_cpu_time_grows_with_the_work_done() {
        let before = own_cpu_seconds().expect("/proc/self/task is readable");
        let started = Instant::now();
        let mut sum = 0u64;
        while started.elapsed() < Duration::from_millis(20) {
            sum = std::hint::black_box(sum.wrapping_add(1));
        }
        let spent = own_cpu_seconds().expect("readable again") - before;
        assert!(
            (0.005..5.0).contains(&spent),
            "20 ms of work counted as {spent} s"
        );
    }
}
