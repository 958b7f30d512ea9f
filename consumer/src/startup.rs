//! Everything a member needs before its first record: the reader schema, the transform, the
//! output file, the group subscription, Kafka (waited for, with a log line).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice_common::acls;
use sluice_common::events::ErrorKind;
use sluice_common::kafka::{
    ensure_compacted_topic, ensure_topic, retriable_transaction_error, wait_until_reachable,
};
use sluice_common::observe::{self, ProcessMetrics, Readiness};
use sluice_common::retry::{self, Policy};
use sluice_common::settings::{ReaderSchemaSource, Settings};
use sluice_common::shutdown::Shutdown;
use sluice_registry::{RegistryClient, SchemaFile};

use crate::commit::batch_commit::{batch_topic, BatchCommitter};
use crate::commit::checkpoint::Checkpoint;
use crate::commit::exactly_once::ExactlyOnce;
use crate::commit::journal::Journal;
use crate::commit::replay_committed::replay_lines;
use crate::commit::settle_at_start::{settle_pending_batch, Settled};
use crate::dead_letter_publisher::DeadLetters;
use crate::error::ConsumerError;
use crate::group::joiner::GroupJoiner;
use crate::member::Member;
use crate::metrics::ConsumerMetrics;
use crate::output::member_lock::MemberLock;
use crate::output::segments::{Rolling, SegmentNames};
use crate::output::sink::JsonlSink;
use crate::record::decode::{Decoder, ReaderSchema};
use crate::record::flat::FlatLines;
use crate::record::render::LineRenderer;
use crate::record::transform::Transform;

/// How long reading the batch topic at start may take, a broker coming up included.
const BATCH_TOPIC_PATIENCE: Duration = Duration::from_secs(120);

