//! The producer's position in the table: the `(timestamp, key)` of the last row it has handed
//! to Kafka for good, and how it moves.
//!
//! Invariant: **the watermark never passes a row that Kafka has not acknowledged** (see
//! `file` for how it is kept across a crash, and `topic` under exactly-once).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::source::key::{Key, KeyKind};

/// A position in the table: which rows have been published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "SavedWatermark", try_from = "SavedWatermark")]
pub struct Watermark {
    /// In timestamp order, the timestamp of the last published row; in key order, the bound of
    /// the snapshot.
    pub last_updated: DateTime<Utc>,
    /// Where among the keys (of that timestamp, in timestamp order) the position lies.
    pub key: KeyBound,
    /// How the table is being read.
    pub order: ReadOrder,
}

/// A place in the key order, as the database orders the keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyBound {
    /// Before every key.
    Before,
    /// At this key: the rows up to it are published.
    At(Key),
    /// After every key.
    After,
}

impl KeyBound {
    /// The same place for keys of `kind`; `Err` with the key when it is of another kind (the
    /// key column's type changed since it was saved).
    pub fn fit(self, kind: KeyKind) -> Result<Self, Key> {
        match self {
            Self::At(key) => key.clone().fit(kind).map(Self::At).ok_or(key),
            edge => Ok(edge),
        }
    }
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
            key: KeyBound::Before,
            order: ReadOrder::Timestamp,
        }
    }

    /// Before every row of a key-order snapshot of the rows up to `bound`.
    pub fn snapshot_up_to(bound: DateTime<Utc>) -> Self {
        Self {
            last_updated: bound,
            key: KeyBound::Before,
            order: ReadOrder::Key,
        }
    }

    /// Where the reading goes on after a page that ended at key `last_key` (`None` for an
    /// empty page), `full` when the page had as many rows as asked for. In timestamp order the
    /// caller gives the last row's position instead; see [`Watermark::at_row`].
    pub fn after_key_page(self, last_key: Option<Key>, full: bool) -> Self {
        match (last_key, full) {
            (Some(key), true) => Self {
                key: KeyBound::At(key),
                ..self
            },
            // The snapshot is done: every row up to its bound is published, and changes follow
            // in timestamp order from there.
            _ => Self {
                last_updated: self.last_updated,
                key: KeyBound::After,
                order: ReadOrder::Timestamp,
            },
        }
    }

    /// The position of a row read in timestamp order.
    pub fn at_row(last_updated: DateTime<Utc>, key: Key) -> Self {
        Self {
            last_updated,
            key: KeyBound::At(key),
            order: ReadOrder::Timestamp,
        }
    }
}

impl std::fmt::Display for Watermark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = self
            .last_updated
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        match (self.order, &self.key) {
            (ReadOrder::Key, KeyBound::Before) => {
                write!(f, "start of the key-order snapshot up to {at}")
            }
            (ReadOrder::Key, KeyBound::At(key)) => {
                write!(f, "key {key} of the key-order snapshot up to {at}")
            }
            (ReadOrder::Key, KeyBound::After) => {
                write!(f, "end of the key-order snapshot up to {at}")
            }
            (ReadOrder::Timestamp, KeyBound::Before)
                if self.last_updated == DateTime::UNIX_EPOCH =>
            {
                write!(f, "the beginning")
            }
            (ReadOrder::Timestamp, KeyBound::Before) => write!(f, "{at}, before its first key"),
            (ReadOrder::Timestamp, KeyBound::After) => write!(f, "{at}"),
            (ReadOrder::Timestamp, KeyBound::At(key)) => write!(f, "{at} key {key}"),
        }
    }
}

/// A watermark as files and records hold it. Signed integer keys and the edges are kept in `id`
/// as they always were (the edges as the smallest and largest `BIGINT`), so files written before
/// other keys existed read the same, and the producer before them reads these; other keys are
/// tagged in `key`.
#[derive(Debug, Serialize, Deserialize)]
struct SavedWatermark {
    last_updated: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<SavedKey>,
    /// Absent in files written before there was a choice.
    #[serde(default, skip_serializing_if = "ReadOrder::is_timestamp")]
    order: ReadOrder,
}

