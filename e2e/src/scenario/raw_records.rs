//! Records written straight to the scenario's topic, past the producer: poison for the
//! consumers (bytes not in the wire format, unknown schema ids).

use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord};
use sluice_common::kafka::client_config;

use super::Scenario;

impl Scenario {
    /// Sends one record of `key` and `payload` to the topic and returns where it landed:
    /// `(partition, offset)`.
    pub async fn send_raw(&self, key: &str, payload: &[u8]) -> (i32, i64) {
        let producer: FutureProducer = client_config(&self.settings.kafka)
            .create()
            .expect("a producer of raw records");
        producer
            .send(
                FutureRecord::to(&self.names.topic)
                    .key(key)
                    .payload(payload),
                Duration::from_secs(10),
            )
            .await
            .map(|delivery| (delivery.partition, delivery.offset))
            .map_err(|(error, _)| error)
            .expect("the raw record is acknowledged")
    }
}
