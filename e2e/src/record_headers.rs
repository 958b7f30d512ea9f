//! The records of a topic as a test reads them: each one's key, headers and writer schema id,
//! in topic order per partition, read committed (what an exactly-once consumer sees).

use std::collections::HashMap;
use std::time::Duration;

use rdkafka::message::{Headers, Message};
use sluice_common::kafka::topic_reader::read_to_end;
use sluice_common::settings::KafkaSettings;

/// One record: its key, and its headers by name (UTF-8, lossy).
#[derive(Debug, Clone)]
pub struct HeadedRecord {
    /// The record key, as text.
    pub key: String,
    /// Its headers.
    pub headers: HashMap<String, String>,
    /// The writer schema's id its value names (Confluent wire format); `None` for a tombstone.
    pub schema_id: Option<u32>,
}

impl HeadedRecord {
    /// Header `name`, or "" when it has none.
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }
}

/// Every record of `topic` to its end, partition by partition in offset order.
pub fn headed_records(settings: &KafkaSettings, topic: &str) -> Vec<HeadedRecord> {
    let mut records = Vec::new();
    read_to_end(settings, topic, Duration::from_secs(60), |message| {
        let headers = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|header| {
                        let value = header.value.unwrap_or_default();
                        (
                            header.key.to_owned(),
                            String::from_utf8_lossy(value).into_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let schema_id = message
            .payload()
            .and_then(|value| value.get(1..5))
            .and_then(|id| id.try_into().ok())
            .map(u32::from_be_bytes);
        records.push(HeadedRecord {
            key: String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
            headers,
            schema_id,
        });
    })
    .expect("the topic read to its end");
    records
}
