//! Dead letters: records that could not be processed, published with the reason instead of
//! being dropped. Producer and consumers write the same headers, so one tool reads both.
//!
//! Headers: `sluice.dlq.stage` (where it failed), `sluice.dlq.reason` (why, one line),
//! `sluice.dlq.origin` (the row key, or `topic/partition@offset`), `sluice.dlq.at` (RFC 3339).

use rdkafka::message::{Header, OwnedHeaders};

/// Header naming the stage that failed.
pub const STAGE_HEADER: &str = "sluice.dlq.stage";
/// Header with the reason, one line.
pub const REASON_HEADER: &str = "sluice.dlq.reason";
/// Header naming where the record came from.
pub const ORIGIN_HEADER: &str = "sluice.dlq.origin";
/// Header with the time the dead letter was written.
pub const AT_HEADER: &str = "sluice.dlq.at";

/// Where in the pipeline a record failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The producer could not turn a row into an Avro record.
    Encode,
    /// A consumer could not decode a record (bad framing, unknown schema id, bad Avro).
    Decode,
    /// A consumer decoded a record but could not transform or write it.
    Transform,
}

impl Stage {
    /// The stage as written in the header.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Encode => "producer.encode",
            Stage::Decode => "consumer.decode",
            Stage::Transform => "consumer.transform",
        }
    }
}

/// Why and where a record failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The stage that failed.
    pub stage: Stage,
    /// Why, one line.
    pub reason: String,
    /// Where the record came from, e.g. `product id=42` or `product_updates/3@1200`.
    pub origin: String,
}

impl DeadLetter {
    /// The Kafka headers that carry this dead letter's explanation.
    pub fn headers(&self) -> OwnedHeaders {
        let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        OwnedHeaders::new_with_capacity(4)
            .insert(header(STAGE_HEADER, self.stage.as_str()))
            .insert(header(REASON_HEADER, &self.reason))
            .insert(header(ORIGIN_HEADER, &self.origin))
            .insert(header(AT_HEADER, &at))
    }
}

fn header<'a>(key: &'a str, value: &'a str) -> Header<'a, &'a str> {
    Header {
        key,
        value: Some(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::message::Headers;

    #[test]
    fn headers_carry_stage_reason_and_origin() {
        let letter = DeadLetter {
            stage: Stage::Decode,
            reason: "unknown schema id 9".into(),
            origin: "product_updates/3@1200".into(),
        };
        let headers = letter.headers();
        let found: Vec<(String, String)> = headers
            .iter()
            .map(|h| {
                (
                    h.key.to_owned(),
                    String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                )
            })
            .collect();
        assert_eq!(found[0], (STAGE_HEADER.into(), "consumer.decode".into()));
        assert_eq!(
            found[1],
            (REASON_HEADER.into(), "unknown schema id 9".into())
        );
        assert_eq!(
            found[2],
            (ORIGIN_HEADER.into(), "product_updates/3@1200".into())
        );
        assert_eq!(found[3].0, AT_HEADER);
    }
}