/// Builds the member, or `None` when shutdown was requested while waiting for Kafka.
pub async fn prepare(
    settings: &Settings,
    shutdown: &Shutdown,
) -> Result<Option<Member>, ConsumerError> {
    let consumer_settings = &settings.consumer;
    let member = consumer_settings.member.clone();
    let lock = MemberLock::acquire(Path::new(&consumer_settings.output_dir), &member)?;
    let transform = Transform::new(
        &settings.transform,
        &settings.producer.key_column,
        &settings.producer.timestamp_column,
    )?;
    let reader = match consumer_settings.reader_schema_from {
        ReaderSchemaSource::File => {
            let schema =
                SchemaFile::load_or_built_in(&consumer_settings.reader_schema_file)?.schema;
            transform.check(&schema)?;
            ReaderSchema::Pinned(schema)
        }
        ReaderSchemaSource::Latest => ReaderSchema::Latest,
    };
    let kafka = &settings.kafka;
    sluice_common::kafka::check_client_configs(kafka)?;
    let registry = RegistryClient::new(&settings.registry)?;
    let mut renderer = LineRenderer {
        decoder: Decoder::new(
            registry,
            tokio::runtime::Handle::current(),
            reader,
            &format!("{}-value", kafka.topic),
        ),
        transform,
        key_field: settings.producer.key_column.clone(),
        flat: FlatLines::default(),
    };
    // Served first: a member waiting for Kafka says so in its metrics, and is not taken for
    // one that is down.
    let (metrics_registry, metrics) = ConsumerMetrics::registry(&member)?;
    let process = ProcessMetrics::register(&metrics_registry, &member)?;
    let readiness = Readiness::default();
    let address = metrics_address(settings, &member);
    let bound = observe::serve(&address, metrics_registry, process, readiness.clone()).await?;
    tracing::info!(
        member = %member,
        "{member}: metrics on http://{bound}/metrics, health on http://{bound}/health"
    );
    match wait_until_reachable(kafka, shutdown).await {
        None => return Ok(None),
        Some(reached) => reached.map_err(|source| ConsumerError::Unreachable {
            member: member.clone(),
            source,
        })?,
    };
    let folder = Path::new(&consumer_settings.output_dir);
    let output_file = |source| ConsumerError::OutputFile {
        folder: folder.to_path_buf(),
        source,
    };
    let rolling = Rolling::from_settings(consumer_settings);
    // The file a batch pending from before was appended to, and the sink goes on with.
    let writing = SegmentNames::new(folder, &member)
        .writing(rolling.is_some())
        .map_err(output_file)?;
    let exactly_once = if consumer_settings.exactly_once {
        match exactly_once(settings, &member, &writing, shutdown, &mut renderer).await? {
            Some(state) => Some(state),
            None => return Ok(None),
        }
    } else {
        None
    };
    let sink = JsonlSink::open_rolling(folder, &member, rolling).map_err(output_file)?;

    let dead_letters = DeadLetters::new(kafka).map_err(ConsumerError::kafka(
        &member,
        "creating the dead-letter producer",
    ))?;
    let mut checkpoint = Checkpoint::new(sink, dead_letters)
        .timed_by(metrics.commit_seconds.clone())
        .latency_into(metrics.end_to_end_seconds.clone())
        .segments_counted_by(metrics.segments_closed.clone());
    if let Some(state) = exactly_once {
        checkpoint = checkpoint.exactly_once(state);
    }
    let checkpoint = Arc::new(Mutex::new(checkpoint));

    let joiner = GroupJoiner {
        client_id: client_id(&member, bound),
        settings: settings.clone(),
        checkpoint: checkpoint.clone(),
        metrics: metrics.clone(),
        readiness,
    };
    // Subscribing first lets librdkafka join the group while the dead-letter topic is ensured
    // (a fresh admin client, about 0.1 s): the group starts spreading its partitions that much
    // sooner. Partitions are taken up only at the member's first poll, after this.
    let consumer = joiner
        .join()
        .map_err(ConsumerError::kafka(&member, "joining the group"))?;
    let what = format!("Kafka at {}", kafka.bootstrap_servers);
    let batch_topic = consumer_settings
        .exactly_once
        .then(|| batch_topic(&consumer_settings.group_id));
    let topics = retry::retry(
        Policy::SERVER,
        ErrorKind::Kafka,
        &what,
        shutdown,
        || async {
            // An unreachable cluster is waited for; a topic that cannot be used is the outcome.
            let dead_letters = ensure_topic(kafka, &kafka.dlq_topic, kafka.partitions, false);
            let batches = async {
                match &batch_topic {
                    Some(topic) => ensure_compacted_topic(kafka, topic).await,
                    None => Ok(()),
                }
            };
            let (dead_letters, batches) = tokio::join!(dead_letters, batches);
            dead_letters.and(batches)
        },
    );
    let Some(topics) = topics.await else {
        return Ok(None);
    };
    topics.map_err(
        |error| match acls::topic_refusal(&acls::consumer(settings), error) {
            Ok(source) => ConsumerError::MissingAcl {
                member: member.clone(),
                source,
            },
            Err(error) => ConsumerError::Topic(error),
        },
    )?;
    tracing::info!(
        member = %member,
        "{member}: joined group {} on {}, writing {}",
        consumer_settings.group_id,
        kafka.topic,
        writing.display()
    );

    Ok(Some(Member {
        consumer,
        joiner,
        checkpoint,
        renderer,
        on_error: consumer_settings.on_error,
        commit_interval: Duration::from_millis(consumer_settings.commit_interval_ms),
        name: member,
        lock,
        metrics,
        refusals: acls::ConsumerRefusals::new(settings),
    }))
}

