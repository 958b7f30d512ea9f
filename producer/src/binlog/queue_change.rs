//! One row change of the binary log queued on a page: an insert or update as its record (the
//! row after the change), a delete (or a row carrying the soft-delete mark) as a tombstone, and
//! a change that cannot become a record as a dead letter with its reason, or the producer's
//! refusal under `on_error = "fail"`.

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use sluice_common::deletes::format_deleted_at;
use sluice_common::settings::OnError;

use super::error::BinlogError;
use super::image::ImageLayout;
use super::origin::ChangeOrigin;
use super::stream::{Operation, RowChange};
use crate::error::{ProducerError, RowRefused};
use crate::poll::queue_rows::{dead_letter_row, too_large};
use crate::poll::Pipeline;
use crate::publish::PageSend;

/// Why a change was not queued.
pub(super) enum Unqueued {
    /// Kafka did not take its record: the page fails.
    Kafka(KafkaError),
    /// The producer stops: a change refused under `on_error = "fail"`, or a table change.
    Stop(ProducerError),
}

/// Buffers reused from one change to the next.
#[derive(Default)]
pub(super) struct Buffers {
    key: Vec<u8>,
    payload: Vec<u8>,
}

/// `change` as the changes its records come from: an update that changed the row's key is the
/// delete of the old key, then an insert under the new one (the old key's record would
/// otherwise stay on the topic for good); every other change is itself.
pub(super) fn by_key(layout: &ImageLayout, change: RowChange) -> [Option<RowChange>; 2] {
    let key_changed = change.operation == Operation::Update
        && match (&change.before, &change.after) {
            (Some(before), Some(after)) => match (layout.key(before), layout.key(after)) {
                (Ok(old), Ok(new)) => old != new,
                _ => false,
            },
            _ => false,
        };
    if !key_changed {
        return [Some(change), None];
    }
    let RowChange { before, after, .. } = change;
    [
        Some(RowChange {
            operation: Operation::Delete,
            before,
            after: None,
        }),
        Some(RowChange {
            operation: Operation::Insert,
            before: None,
            after,
        }),
    ]
}

/// Queues `change`, written at `written_at` (seconds since the epoch), on `page`, its record's
/// headers saying its `origin`.
pub(super) async fn queue_change(
    pipeline: &Pipeline,
    layout: &ImageLayout,
    page: &mut PageSend<'_>,
    (change, origin): (RowChange, ChangeOrigin<'_>),
    written_at: u32,
    buffers: &mut Buffers,
) -> Result<(), Unqueued> {
    let (image, deleted) = match change.operation {
        Operation::Insert | Operation::Update => (change.after, false),
        Operation::Delete => (change.before, true),
    };
    let Some(mut image) = image else {
        return Err(Unqueued::Stop(
            BinlogError::Unsupported(format!(
                "a {:?} without its row image: the binary log must keep full row images \
                 (binlog_row_image=FULL)",
                change.operation
            ))
            .into(),
        ));
    };
    let Buffers { key, payload } = buffers;
    key.clear();
    payload.clear();
    let mut shown = None;
    let encoded = match layout
        .normalize(&mut image)
        .and_then(|()| layout.key(&image))
    {
        Ok(id) => {
            id.write_record_key(key);
            shown = Some(id);
            if deleted || layout.marked_deleted(&image) {
                let at = layout.deleted_at(&image, written_at);
                return page
                    .tombstone(key, &format_deleted_at(at), Some(origin.headers()))
                    .await
                    .map_err(Unqueued::Kafka);
            }
            layout.encode(&pipeline.encoder, &image, payload)
        }
        Err(reason) => Err(reason),
    };
    let limit = pipeline.record_limit;
    let reason = match encoded {
        Ok(()) if key.len() + payload.len() > limit => too_large(key.len() + payload.len(), limit),
        Ok(()) => match page.record_with(key, payload, Some(origin.headers())).await {
            Err(KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge)) => {
                too_large(key.len() + payload.len(), limit)
            }
            sent => return sent.map_err(Unqueued::Kafka),
        },
        Err(reason) => reason,
    };
    let column = &pipeline.settings.key_column;
    let origin = match &shown {
        Some(id) => format!("{} {column}={id}", pipeline.table),
        None => format!("{} {column}=?", pipeline.table),
    };
    if pipeline.settings.on_error == OnError::Fail {
        return Err(Unqueued::Stop(RowRefused { origin, reason }.into()));
    }
    tracing::warn!(
        origin = %origin,
        reason = %reason,
        "change of {origin} cannot be published ({reason}); sent to the dead-letter topic"
    );
    let json = layout.to_json(pipeline.encoder.plan(), &image);
    dead_letter_row(page, key, &json, reason, origin, limit)
        .await
        .map_err(Unqueued::Kafka)
}
