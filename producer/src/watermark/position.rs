//! The producer's position in the table: the `(timestamp, key)` of the last row it has handed
//! to Kafka for good, and how it moves.
//!
//! Invariant: **the watermark never passes a row that Kafka has not acknowledged** (see
//! `file` for how it is kept across a crash, and `topic` under exactly-once).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A position in the table: which rows have been published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Watermark {
    /// In timestamp order, the timestamp of the last published row; in key order, the bound of
    /// the snapshot.
    pub last_updated: DateTime<Utc>,
    /// The key of the last published row (which orders rows sharing one timestamp).
    pub id: i64,
    /// How the table is being read; absent in files written before there was a choice.
    #[serde(default, skip_serializing_if = "ReadOrder::is_timestamp")]
    pub order: ReadOrder,
}

/// The two ways the producer reads the table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReadOrder {
    /// Changes in `(timestamp, key)` order: every row at or before `(last_updated, id)` is
    /// published.
    #[default]
    Timestamp,
    /// The first read of a table in primary-key order, one pass over the table's clustered
    /// index: every row with a key up to `id` and a timestamp up to `last_updated` is
    /// published, as it was when read. Rows changed since carry later timestamps, which the
    /// timestamp order reads next.
    Key,
}

impl ReadOrder {
    fn is_timestamp(&self) -> bool {
        *self == ReadOrder::Timestamp
    }
}

impl Watermark {
    /// Before every row in timestamp order: where a producer starts when the table cannot be
    /// read in key order.
    pub fn beginning() -> Self {
        Self {
            last_updated: DateTime::<Utc>::UNIX_EPOCH,
            id: i64::MIN,
            order: ReadOrder::Timestamp,
        }
    }

    /// Before every row of a key-order snapshot of the rows up to `bound`.
    pub fn snapshot_up_to(bound: DateTime<Utc>) -> Self {
        Self {
            last_updated: bound,
            id: i64::MIN,
            order: ReadOrder::Key,
        }
    }

    /// Where the reading goes on after a page that ended at key `last_key` (`None` for an
    /// empty page), `full` when the page had as many rows as asked for. In timestamp order the
    /// caller gives the last row's position instead; see [`Watermark::at_row`].
    pub fn after_key_page(self, last_key: Option<i64>, full: bool) -> Self {
        match (last_key, full) {
            (Some(id), true) => Self { id, ..self },
            // The snapshot is done: every row up to its bound is published, and changes follow
            // in timestamp order from there.
            _ => Self {
                last_updated: self.last_updated,
                id: i64::MAX,
                order: ReadOrder::Timestamp,
            },
        }
    }

    /// The position of a row read in timestamp order.
    pub fn at_row(last_updated: DateTime<Utc>, id: i64) -> Self {
        Self {
            last_updated,
            id,
            order: ReadOrder::Timestamp,
        }
    }
}

impl std::fmt::Display for Watermark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = self
            .last_updated
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        match (self.order, self.id) {
            (ReadOrder::Key, i64::MIN) => write!(f, "start of the key-order snapshot up to {at}"),
            (ReadOrder::Key, id) => write!(f, "key {id} of the key-order snapshot up to {at}"),
            (ReadOrder::Timestamp, i64::MIN) if self.last_updated == DateTime::UNIX_EPOCH => {
                write!(f, "the beginning")
            }
            (ReadOrder::Timestamp, i64::MAX) => write!(f, "{at}"),
            (ReadOrder::Timestamp, id) => write!(f, "{at} id {id}"),
        }
    }
}

/// The watermark at row `id` of `seconds` and `micros` after the epoch, for tests.
#[cfg(test)]
pub(crate) fn at(seconds: i64, micros: u32, id: i64) -> Watermark {
    use chrono::TimeZone;
    Watermark::at_row(
        Utc.timestamp_opt(seconds, micros * 1000)
            .single()
            .expect("valid time"),
        id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_timestamp_then_key() {
        assert!(at(10, 0, 99) < at(10, 1, 1));
        assert!(at(10, 0, 1) < at(10, 0, 2));
        assert!(Watermark::beginning() < at(1, 0, i64::MIN));
    }

    #[test]
    fn a_snapshot_goes_on_by_key_while_pages_are_full_then_follows_changes_from_its_bound() {
        let bound = at(1_795_000_000, 0, 0).last_updated;
        let start = Watermark::snapshot_up_to(bound);
        let next = start.after_key_page(Some(7), true);
        assert_eq!(
            (next.id, next.order, next.last_updated),
            (7, ReadOrder::Key, bound)
        );
        for (last, full) in [(Some(9), false), (None, false), (None, true)] {
            let done = next.after_key_page(last, full);
            assert_eq!(done, Watermark::at_row(bound, i64::MAX), "{last:?} {full}");
            // Changes then start after every row at the bound.
            assert!(at(1_795_000_000, 0, i64::MAX - 1) < done);
            assert!(done < at(1_795_000_000, 1, i64::MIN));
        }
    }
}
