//! One record's line: its value decoded into the reader schema, transformed, written as JSON.
//! The member's loop renders each record it reads through this, and so does the replay of a
//! committed batch at start (see `replay`): a record renders to the same line both times.

use apache_avro::types::Value;
use chrono::{DateTime, Utc};
use sluice_common::dead_letter::Stage;

use crate::decode::Decoder;
use crate::json_line::write_line;
use crate::transform::Transform;

/// Why a record has no line: the stage that refused it and the reason, for its dead letter.
pub type Refusal = (Stage, String);

/// The member's decoder and transform.
pub struct LineRenderer {
    /// Writer-to-reader decoding.
    pub decoder: Decoder,
    /// The configured transformation.
    pub transform: Transform,
}

impl LineRenderer {
    /// Appends the line of the record whose value is `payload` to `line`; returns the row's
    /// `last_updated` when it has one (for the end-to-end latency). On a refusal `line` may
    /// hold part of a line.
    pub fn render(
        &mut self,
        payload: Option<&[u8]>,
        line: &mut Vec<u8>,
    ) -> Result<Option<DateTime<Utc>>, Refusal> {
        let mut record = self
            .decoder
            .decode(payload)
            .map_err(|e| (Stage::Decode, e.to_string()))?;
        let updated = last_updated(&record);
        self.transform
            .apply(&mut record)
            .and_then(|()| write_line(&record, line))
            .map_err(|reason| (Stage::Transform, reason))?;
        Ok(updated)
    }
}

/// The record's `last_updated`.
fn last_updated(record: &Value) -> Option<DateTime<Utc>> {
    let Value::Record(fields) = record else {
        return None;
    };
    fields
        .iter()
        .find(|(name, _)| name == "last_updated")
        .and_then(|(_, value)| match value {
            Value::String(text) => DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|at| at.to_utc()),
            _ => None,
        })
}
