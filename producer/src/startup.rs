//! Everything the producer needs before its first page, in order: the writer schema, its metrics
//! endpoint, its Kafka producer (which connects in the background), MySQL and the column plan,
//! then the topics and the registry side by side (the registry's storage may be that same
//! Kafka). A server that is not there yet is waited for, with a log line saying what is
//! awaited; a configuration that can never work stops the producer with a message naming it.

use sluice_common::events::{ErrorKind, Event};
use sluice_common::observe::{self, ProcessMetrics, Readiness};
use sluice_common::retry::{self, Policy};
use sluice_common::settings::{ChangeSource, KafkaSettings, Settings};
use sluice_common::shutdown::Shutdown;
use sluice_common::{acls, kafka, mysql};
use sluice_registry::RegistryClient;

use crate::binlog::error::BinlogError;
use crate::encode::RecordEncoder;
use crate::error::ProducerError;
use crate::events::{Publishing, SchemaInUse};
use crate::metrics::ProducerMetrics;
use crate::poll::progress::Progress;
use crate::poll::Pipeline;
use crate::publish::transaction::Transactions;
use crate::publish::transactional_id::init_transactions;
use crate::publish::Publisher;
use crate::schema::follower::SchemaFollower;
use crate::schema::registration::register;
use crate::source::key::KeyKind;
use crate::source::plan::{keyset_index_statement, SourcePlan, TimestampColumn};
use crate::source::writer_schema::WriterSchema;
use crate::standby::ProducerLock;
use crate::sweep::key_checkpoint::KeyCheckpoint;
use crate::sweep::DeleteSweep;
use crate::watermark::topic::WatermarkTopic;
use crate::watermark::WatermarkStore;

/// Connections kept small: one page query at a time.
const MYSQL_CONNECTIONS: u32 = 2;

