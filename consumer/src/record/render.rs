//! One record's line: its value decoded into the reader schema, transformed, written as JSON;
//! a tombstone (no value) as a delete line (see `sluice_common::deletes`). The member's loop
//! renders each record it reads through this, and so does the replay of a committed batch at
//! start (see `replay`): a record renders to the same line both times.

use apache_avro::types::Value;
use apache_avro::Schema;
use chrono::{DateTime, Utc};
use rdkafka::message::{Headers, Message};
use sluice_common::dead_letter::Stage;
use sluice_common::deletes::{write_delete_line, DELETED_AT_HEADER};
use sluice_registry::SchemaId;

use crate::record::decode::{DecodeError, Decoder};
use crate::record::delete_key::write_key_json;
use crate::record::flat::FlatLines;
use crate::record::instant::instant_of;
use crate::record::json_line::write_fields;
use crate::record::transform::Transform;

/// Why a record has no line: the stage that refused it and the reason, for its dead letter.
pub type Refusal = (Stage, String);

/// What rendering reads of a record.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordView<'a> {
    /// The record's key: the row's key as a Java client sends it.
    pub key: Option<&'a [u8]>,
    /// Its value; none for a tombstone.
    pub payload: Option<&'a [u8]>,
    /// A tombstone's `sluice.deleted_at` header.
    pub deleted_at: Option<&'a [u8]>,
    /// The record's timestamp, in milliseconds.
    pub timestamp_ms: Option<i64>,
}

impl<'a> RecordView<'a> {
    /// What rendering reads of `message`.
    pub fn of<M: Message>(message: &'a M) -> Self {
        let payload = message.payload();
        // Only a tombstone's headers are read: librdkafka parses a record's headers (allocating)
        // the first time they are asked for.
        let deleted_at = payload
            .is_none()
            .then(|| message.headers())
            .flatten()
            .and_then(|headers| {
                headers
                    .iter()
                    .find(|header| header.key == DELETED_AT_HEADER)
                    .and_then(|header| header.value)
            });
        Self {
            key: message.key(),
            payload,
            deleted_at,
            timestamp_ms: message.timestamp().to_millis(),
        }
    }
}

/// The member's decoder and transform.
pub struct LineRenderer {
    /// Writer-to-reader decoding.
    pub decoder: Decoder,
    /// The configured steps.
    pub transform: Transform,
    /// The field a delete line names the key with (`producer.key_column`).
    pub key_field: String,
    /// Lines of flat records, written from their bytes.
    pub flat: FlatLines,
}

impl LineRenderer {
    /// Appends the line of `record` to `line`; returns the row's `last_updated` when it has one,
    /// or a tombstone's time of delete (for the end-to-end latency). On a refusal `line` may
    /// hold part of a line.
    pub fn render(
        &mut self,
        record: &RecordView<'_>,
        line: &mut Vec<u8>,
    ) -> Result<Option<DateTime<Utc>>, Refusal> {
        if record.payload.is_none() {
            return self.render_delete(record, line);
        }
        let refused = |e: DecodeError| (Stage::Decode, e.to_string());
        let (id, writer, datum) = self.decoder.writer_of(record.payload).map_err(refused)?;
        if let Some(updated) = self.render_flat((id, writer), datum, line) {
            return Ok(updated);
        }
        let record = self.decoder.decode_datum(id, datum).map_err(refused)?;
        let updated = last_updated(&record);
        let transformed = self
            .transform
            .apply(record, self.decoder.reader_schema())
            .map_err(|reason| (Stage::Transform, reason.to_string()))?;
        write_fields(&transformed.fields, transformed.schemas, line)
            .map_err(|reason| (Stage::Transform, reason.to_string()))?;
        Ok(updated)
    }
}

impl LineRenderer {
    /// The line of a flat record written from its bytes (see `record::flat`); `None` leaves
    /// the record, and `line` as it was, to the generic path, which also says why a record
    /// cannot be read.
    fn render_flat(
        &mut self,
        (id, writer): (SchemaId, &Schema),
        datum: &[u8],
        line: &mut Vec<u8>,
    ) -> Option<Option<DateTime<Utc>>> {
        let reader = self.decoder.reader_schema();
        let steps = self.transform.plan_for(reader).ok()?;
        self.flat.write((id, writer), (reader, steps), datum, line)
    }

    /// The delete line of a tombstone, its key shown as the reader schema's key field shows it.
    fn render_delete(
        &mut self,
        record: &RecordView<'_>,
        line: &mut Vec<u8>,
    ) -> Result<Option<DateTime<Utc>>, Refusal> {
        let refused = |e: sluice_common::deletes::TombstoneError| (Stage::Decode, e.to_string());
        let mut key = Vec::new();
        let reader = self.decoder.reader_schema_for_keys();
        write_key_json(record.key, &self.key_field, reader, &mut key).map_err(refused)?;
        write_delete_line(
            &self.key_field,
            &key,
            record.deleted_at,
            record.timestamp_ms,
            line,
        )
        .map(Some)
        .map_err(refused)
    }
}

/// The record's `last_updated`.
pub(crate) fn last_updated(record: &Value) -> Option<DateTime<Utc>> {
    let Value::Record(fields) = record else {
        return None;
    };
    fields
        .iter()
        .find(|(name, _)| name == "last_updated")
        .and_then(|(_, value)| instant_of(value))
}
