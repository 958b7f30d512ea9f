//! At start, exactly once: the lines of a batch whose transaction committed before a crash kept
//! them from the member's file, rendered again from its records in Kafka.
//!
//! The batch file names the batch's records by their offset ranges (see `journal`); they are
//! read again, committed records only, and each is rendered as the member's loop rendered it
//! (see `render`). A record that cannot be rendered was dead-lettered before the batch
//! committed (the dead letters are acknowledged first) and has no line now either. Lines of
//! different partitions may come in another order than the first time; each partition's stay in
//! offset order.

use std::time::Duration;

use sluice_common::kafka::topic_reader::{read_ranges, OffsetRange, TopicReadError};
use sluice_common::settings::KafkaSettings;

use crate::commit::journal::BatchRange;
use crate::record::render::{LineRenderer, RecordView};

/// How long reading a batch's records again may take, a broker coming up included.
const PATIENCE: Duration = Duration::from_secs(120);

/// The lines of the records in `ranges`, rendered by `renderer`. Blocking: the decoder waits
/// for the registry as the member's loop does.
pub fn replay_lines(
    kafka: &KafkaSettings,
    ranges: &[BatchRange],
    renderer: &mut LineRenderer,
) -> Result<Vec<u8>, TopicReadError> {
    let ranges: Vec<OffsetRange> = ranges
        .iter()
        .map(|r| OffsetRange {
            topic: r.topic.clone(),
            partition: r.partition,
            start: r.start,
            end: r.end,
        })
        .collect();
    let mut lines = Vec::new();
    read_ranges(kafka, &ranges, PATIENCE, |message| {
        let before = lines.len();
        if renderer
            .render(&RecordView::of(message), &mut lines)
            .is_err()
        {
            // Dead-lettered the first time; a refused transform may have left a part.
            lines.truncate(before);
        }
    })?;
    Ok(lines)
}
