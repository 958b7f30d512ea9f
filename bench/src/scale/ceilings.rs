//! The ceilings measured beside a full-size run: Kafka's own producer and consumer perf tools
//! and a keyed librdkafka producer on the same data, so a ratio pairs sluice with the most the
//! machine gives in the same run.

use sluice_common::settings::{Choice, GroupProtocol, IsolatedRun};

use crate::cli::{Cli, TABLE};
use crate::group::{self, Delivery};
use crate::machine::{self, CpuWindow};
use crate::{keyed_ceiling, offsets, perf_test, snapshot};

use super::one_run::{perf_test_purpose, OneRun};

impl OneRun<'_> {
    /// The bare read, `kafka-producer-perf-test` and the keyed producer, each set against the
    /// snapshot of the same run (`producer` its rows per second, `producer_cpu` its CPU seconds
    /// per million rows).
    pub(super) async fn producer_ceilings(
        &mut self,
        names: &IsolatedRun,
        tag: &str,
        rows: i64,
        producer: f64,
        producer_cpu: f64,
    ) -> anyhow::Result<()> {
        let bench = self.bench;
        let state_dir = machine::state_dir(&bench.root);
        tracing::info!("read ceiling: the producer's pages through sqlx, nothing sent");
        let read = snapshot::read_ceiling(bench, TABLE).await?;
        self.push(
            "ceiling.read_rows_per_s",
            "bare read: the producer's pages through sqlx, nothing sent",
            "rows/s",
            read,
        );
        let record_bytes =
            offsets::average_record_bytes(&bench.settings.kafka, &names.topic, 1000)?;
        self.push(
            "producer.record_bytes",
            "average record (key + value)",
            "bytes",
            record_bytes as f64,
        );
        tracing::info!("kafka-producer-perf-test: {rows} records of {record_bytes} bytes");
        let window = CpuWindow::start(&state_dir);
        let perf = perf_test::producer(bench, &perf_test_purpose(tag), rows, record_bytes).await?;
        self.cpu(
            "producer_perf_test",
            "kafka-producer-perf-test",
            window.finish(),
            rows,
        );
        self.push(
            "ceiling.producer_perf_test_rows_per_s",
            "kafka-producer-perf-test",
            "records/s",
            perf.records_per_s,
        );
        tracing::info!("keyed producer ceiling: the snapshot's own {rows} records sent again");
        let sent = keyed_ceiling::run(bench, &names.topic, tag, rows).await?;
        let keyed = sent.records_per_s;
        self.cpu(
            "producer_keyed",
            "keyed producer ceiling (its sends)",
            sent.machine,
            rows,
        );
        let keyed_cpu = sent.own_cpu_seconds * 1e6 / rows as f64;
        self.push(
            "cpu.producer_keyed_seconds_per_million",
            "keyed producer: librdkafka's own CPU per million records, the producer's settings",
            "s",
            keyed_cpu,
        );
        self.ratio(
            "cpu.producer_ratio_to_keyed",
            "producer CPU per row ÷ the keyed producer's (librdkafka alone)",
            producer_cpu,
            keyed_cpu,
        );
        self.push(
            "ceiling.producer_keyed_rows_per_s",
            "keyed producer: the snapshot's own records and keys, the producer's settings",
            "records/s",
            keyed,
        );
        let ceiling = read.min(keyed);
        self.push(
            "ceiling.producer_rows_per_s",
            "producer ceiling: the lower of the bare read and the keyed producer",
            "rows/s",
            ceiling,
        );
        self.ratio(
            "producer.ratio_to_read",
            "producer ÷ bare read",
            producer,
            read,
        );
        self.ratio(
            "producer.ratio_to_perf_test",
            "producer ÷ kafka-producer-perf-test",
            producer,
            perf.records_per_s,
        );
        self.ratio(
            "producer.ratio_to_keyed",
            "producer ÷ keyed producer",
            producer,
            keyed,
        );
        self.ratio(
            "producer.ratio_to_ceiling",
            "producer ÷ lower ceiling",
            producer,
            ceiling,
        );
        Ok(())
    }

    /// One sluice consumer against one `kafka-consumer-perf-test` consumer, both speaking the
    /// members' group protocol: the headline, one against one. The group is set against both,
    /// and the perf-test also runs at its own default, the classic protocol, when that differs.
    pub(super) fn consumer_ceilings(
        &mut self,
        cli: &Cli,
        names: &IsolatedRun,
        rows: i64,
        group: f64,
    ) -> anyhow::Result<()> {
        let bench = self.bench;
        tracing::info!("one consumer over {rows} records");
        let mut single = names.clone();
        single.group = format!("{}-single", names.group);
        single.dir = names.dir.join("single");
        let run = group::consume(bench, &single, 1, rows, Delivery::AtLeastOnce)?;
        std::fs::remove_dir_all(single.out_dir()).ok();
        let one = run.records_per_s;
        self.push(
            "consumer.single_records_per_s",
            "one consumer",
            "records/s",
            one,
        );
        let cpu: f64 = run.usage.iter().map(|u| u.cpu_seconds).sum();
        self.push(
            "cpu.consumer_single_seconds_per_million",
            "one consumer: CPU time per million records",
            "s",
            cpu * 1e6 / rows as f64,
        );
        self.push(
            "rss.consumer_single_mb",
            "one consumer: peak RSS",
            "MiB",
            run.usage.iter().map(|u| u.peak_rss_mb).fold(0.0, f64::max),
        );
        self.ratio(
            "consumer.group_vs_single",
            &format!("{} consumers ÷ one", cli.members),
            group,
            one,
        );

        let protocol = bench.settings.consumer.group_protocol;
        let name = protocol.name();
        tracing::info!("kafka-consumer-perf-test over the same {rows} records, {name} protocol");
        let window = CpuWindow::start(&machine::state_dir(&bench.root));
        let perf = perf_test::consumer(bench, &names.topic, rows, protocol)?;
        self.cpu(
            "consumer_perf_test",
            "kafka-consumer-perf-test",
            window.finish(),
            rows,
        );
        self.push(
            "ceiling.consumer_perf_test_records_per_s",
            &format!("kafka-consumer-perf-test (one consumer, {name} protocol as the members)"),
            "records/s",
            perf.records_per_s,
        );
        self.ratio(
            "consumer.single_ratio_to_perf_test",
            "one consumer ÷ kafka-consumer-perf-test (one consumer): the consumer ceiling",
            one,
            perf.records_per_s,
        );
        self.ratio(
            "consumer.ratio_to_perf_test",
            "consumer group ÷ kafka-consumer-perf-test (one consumer; not a ceiling of a group)",
            group,
            perf.records_per_s,
        );
        if protocol != GroupProtocol::Classic {
            let classic = perf_test::consumer(bench, &names.topic, rows, GroupProtocol::Classic)?;
            self.push(
                "ceiling.consumer_perf_test_classic_records_per_s",
                "kafka-consumer-perf-test at its default, the classic protocol",
                "records/s",
                classic.records_per_s,
            );
            self.ratio(
                "consumer.single_ratio_to_perf_test_classic",
                "one consumer ÷ kafka-consumer-perf-test (classic)",
                one,
                classic.records_per_s,
            );
        }
        Ok(())
    }
}