/// A key that `id` does not hold; any key, where a key is saved by itself.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SavedKey {
    /// A signed key equal to an edge's stand-in.
    Signed(i64),
    Unsigned(u64),
    Text(String),
    /// Lowercase hex.
    Hex(String),
}

impl From<Watermark> for SavedWatermark {
    fn from(mark: Watermark) -> Self {
        let (id, key) = match mark.key {
            KeyBound::Before => (Some(i64::MIN), None),
            KeyBound::After => (Some(i64::MAX), None),
            KeyBound::At(Key::Signed(n)) if n != i64::MIN && n != i64::MAX => (Some(n), None),
            KeyBound::At(key) => (None, Some(SavedKey::from(key))),
        };
        Self {
            last_updated: mark.last_updated,
            id,
            key,
            order: mark.order,
        }
    }
}

impl TryFrom<SavedWatermark> for Watermark {
    type Error = String;

    fn try_from(saved: SavedWatermark) -> Result<Self, String> {
        let key = match (saved.id, saved.key) {
            (Some(i64::MIN), None) => KeyBound::Before,
            (Some(i64::MAX), None) => KeyBound::After,
            (Some(n), None) => KeyBound::At(Key::Signed(n)),
            (None, Some(saved)) => KeyBound::At(Key::try_from(saved)?),
            (Some(_), Some(_)) => return Err("both `id` and `key` are given".into()),
            (None, None) => return Err("neither `id` nor `key` is given".into()),
        };
        Ok(Self {
            last_updated: saved.last_updated,
            key,
            order: saved.order,
        })
    }
}

impl From<Key> for SavedKey {
    fn from(key: Key) -> Self {
        match key {
            Key::Signed(n) => Self::Signed(n),
            Key::Unsigned(n) => Self::Unsigned(n),
            Key::Text(text) => Self::Text(text),
            Key::Bytes(bytes) => Self::Hex(bytes.iter().map(|b| format!("{b:02x}")).collect()),
        }
    }
}

impl TryFrom<SavedKey> for Key {
    type Error = String;

    fn try_from(saved: SavedKey) -> Result<Self, String> {
        Ok(match saved {
            SavedKey::Signed(n) => Self::Signed(n),
            SavedKey::Unsigned(n) => Self::Unsigned(n),
            SavedKey::Text(text) => Self::Text(text),
            SavedKey::Hex(hex) => Self::Bytes(from_hex(&hex)?),
        })
    }
}

fn from_hex(hex: &str) -> Result<Vec<u8>, String> {
    let bad = || format!("key {hex:?} is not hex");
    if !hex.len().is_multiple_of(2) || !hex.is_ascii() {
        return Err(bad());
    }
    (0..hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&hex[at..at + 2], 16).map_err(|_| bad()))
        .collect()
}

