//! Where the binlog source left off: its position in the watermark topic under exactly once
//! (read after `init_transactions` ended whatever an earlier producer left open), else, or when
//! the topic has none yet, in the watermark file.
//!
//! A timestamp source's watermark is not taken for a position: the file or topic of the other
//! source is refused with the way out, except the topic's "start over" mark that `reset`
//! commits (the beginning), which is no position.

use super::error::BinlogError;
use super::watermark::{BinlogWatermark, SavedPosition};
use crate::error::ProducerError;
use crate::poll::start_position::WATERMARK_TOPIC_PATIENCE;
use crate::poll::Pipeline;
use crate::watermark::topic::WatermarkTopicError;
use crate::watermark::{Watermark, WatermarkError};

impl Pipeline {
    /// The saved position; `None` when nothing was saved (or it was reset).
    pub(super) async fn load_binlog_position(
        &self,
    ) -> Result<Option<BinlogWatermark>, ProducerError> {
        if let Some(from_topic) = self.load_binlog_position_from_topic().await? {
            return Ok(Some(from_topic));
        }
        match self.store.load_as::<SavedPosition>() {
            Ok(Some(SavedPosition::Binlog(saved))) => Ok(Some(saved)),
            Ok(None) => Ok(None),
            Err(WatermarkError::Corrupt { path, .. })
                if self.store.load().is_ok_and(|saved| saved.is_some()) =>
            {
                Err(other_source(format!("watermark file {}", path.display())))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Exactly once, the position last committed to the watermark topic.
    async fn load_binlog_position_from_topic(
        &self,
    ) -> Result<Option<BinlogWatermark>, ProducerError> {
        let Some(transactions) = &self.transactions else {
            return Ok(None);
        };
        let topic = transactions.topic().clone();
        let read = topic.clone();
        let loaded = tokio::task::spawn_blocking(move || {
            read.load_as::<SavedPosition>(WATERMARK_TOPIC_PATIENCE)
        })
        .await?;
        match loaded {
            Ok(saved) => Ok(saved.map(|SavedPosition::Binlog(saved)| saved)),
            Err(corrupt @ WatermarkTopicError::Corrupt { .. }) => {
                let read = topic.clone();
                let timestamp = tokio::task::spawn_blocking(move || {
                    read.load_as::<Watermark>(WATERMARK_TOPIC_PATIENCE)
                })
                .await?;
                match timestamp {
                    Ok(Some(reset)) if reset == Watermark::beginning() => Ok(None),
                    Ok(Some(_)) => Err(other_source(format!(
                        "watermark topic {} (key {})",
                        topic.topic, topic.key
                    ))),
                    _ => Err(corrupt.into()),
                }
            }
            Err(error) => Err(error.into()),
        }
    }
}

fn other_source(place: String) -> ProducerError {
    BinlogError::Unsupported(format!(
        "{place} holds a position of producer.source = \"timestamp\": `sluice-producer reset` \
         (or another producer.watermark_file or producer.transactional_id) before switching to \
         the binlog"
    ))
    .into()
}