/// Exactly once: the member's transactional producer, registered with the cluster (which aborts
/// a transaction an earlier instance of this member left open, and fences that instance), and
/// the batch a crash left behind settled before anything is read. The batch topic is ensured
/// later, beside the dead-letter topic while the group forms: a batch can have committed only
/// once that topic existed, so before it exists there is no marker to find. `None` when
/// shutdown was requested while waiting for Kafka.
async fn exactly_once(
    settings: &Settings,
    member: &str,
    file: &Path,
    shutdown: &Shutdown,
    renderer: &mut LineRenderer,
) -> Result<Option<ExactlyOnce>, ConsumerError> {
    let kafka = &settings.kafka;
    // The folder exists: the member's lock is taken in it first.
    let folder = Path::new(&settings.consumer.output_dir);
    let transactional_id = settings.consumer.transactional_id_of(member);
    let committer = BatchCommitter::new(
        kafka,
        &settings.consumer.group_id,
        member,
        transactional_id.clone(),
    )
    .map_err(ConsumerError::kafka(
        member,
        "creating the transactional producer",
    ))?;
    let what = format!("Kafka at {}", kafka.bootstrap_servers);
    let timeout = Duration::from_secs(kafka.request_timeout_secs.max(10));
    let registered = retry::retry_when(
        Policy::SERVER,
        ErrorKind::Kafka,
        &what,
        shutdown,
        || async { tokio::task::block_in_place(|| committer.init(timeout)) },
        retriable_transaction_error,
    );
    let Some(registered) = registered.await else {
        return Ok(None);
    };
    registered.map_err(|source| {
        let acl = acls::member_transactional_ids(&settings.consumer);
        match acls::transactional_id_refusal(acl, &transactional_id, &source) {
            Some(missing) => ConsumerError::MissingAcl {
                member: member.to_owned(),
                source: missing,
            },
            None => ConsumerError::TransactionalIdRefused {
                member: member.to_owned(),
                source,
            },
        }
    })?;
    let journal = Journal::new(folder, member);
    let settled = tokio::task::block_in_place(|| {
        settle_pending_batch(
            &journal,
            file,
            || committer.last_batch(BATCH_TOPIC_PATIENCE),
            |ranges| replay_lines(kafka, ranges, renderer),
        )
    })
    .map_err(|source| ConsumerError::Settle {
        member: member.to_owned(),
        journal: journal.path().to_path_buf(),
        source: Box::new(source),
    })?;
    match settled {
        Settled::Nothing => {}
        Settled::Appended { batch, bytes } => tracing::info!(
            member = %member,
            "{member}: batch {batch} was committed before the last stop; its records were read \
             again and their {bytes} bytes of lines are now in {}",
            file.display()
        ),
        Settled::Dropped { batch } => tracing::info!(
            member = %member,
            "{member}: batch {batch} was not committed before the last stop; dropped, its \
             records are read again"
        ),
    }
    tracing::info!(
        member = %member,
        "{member}: exactly once: a line is written only once its offset is committed (markers in \
         {})",
        committer.topic()
    );
    Ok(Some(ExactlyOnce::new(journal, committer)))
}

/// The member's `client.id`: `sluice-<member>@<metrics address>`, so that the group's
/// description (`kafka-consumer-groups --describe --members`) says where each member's metrics
/// are, wherever it runs (`make status` reads it). A member serving on every interface says
/// only its port (`sluice-consumer-3@:9653`): its host is the one the broker sees.
pub fn client_id(member: &str, metrics: std::net::SocketAddr) -> String {
    if metrics.ip().is_unspecified() {
        format!("sluice-{member}@:{}", metrics.port())
    } else {
        format!("sluice-{member}@{metrics}")
    }
}

/// A member's own `metrics.consumer_port` when set; else `consumer-N` serves on the base port
/// plus N, and a base of 0, or a member name without a number, picks a free port.
fn metrics_address(settings: &Settings, member: &str) -> String {
    let metrics = &settings.metrics;
    let number: Option<u16> = member.rsplit('-').next().and_then(|n| n.parse().ok());
    let port = match (metrics.consumer_port, number) {
        (fixed, _) if fixed > 0 => fixed,
        (_, Some(n)) if metrics.consumer_port_base > 0 => {
            metrics.consumer_port_base.saturating_add(n)
        }
        _ => 0,
    };
    format!("{}:{port}", metrics.host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_serves_on_its_own_port_or_the_base_plus_its_number() {
        let mut settings = Settings::default();
        assert_eq!(metrics_address(&settings, "consumer-3"), "127.0.0.1:9653");
        assert_eq!(metrics_address(&settings, "reporting"), "127.0.0.1:0");
        settings.metrics.consumer_port = 9650;
        assert_eq!(metrics_address(&settings, "consumer-3"), "127.0.0.1:9650");
        assert_eq!(
            metrics_address(&settings, "sluice-consumer-0"),
            "127.0.0.1:9650"
        );
        settings.metrics.consumer_port = 0;
        settings.metrics.consumer_port_base = 0;
        assert_eq!(metrics_address(&settings, "consumer-3"), "127.0.0.1:0");
    }

    #[test]
    fn the_client_id_says_where_the_metrics_are() {
        let local = "127.0.0.6:40123".parse().expect("address");
        assert_eq!(
            client_id("consumer-7", local),
            "sluice-consumer-7@127.0.0.6:40123"
        );
        let everywhere = "0.0.0.0:9653".parse().expect("address");
        assert_eq!(
            client_id("consumer-3", everywhere),
            "sluice-consumer-3@:9653"
        );
        let v6 = "[::1]:9651".parse().expect("address");
        assert_eq!(client_id("consumer-1", v6), "sluice-consumer-1@[::1]:9651");
    }
}
