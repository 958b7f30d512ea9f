//! Everything a member needs before its first record: the reader schema, the transform, the
//! output file, the group subscription, Kafka (waited for, with a log line).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, Consumer};
use sluice_common::kafka::{client_config, ensure_topic, TopicError};
use sluice_common::observe::{self, ProcessMetrics, Readiness};
use sluice_common::retry;
use sluice_common::settings::{GroupProtocol, Settings};
use sluice_common::shutdown::Shutdown;
use sluice_registry::{RegistryClient, SchemaFile};

use crate::checkpoint::Checkpoint;
use crate::dead_letters::DeadLetters;
use crate::decode::Decoder;
use crate::member::{Member, MemberContext};
use crate::metrics::ConsumerMetrics;
use crate::sink::JsonlSink;
use crate::transform::Transform;

/// Builds the member, or `None` when shutdown was requested while waiting for Kafka.
pub async fn prepare(settings: &Settings, shutdown: &Shutdown) -> anyhow::Result<Option<Member>> {
    let consumer_settings = &settings.consumer;
    let member = consumer_settings.member.clone();
    let reader = SchemaFile::load(&consumer_settings.reader_schema_file)?;
    let transform = Transform::new(&settings.transform.discounts).map_err(anyhow::Error::msg)?;
    let sink =
        JsonlSink::open(Path::new(&consumer_settings.output_dir), &member).with_context(|| {
            format!(
                "cannot open the output file in {}",
                consumer_settings.output_dir
            )
        })?;
    let registry = RegistryClient::new(&settings.registry)?;
    let (metrics_registry, mut metrics) = ConsumerMetrics::registry(&member)?;
    let process = ProcessMetrics::register(&metrics_registry, &member)?;
    metrics.errors = Some(process.errors.clone());
    let registry_errors = process.errors.with_label_values(&["registry"]);
    let readiness = Readiness::default();
    let address = metrics_address(settings, &member);
    let bound = observe::serve(&address, metrics_registry, process, readiness.clone()).await?;
    tracing::info!("{member}: metrics on http://{bound}/metrics, health on http://{bound}/health");

    let kafka = &settings.kafka;
    let dead_letters = DeadLetters::new(kafka)?;
    let checkpoint = Arc::new(Mutex::new(
        Checkpoint::new(sink, dead_letters).timed_by(metrics.commit_seconds.clone()),
    ));

    let protocol = consumer_settings.group_protocol;
    let mut config = client_config(kafka);
    config.set("group.protocol", protocol.name());
    // Under the consumer protocol the broker sets heartbeats and the session timeout, and
    // assigns; classic members choose theirs.
    if protocol == GroupProtocol::Classic {
        config
            .set("partition.assignment.strategy", "cooperative-sticky")
            .set("session.timeout.ms", "15000");
    }
    let consumer: BaseConsumer<MemberContext> = config
        .set("group.id", &consumer_settings.group_id)
        .set("group.instance.id", &member)
        .set("client.id", format!("sluice-{member}"))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        // Memory: librdkafka keeps fetched records decoded, with an overhead several times the
        // payload of records this small, until they are read. Its defaults (1 MB per partition
        // per fetch, 100 000 records per partition, 64 MB in all) let one member of ten
        // partitions peak above 130 MB; these bound it near 60 MB.
        .set("fetch.message.max.bytes", "262144")
        .set("queued.min.messages", "20000")
        .set("queued.max.messages.kbytes", "16384")
        // Speed: once the queue is at those bounds, fetching pauses for this long. The default
        // second left the member idle for most of each second (a third of today's rate).
        .set("fetch.queue.backoff.ms", "20")
        // Statistics feed the lag gauge (see MemberContext::stats).
        .set("statistics.interval.ms", "5000")
        .create_with_context(MemberContext::new(
            checkpoint.clone(),
            member.clone(),
            metrics.clone(),
            readiness,
        ))?;
    // Subscribing first lets librdkafka join the group while the dead-letter topic is ensured
    // (a fresh admin client, about 0.1 s): the group starts spreading its partitions that much
    // sooner. Partitions are taken up only at the member's first poll, after this.
    consumer.subscribe(&[&kafka.topic])?;
    let what = format!("Kafka at {}", kafka.bootstrap_servers);
    let dead_letter_topic = retry::until_ok(&what, shutdown, || async {
        // An unreachable cluster is waited for; a topic that cannot be used is the outcome.
        match ensure_topic(kafka, &kafka.dlq_topic, kafka.partitions, false).await {
            Err(TopicError::Kafka { source, .. }) => Err(source),
            outcome => Ok(outcome),
        }
    });
    let Some(dead_letter_topic) = dead_letter_topic.await else {
        return Ok(None);
    };
    dead_letter_topic?;
    tracing::info!(
        "{member}: joined group {} on {}, writing {}",
        consumer_settings.group_id,
        kafka.topic,
        Path::new(&consumer_settings.output_dir)
            .join(format!("{member}.jsonl"))
            .display()
    );

    Ok(Some(Member {
        consumer,
        checkpoint,
        decoder: Decoder::new(registry, tokio::runtime::Handle::current(), reader.schema)
            .counting_errors_in(registry_errors),
        transform,
        commit_interval: Duration::from_millis(consumer_settings.commit_interval_ms),
        name: member,
        metrics,
    }))
}

/// `consumer-N` serves on the base port plus N; a base of 0, or a member name without a
/// number, picks a free port.
fn metrics_address(settings: &Settings, member: &str) -> String {
    let base = settings.metrics.consumer_port_base;
    let number: Option<u16> = member.rsplit('-').next().and_then(|n| n.parse().ok());
    let port = match number {
        Some(n) if base > 0 => base.saturating_add(n),
        _ => 0,
    };
    format!("{}:{port}", settings.metrics.host)
}
