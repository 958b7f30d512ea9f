//! Turning a page of rows into records queued on the Kafka client: each row's key, its Avro
//! value or its delete, and a dead letter for a row that cannot be published (or the producer's
//! refusal, under `on_error = "fail"`).

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::OwnedHeaders;
use sluice_common::dead_letter::{DeadLetter, Stage};
use sluice_common::deletes::format_deleted_at;
use sluice_common::settings::OnError;
use sqlx::mysql::MySqlRow;

use super::pipeline::Pipeline;
use crate::error::RowRefused;
use crate::publish::{PageSend, PendingPage};
use crate::source::{cell, row};

impl Pipeline {
    /// Encodes and queues every row of the page; its answers are awaited later. Also returns
    /// the bytes queued, keys and values. Under `on_error = "fail"`, the first row that cannot
    /// be published ends the page with its refusal.
    pub(crate) async fn queue_page(
        &self,
        rows: &[MySqlRow],
    ) -> Result<(PendingPage, usize), RowRefused> {
        self.queue_page_with(rows, None).await
    }

    /// `queue_page`, each record (not the dead letters) carrying `headers`.
    pub(crate) async fn queue_page_with(
        &self,
        rows: &[MySqlRow],
        headers: Option<&OwnedHeaders>,
    ) -> Result<(PendingPage, usize), RowRefused> {
        let mut page = self.publisher.begin_page();
        let (mut key, mut payload) = (Vec::new(), Vec::new());
        let mut bytes = 0;
        for row in rows {
            payload.clear();
            match self
                .queue_row(&mut page, row, (&mut key, &mut payload), headers)
                .await
            {
                Ok(()) => {}
                Err(Unpublished::Kafka(error)) => return Ok((page.queued(Some(error)), bytes)),
                Err(Unpublished::Refused(refused)) => return Err(refused),
            }
            bytes += key.len() + payload.len();
        }
        Ok((page.queued(None), bytes))
    }

    /// Queues the row's record (with `headers`, when given), or its dead letter when it cannot
    /// be encoded or is larger than the topic takes; the key and payload buffers are reused
    /// across the page.
    async fn queue_row(
        &self,
        page: &mut PageSend<'_>,
        row: &MySqlRow,
        (key, payload): (&mut Vec<u8>, &mut Vec<u8>),
        headers: Option<&OwnedHeaders>,
    ) -> Result<(), Unpublished> {
        key.clear();
        let layout = self.query.layout();
        let mut shown = None;
        let encoded = match self.query.key_of(row) {
            Ok(id) => {
                id.write_record_key(key);
                let outcome = match row::deleted_at(row, layout) {
                    Ok(Some(at)) => {
                        page.tombstone(key, &format_deleted_at(at), headers.cloned())
                            .await
                            .map_err(Unpublished::Kafka)?;
                        if let Some(sweep) = &self.sweep {
                            sweep.deleted(&id);
                        }
                        return Ok(());
                    }
                    Ok(None) => {
                        // Counted before it is queued: a key counted in excess costs at most
                        // one more delete (see `sweep::published_keys`).
                        if let Some(sweep) = &self.sweep {
                            sweep.published(&id);
                        }
                        self.encoder
                            .encode(row, payload)
                            .map_err(|error| error.to_string())
                    }
                    Err(error) => Err(format!("its soft-delete mark cannot be read: {error}")),
                };
                shown = Some(id);
                outcome
            }
            Err(error) => Err(format!("key column cannot be read: {error}")),
        };
        let reason = match encoded {
            Ok(()) if key.len() + payload.len() > self.record_limit => {
                too_large(key.len() + payload.len(), self.record_limit)
            }
            Ok(()) => match page.record_with(key, payload, headers.cloned()).await {
                Err(KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge)) => {
                    too_large(key.len() + payload.len(), self.record_limit)
                }
                sent => return sent.map_err(Unpublished::Kafka),
            },
            Err(reason) => reason,
        };
        let origin = match &shown {
            Some(id) => format!("{} {}={id}", self.table, self.settings.key_column),
            None => format!("{} {}=?", self.table, self.settings.key_column),
        };
        if self.settings.on_error == OnError::Fail {
            return Err(Unpublished::Refused(RowRefused { origin, reason }));
        }
        tracing::warn!(
            origin = %origin,
            reason = %reason,
            "row {origin} cannot be published ({reason}); sent to the dead-letter topic"
        );
        let json = cell::to_json(row, self.encoder.plan());
        dead_letter_row(page, key, &json, reason, origin, self.record_limit)
            .await
            .map_err(Unpublished::Kafka)
    }
}

/// Queues a row that cannot be published as a dead letter: its key, the row as JSON (or,
/// should that not fit within `limit` either, its size), the reason and where it came from.
pub(crate) async fn dead_letter_row(
    page: &mut PageSend<'_>,
    key: &[u8],
    row: &serde_json::Value,
    reason: String,
    origin: String,
    limit: usize,
) -> Result<(), KafkaError> {
    let mut json = row.to_string();
    if key.len() + json.len() > limit {
        // The row itself would not fit either: its key and the reason say which it was.
        json = serde_json::json!({ "omitted": format!("the row as JSON is {} bytes", json.len()) })
            .to_string();
    }
    let letter = DeadLetter {
        stage: Stage::Encode,
        reason,
        origin,
    };
    page.dead_letter(key, json.as_bytes(), &letter).await
}

/// Why a row was not queued.
enum Unpublished {
    /// Kafka did not take its record (or its dead letter): the page fails and is sent again.
    Kafka(KafkaError),
    /// It cannot be published, and `on_error = "fail"`.
    Refused(RowRefused),
}

/// The reason a record over the topic's limit is dead-lettered.
pub(crate) fn too_large(bytes: usize, limit: usize) -> String {
    format!(
        "the record is {bytes} bytes, more than the {limit} the topic takes (max.message.bytes); \
         raise the topic's max.message.bytes and the producer's message.max.bytes, or shrink the row"
    )
}
