//! The watermark kept in Kafka, for exactly-once publishing: a compacted topic keyed by the
//! producer's `transactional.id`, each value a watermark as JSON (the file's format).
//!
//! Invariant: a watermark record is only ever written inside the transaction that carries every
//! record up to it, so the latest committed value of the key is the position after the last
//! committed transaction. It is read `read_committed`, after `init_transactions` has ended any
//! transaction a previous producer left open, so no record of an unfinished transaction is seen.

use std::time::Duration;

use crate::watermark::Watermark;
use rdkafka::message::Message as _;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sluice_common::kafka::topic_reader::{read_to_end, TopicReadError};
use sluice_common::settings::KafkaSettings;

/// Where the producer's watermark is kept under exactly-once.
#[derive(Debug, Clone)]
pub struct WatermarkTopic {
    settings: KafkaSettings,
    /// The compacted topic.
    pub topic: String,
    /// The record key: the producer's `transactional.id`.
    pub key: String,
}

/// The watermark topic could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WatermarkTopicError {
    /// Kafka did not let the topic be read to its end.
    #[error(transparent)]
    Read(#[from] TopicReadError),
    /// The latest value of the key is not a watermark; never silently ignored, since starting
    /// over would publish the whole table again.
    #[error("the watermark in topic `{topic}` under key `{key}` at offset {offset} is not valid ({reason}); delete the topic (with the producer stopped) to start over")]
    Corrupt {
        /// The topic.
        topic: String,
        /// The key.
        key: String,
        /// Where the value is.
        offset: i64,
        /// Why it could not be parsed.
        reason: String,
    },
}

impl WatermarkTopic {
    /// The watermark topic of `settings`, keyed by `transactional_id`.
    pub fn new(settings: &KafkaSettings, transactional_id: &str) -> Self {
        Self {
            settings: settings.clone(),
            topic: settings.watermark_topic_name(),
            key: transactional_id.to_owned(),
        }
    }

    /// The latest committed watermark of this producer, or `None` when it never committed one.
    /// Blocking: reads the topic from its start.
    pub fn load(&self, patience: Duration) -> Result<Option<Watermark>, WatermarkTopicError> {
        self.load_as(patience)
    }

    /// The latest committed position of this producer as a source with its own kind of
    /// position saves it, or `None` when it never committed one. Blocking, as `load`.
    pub fn load_as<T: DeserializeOwned>(
        &self,
        patience: Duration,
    ) -> Result<Option<T>, WatermarkTopicError> {
        let mut latest: Option<(i64, Option<Vec<u8>>)> = None;
        read_to_end(&self.settings, &self.topic, patience, |message| {
            if message.key() == Some(self.key.as_bytes()) {
                latest = Some((message.offset(), message.payload().map(<[u8]>::to_vec)));
            }
        })?;
        match latest {
            None | Some((_, None)) => Ok(None),
            Some((offset, Some(value))) => {
                decode(&value)
                    .map(Some)
                    .map_err(|reason| WatermarkTopicError::Corrupt {
                        topic: self.topic.clone(),
                        key: self.key.clone(),
                        offset,
                        reason,
                    })
            }
        }
    }
}

/// A watermark (or a source's own position) as the topic's value holds it.
pub fn encode<T: Serialize>(watermark: &T) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(watermark)
}

fn decode<T: DeserializeOwned>(value: &[u8]) -> Result<T, String> {
    serde_json::from_slice(value).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn a_watermark_comes_back_as_it_was_written() {
        let at = Utc
            .timestamp_opt(1_700_000_000, 123_456_000)
            .single()
            .expect("valid");
        for watermark in [
            Watermark::at_row(at, crate::source::key::Key::Signed(42)),
            Watermark::snapshot_up_to(at),
            Watermark::beginning(),
        ] {
            let encoded = encode(&watermark).expect("encodes");
            assert_eq!(decode(&encoded), Ok(watermark));
        }
        assert!(decode::<Watermark>(b"not json").is_err());
    }
}
