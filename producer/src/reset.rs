//! `sluice-producer reset`: puts the producer's watermark back at the beginning, so that its
//! next start snapshots the whole table again.
//!
//! Invariant: under exactly-once the reset is itself a transaction of the producer's
//! `transactional.id`: registering the id fences a producer still running with it (it stops
//! at its next commit) and aborts the transaction it left open, so no later commit of the old
//! producer can move the watermark on past the reset. The watermark file is removed as well,
//! which is all the reset there is at least once (stop that producer first: it cannot be
//! fenced).

use std::time::Duration;

use crate::watermark::{Watermark, WatermarkError};
use sluice_common::kafka;
use sluice_common::settings::Settings;
use sluice_common::shutdown::Shutdown;

use crate::error::ProducerError;
use crate::publish::transaction::Transactions;
use crate::publish::transactional_id::init_transactions;
use crate::publish::Publisher;
use crate::watermark::topic::WatermarkTopic;

/// What the reset did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reset {
    /// The transactional id whose watermark was set to the beginning, under exactly-once.
    pub transactional_id: Option<String>,
    /// Whether a watermark file was removed.
    pub removed_file: bool,
}

/// Resets the watermark of the pipeline `settings` describe; see the module doc.
pub async fn reset(settings: &Settings, shutdown: &Shutdown) -> Result<Reset, ProducerError> {
    let transactional_id = if settings.producer.exactly_once {
        let id = settings
            .producer
            .transactional_id_for(&settings.kafka.topic);
        reset_watermark_topic(settings, &id, shutdown).await?;
        Some(id)
    } else {
        None
    };
    let file = &settings.producer.watermark_file;
    let removed_file = match std::fs::remove_file(file) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(source) => {
            return Err(WatermarkError::Io {
                path: file.into(),
                source,
            }
            .into())
        }
    };
    Ok(Reset {
        transactional_id,
        removed_file,
    })
}

/// Commits the beginning as the watermark of `transactional_id`, fencing any producer with it.
async fn reset_watermark_topic(
    settings: &Settings,
    transactional_id: &str,
    shutdown: &Shutdown,
) -> Result<(), ProducerError> {
    let topic = WatermarkTopic::new(&settings.kafka, transactional_id);
    kafka::ensure_compacted_topic(&settings.kafka, &topic.topic).await?;
    let publisher = Publisher::new(&settings.kafka, &settings.producer, Some(transactional_id))
        .map_err(ProducerError::kafka("creating the Kafka producer"))?;
    init_transactions(&publisher, &settings.kafka, transactional_id, shutdown)
        .await?
        .ok_or(ProducerError::ResetInterrupted)?;
    let mut transactions = Transactions::new(topic);
    transactions.before_page(&publisher)?;
    transactions
        .commit(&publisher, &Watermark::beginning())
        .await?;
    publisher
        .flush(Duration::from_secs(10))
        .map_err(ProducerError::kafka("flushing the reset's transaction"))?;
    Ok(())
}