/// Builds the pipeline, or `None` when shutdown was requested while waiting for a server.
pub async fn prepare(
    settings: &Settings,
    shutdown: &Shutdown,
) -> Result<Option<Pipeline>, ProducerError> {
    let writer = WriterSchema::from_settings(&settings.producer)?;
    sluice_common::kafka::check_client_configs(&settings.kafka)?;
    let metrics_registry = prometheus::Registry::new();
    let process = ProcessMetrics::register(&metrics_registry, "producer")?;
    let metrics = ProducerMetrics::register(&metrics_registry)?;
    let readiness = Readiness::default();
    let address = format!(
        "{}:{}",
        settings.metrics.host, settings.metrics.producer_port
    );
    let bound = observe::serve(&address, metrics_registry, process, readiness.clone()).await?;
    tracing::info!(
        address = %bound,
        "metrics on http://{bound}/metrics, health on http://{bound}/health"
    );
    // Created first: it connects and obtains its producer id while the rest is prepared.
    let transactional_id = settings.producer.exactly_once.then(|| {
        settings
            .producer
            .transactional_id_for(&settings.kafka.topic)
    });
    let mut publisher = Publisher::new(
        &settings.kafka,
        &settings.producer,
        transactional_id.as_deref(),
    )
    .map_err(ProducerError::kafka("creating the Kafka producer"))?;
    let mysql_settings = &settings.mysql;
    let what = format!("MySQL at {}:{}", mysql_settings.host, mysql_settings.port);
    // Waited for while the server does not answer; a refusal (the login, the database, the
    // certificate) stops the producer with its fix.
    let Some(pool) = retry::retry(Policy::SERVER, ErrorKind::Mysql, &what, shutdown, || {
        mysql::connect(mysql_settings, MYSQL_CONNECTIONS)
    })
    .await
    else {
        return Ok(None);
    };
    let pool = pool.map_err(Box::new)?;

    let table = format!("{}.{}", mysql_settings.database, mysql_settings.table);
    let (key_column, timestamp_column) = (
        &settings.producer.key_column,
        &settings.producer.timestamp_column,
    );
    let source = SourcePlan::discover(
        &pool,
        &mysql_settings.database,
        &mysql_settings.table,
        &writer,
        key_column,
        TimestampColumn::of(&settings.producer),
        settings.producer.deleted_column(),
    )
    .await
    .map_err(|source| ProducerError::Source {
        schema: writer.describe(&table),
        source,
    })?;
    let polled = settings.producer.source == ChangeSource::Timestamp;
    if polled && source.keyset_index.is_none() {
        tracing::warn!(
            "table {table} has no index on ({timestamp_column}, {key_column}): every page of \
             changes reads the whole table; create one with {}",
            keyset_index_statement(&mysql_settings.table, timestamp_column, key_column)
        );
    }

    let kafka_settings = &settings.kafka;
    let kafka_what = format!("Kafka at {}", kafka_settings.bootstrap_servers);
    let topics_ready = retry::retry(
        Policy::SERVER,
        ErrorKind::Kafka,
        &kafka_what,
        shutdown,
        || async {
            // An unreachable cluster is retried; a topic that cannot be used is the outcome.
            // Both are checked (or created) at once: creating one waits for the controller.
            let partitions = kafka_settings.partitions;
            let watermark_topic = async {
                match transactional_id {
                    Some(_) => {
                        let topic = kafka_settings.watermark_topic_name();
                        kafka::ensure_compacted_topic(kafka_settings, &topic).await
                    }
                    None => Ok(()),
                }
            };
            let (records, dead_letters, watermarks) = futures::future::join3(
                kafka::ensure_records_topic(kafka_settings),
                kafka::ensure_topic(kafka_settings, &kafka_settings.dlq_topic, partitions, false),
                watermark_topic,
            )
            .await;
            records.and(dead_letters).and(watermarks)
        },
    );

    let registry = RegistryClient::new(&settings.registry).map_err(ProducerError::Registry)?;
    let subject = format!("{}-value", settings.kafka.topic);
    let level = settings.producer.compatibility;
    let schema_file = source.schema.clone();
    let schema_text = schema_file.registered_text();
    let registry_what = format!("the schema registry at {}", settings.registry.url);
    let registration = retry::retry(
        Policy::SERVER,
        ErrorKind::Registry,
        &registry_what,
        shutdown,
        || register(&registry, &subject, level, &schema_text, &metrics),
    );
    // Topics and schema do not depend on each other: each waits for its own server.
    let (topics_ready, registration) = tokio::join!(topics_ready, registration);
    let Some(topics) = topics_ready else {
        return Ok(None);
    };
    topics.map_err(
        |error| match acls::topic_refusal(&acls::producer(settings), error) {
            Ok(missing) => ProducerError::MissingAcl(missing),
            Err(error) => ProducerError::Topic(error),
        },
    )?;
    let Some(registered) = registration else {
        return Ok(None);
    };
    let schema_id = registered.map_err(|source| ProducerError::Registration {
        schema: schema_file.path.clone(),
        subject: subject.clone(),
        source,
    })?;
    SchemaInUse {
        schema: &schema_file.path,
        subject: &subject,
        schema_id,
        gauge: &metrics.schema_id,
    }
    .emit();

    let lock = match (&transactional_id, settings.producer.standby) {
        (Some(id), true) => match stand_by(kafka_settings, id, shutdown, &readiness).await? {
            Some(lock) => Some(lock),
            None => return Ok(None),
        },
        _ => None,
    };
    Publishing {
        active: &metrics.active,
    }
    .emit();
    let transactions = match &transactional_id {
        Some(id) => {
            let Some(()) = init_transactions(&publisher, kafka_settings, id, shutdown).await?
            else {
                return Ok(None);
            };
            Some(Transactions::new(WatermarkTopic::new(kafka_settings, id)))
        }
        None => None,
    };
    let record_limit = record_limit(kafka_settings).await;
    let encoder = RecordEncoder::new(source.columns, schema_id);
    let follower = SchemaFollower {
        writer,
        registry,
        subject,
        level,
        database: mysql_settings.database.clone(),
        table: mysql_settings.table.clone(),
        key_column: key_column.clone(),
        timestamp_column: timestamp_column.clone(),
        timestamp_required: polled,
        deleted_column: settings.producer.deleted_column().map(str::to_owned),
        current: source.schema,
        current_id: schema_id,
        catalogue: source.catalogue,
    };
    let store = WatermarkStore::new(&settings.producer.watermark_file);
    let binlog = settings.producer.source == ChangeSource::Binlog;
    if binlog && !source.snapshot_by_key {
        return Err(BinlogError::Unsupported(format!(
            "producer.source = \"binlog\" reads its snapshot by the primary key: {} is not the \
             primary key of {table}",
            settings.producer.key_column
        ))
        .into());
    }
    // The binary log carries every delete: no sweep for them.
    let sweep = match binlog {
        true => None,
        false => delete_sweep(settings, source.snapshot_by_key, source.key_kind, &table)?,
    };
    publisher.report_deliveries_to(
        sweep
            .as_ref()
            .and_then(|sweep| sweep.deliveries(&settings.kafka.topic)),
    );
    Ok(Some(Pipeline {
        pool,
        query: source.query,
        encoder,
        publisher,
        store,
        transactions,
        settings: settings.producer.clone(),
        table,
        progress: Progress::default(),
        metrics,
        database_now: None,
        last_bound: None,
        snapshot_by_key: source.snapshot_by_key,
        timestamp_digits: source.timestamp_digits,
        record_limit,
        readiness,
        kafka: kafka_settings.clone(),
        sweep,
        lock,
        acls: acls::producer(settings),
        mysql: settings.mysql.clone(),
        follower,
    }))
}