/// The watermark at row `id` of `seconds` and `micros` after the epoch, for tests.
#[cfg(test)]
pub(crate) fn at(seconds: i64, micros: u32, id: i64) -> Watermark {
    use chrono::TimeZone;
    Watermark::at_row(
        Utc.timestamp_opt(seconds, micros * 1000)
            .single()
            .expect("valid time"),
        Key::Signed(id),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_goes_on_by_key_while_pages_are_full_then_follows_changes_from_its_bound() {
        let bound = at(1_795_000_000, 0, 0).last_updated;
        let start = Watermark::snapshot_up_to(bound);
        let next = start.after_key_page(Some(Key::Signed(7)), true);
        assert_eq!(
            (&next.key, next.order, next.last_updated),
            (&KeyBound::At(Key::Signed(7)), ReadOrder::Key, bound)
        );
        for (last, full) in [(Some(Key::Signed(9)), false), (None, false), (None, true)] {
            let done = next.clone().after_key_page(last.clone(), full);
            assert_eq!(
                (done.last_updated, &done.key, done.order),
                (bound, &KeyBound::After, ReadOrder::Timestamp),
                "{last:?} {full}"
            );
        }
    }

    #[test]
    fn every_key_and_edge_round_trips_through_its_saved_form() {
        let bound = at(1_795_000_000, 1, 0).last_updated;
        let marks = [
            Watermark::beginning(),
            Watermark::snapshot_up_to(bound),
            Watermark::snapshot_up_to(bound).after_key_page(None, false),
            at(1_795_000_000, 1, 42),
            at(1_795_000_000, 1, i64::MIN),
            at(1_795_000_000, 1, i64::MAX),
            Watermark::at_row(bound, Key::Unsigned(u64::MAX)),
            Watermark::at_row(bound, Key::Text("Abc ".into())),
            Watermark::at_row(bound, Key::Bytes(vec![0, 0xab, 0xff])),
            Watermark::snapshot_up_to(bound).after_key_page(Some(Key::Text("k".into())), true),
        ];
        for mark in marks {
            let text = serde_json::to_string(&mark).expect("encodes");
            let back: Watermark = serde_json::from_str(&text).expect("decodes");
            assert_eq!(back, mark, "{text}");
        }
    }

    #[test]
    fn integer_positions_are_saved_as_they_always_were() {
        let text = |mark: &Watermark| serde_json::to_string(mark).expect("encodes");
        assert_eq!(
            text(&at(1_795_000_000, 1, 42)),
            r#"{"last_updated":"2026-11-18T11:06:40.000001Z","id":42}"#
        );
        assert_eq!(
            text(&Watermark::beginning()),
            r#"{"last_updated":"1970-01-01T00:00:00Z","id":-9223372036854775808}"#
        );
        let done = Watermark::snapshot_up_to(at(1_795_000_000, 1, 0).last_updated)
            .after_key_page(None, false);
        assert_eq!(
            text(&done),
            r#"{"last_updated":"2026-11-18T11:06:40.000001Z","id":9223372036854775807}"#
        );
        let key = Watermark::at_row(done.last_updated, Key::Bytes(vec![1, 0xfe]));
        assert_eq!(
            text(&key),
            r#"{"last_updated":"2026-11-18T11:06:40.000001Z","key":{"hex":"01fe"}}"#
        );
        for bad in [
            r#"{"last_updated":"2026-11-18T11:06:40Z"}"#,
            r#"{"last_updated":"2026-11-18T11:06:40Z","id":1,"key":{"text":"a"}}"#,
            r#"{"last_updated":"2026-11-18T11:06:40Z","key":{"hex":"0g"}}"#,
        ] {
            assert!(serde_json::from_str::<Watermark>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_saved_key_fits_the_column_it_was_read_from_or_says_it_does_not() {
        let key = |k| KeyBound::At(k);
        assert_eq!(
            key(Key::Signed(5)).fit(KeyKind::Unsigned),
            Ok(key(Key::Unsigned(5)))
        );
        assert_eq!(key(Key::Signed(5)).fit(KeyKind::Text), Err(Key::Signed(5)));
        assert_eq!(KeyBound::After.fit(KeyKind::Bytes), Ok(KeyBound::After));
    }

    #[test]
    fn positions_saved_by_the_integer_only_producer_read_with_their_meaning() {
        let fixture = |name| {
            let path = format!(
                "{}/../e2e/fixtures/saved_state/{name}",
                env!("CARGO_MANIFEST_DIR")
            );
            let text = std::fs::read_to_string(&path).expect("fixture");
            serde_json::from_str::<Watermark>(&text).expect("decodes")
        };
        let at = at(1_796_515_200, 0, 150);
        assert_eq!(fixture("producer.watermark.json"), at);
        assert_eq!(fixture("watermark-record.json"), at);
        assert_eq!(
            fixture("snapshot.watermark.json"),
            Watermark::snapshot_up_to(at.last_updated).after_key_page(Some(Key::Signed(150)), true)
        );
    }
}