/// Joins the producers of `transactional_id` and waits until this one holds their lock (see
/// `standby`); `None` when shutdown came first. Standing by is this producer's work while
/// another publishes: it reports ready meanwhile (a Kubernetes rollout of an active and a
/// standby producer completes), and not ready from taking the lock until it publishes.
async fn stand_by(
    kafka: &KafkaSettings,
    transactional_id: &str,
    shutdown: &Shutdown,
    readiness: &Readiness,
) -> Result<Option<ProducerLock>, ProducerError> {
    let lock = ProducerLock::join(kafka, transactional_id).map_err(ProducerError::kafka(
        format!("joining the producers of transactional.id `{transactional_id}`"),
    ))?;
    tracing::info!(
        group = %lock.group,
        "standing by: waiting for the lock of group {} (held by the producer that publishes)",
        lock.group
    );
    readiness.set(true);
    let acquired = lock.acquire(shutdown).await;
    readiness.set(false);
    if !acquired {
        return Ok(None);
    }
    tracing::info!(
        group = %lock.group,
        "active: this producer holds the lock of group {} and publishes",
        lock.group
    );
    Ok(Some(lock))
}

/// The sweep for rows deleted outright, when it is on and the key is the table's primary key
/// (the sweep reads the primary key's range).
fn delete_sweep(
    settings: &Settings,
    key_is_primary: bool,
    kind: KeyKind,
    table: &str,
) -> Result<Option<DeleteSweep>, ProducerError> {
    let Some(interval) = settings.producer.delete_sweep_interval() else {
        return Ok(None);
    };
    if !key_is_primary {
        tracing::warn!(
            "{} is not the primary key of {table}: rows deleted outright are not found (the              sweep reads the primary key); set producer.delete_sweep_interval_secs = 0 to say              so, or producer.deleted_column for soft deletes",
            settings.producer.key_column
        );
        return Ok(None);
    }
    let checkpoint = KeyCheckpoint::beside(
        std::path::Path::new(&settings.producer.watermark_file),
        &settings.kafka.topic,
        kind,
    );
    Ok(Some(DeleteSweep::new(interval, checkpoint, kind)))
}

/// The largest record (key and value) the topic takes: its `max.message.bytes` less a record
/// batch's framing, and never above what the Kafka client itself sends.
async fn record_limit(kafka: &KafkaSettings) -> usize {
    match kafka::topic_max_message_bytes(kafka, &kafka.topic).await {
        Ok(Some(topic_limit)) => {
            let limit = topic_limit
                .min(crate::publish::publisher::CLIENT_MAX_MESSAGE_BYTES)
                .saturating_sub(crate::publish::publisher::BATCH_FRAMING_BYTES);
            tracing::info!(
                "topic {} takes records up to {topic_limit} bytes; larger rows go to the dead-letter topic",
                kafka.topic
            );
            limit
        }
        Ok(None) | Err(_) => {
            tracing::warn!(
                "the size limit of topic {} could not be read; records are held to the client's {} bytes",
                kafka.topic,
                crate::publish::publisher::CLIENT_MAX_MESSAGE_BYTES
            );
            crate::publish::publisher::CLIENT_MAX_MESSAGE_BYTES
                - crate::publish::publisher::BATCH_FRAMING_BYTES
        }
    }
}
