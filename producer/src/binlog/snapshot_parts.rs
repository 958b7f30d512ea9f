//! A snapshot taken in parts: a snapshot stopped before its end (a crash, a stop, a lost
//! connection) goes on after the last key it published with a new snapshot, at a later binary
//! log position, instead of reading the table again from its first key.
//!
//! Part `j` read the keys after part `j − 1`'s last key up to its own (the last part: every key
//! after), as they were at binary log position `at_j`; the positions grow with `j`. The stream
//! starts at the first part's position, so a change of key `k` in a transaction starting at
//! position `s` is published only when `s` is at or after the position of the part that read
//! `k`; before it, the part's row already holds that change.
//!
//! Invariant: **every committed version of a row is published once**: the versions a part read
//! as its row, and each version committed after that part's position as a change. Which part
//! read a key is the database's order (its collation for strings, see `KeyOrder`), as the
//! snapshot's pages are.

use serde::{Deserialize, Serialize};
use sqlx::MySqlPool;

use super::position::BinlogPosition;
use crate::source::key::{Key, KeyKind};

/// One part of a snapshot: the keys it read, at which binary log position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct SnapshotPart {
    /// Where in the binary log the part's snapshot lies.
    pub at: BinlogPosition,
    /// The last key it read; `None` for the last part of a finished snapshot (every key after
    /// the part before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_to: Option<Key>,
}

/// How keys compare, as the database orders them: integers by value, strings in the key
/// column's collation, binary strings byte by byte (asked of the server, since only it knows
/// its collations).
#[derive(Debug, Clone)]
pub enum KeyOrder {
    /// Integer keys: compared here.
    Numbers,
    /// String or binary keys: `sql` answers whether its first parameter sorts at or before its
    /// second.
    Server {
        /// The connections it is asked on.
        pool: MySqlPool,
        /// The comparison.
        sql: String,
    },
}

/// The key column's character set or collation is not a name sluice can put in a query.
#[derive(Debug, thiserror::Error)]
#[error("the key column's collation `{0}` is not a plain name")]
pub struct OddCollation(String);

/// The key column's order could not be learnt.
#[derive(Debug, thiserror::Error)]
pub enum KeyOrderError {
    /// Its collation could not be read.
    #[error("reading the key column's collation: {0}")]
    Database(#[from] sqlx::Error),
    /// Its collation cannot be named in a query.
    #[error(transparent)]
    Odd(#[from] OddCollation),
}

impl KeyOrder {
    /// The order of keys of `kind`; `collation` is the key column's character set and
    /// collation (strings only).
    pub fn new(
        kind: KeyKind,
        pool: &MySqlPool,
        collation: Option<(String, String)>,
    ) -> Result<Self, OddCollation> {
        let sql = match (kind, collation) {
            (KeyKind::Signed | KeyKind::Unsigned, _) => return Ok(Self::Numbers),
            (KeyKind::Text, Some((charset, collation))) => {
                for name in [&charset, &collation] {
                    if name.is_empty()
                        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    {
                        return Err(OddCollation(name.clone()));
                    }
                }
                let side = format!("CONVERT(? USING {charset}) COLLATE {collation}");
                format!("SELECT {side} <= {side}")
            }
            (KeyKind::Text | KeyKind::Bytes, _) => {
                "SELECT CAST(? AS BINARY) <= CAST(? AS BINARY)".to_owned()
            }
        };
        Ok(Self::Server {
            pool: pool.clone(),
            sql,
        })
    }

    /// The order of the keys in `column` of `database`.`table`, of `kind`.
    pub async fn of_column(
        kind: KeyKind,
        pool: &MySqlPool,
        database: &str,
        table: &str,
        column: &str,
    ) -> Result<Self, KeyOrderError> {
        let collation: Option<(Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT CHARACTER_SET_NAME, COLLATION_NAME FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?",
        )
        .bind(database)
        .bind(table)
        .bind(column)
        .fetch_optional(pool)
        .await?;
        let collation = match collation {
            Some((Some(charset), Some(collation))) => Some((charset, collation)),
            _ => None,
        };
        Ok(Self::new(kind, pool, collation)?)
    }

    /// Whether `key` sorts at or before `bound`.
    pub async fn at_or_before(&self, key: &Key, bound: &Key) -> Result<bool, sqlx::Error> {
        match (self, key, bound) {
            (_, Key::Signed(key), Key::Signed(bound)) => Ok(key <= bound),
            (_, Key::Unsigned(key), Key::Unsigned(bound)) => Ok(key <= bound),
            (Self::Server { pool, sql }, key, bound) => {
                let row = bound
                    .bind(key.bind(sqlx::query(sql)))
                    .fetch_one(pool)
                    .await?;
                let answer: Option<i64> = sqlx::Row::try_get(&row, 0)?;
                Ok(answer == Some(1))
            }
            (Self::Numbers, _, _) => Err(sqlx::Error::Protocol(format!(
                "keys {key:?} and {bound:?} are not of one integer kind"
            ))),
        }
    }
}

/// The parts of the snapshot the stream still has to filter by, oldest first; empty for a
/// snapshot taken whole (or once the stream has passed the last part's position).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seam {
    parts: Vec<SnapshotPart>,
}

impl Seam {
    /// The seam of `parts` (as saved).
    pub fn new(parts: Vec<SnapshotPart>) -> Self {
        let mut seam = Self { parts };
        seam.forget_single();
        seam
    }

    /// The parts to save with a position of the stream at `resume_at`: none once the stream is
    /// at or past the last part's position, since every change from there is published.
    pub fn parts_at(&self, resume_at: &BinlogPosition) -> Vec<SnapshotPart> {
        match self.parts.last() {
            Some(last) if !resume_at.is_at_or_after(&last.at) => self.parts.clone(),
            _ => Vec::new(),
        }
    }

    /// Whether a change of `key` in the transaction starting at `start` is published: it is
    /// unless the part that read `key` lies after `start` (that part's row holds the change).
    pub async fn publishes(
        &self,
        order: &KeyOrder,
        key: &Key,
        start: &BinlogPosition,
    ) -> Result<bool, sqlx::Error> {
        if self.parts_at(start).is_empty() {
            return Ok(true);
        }
        for part in &self.parts {
            let read_here = match &part.up_to {
                Some(last) => order.at_or_before(key, last).await?,
                None => true,
            };
            if read_here {
                return Ok(start.is_at_or_after(&part.at));
            }
        }
        // After the last key of an unfinished snapshot (the stream follows only a finished one,
        // whose last part reads every key): the snapshot's next part reads it.
        Ok(false)
    }

    /// A single part is the whole snapshot: the stream starts at its position and publishes
    /// every change from there, so nothing needs filtering.
    fn forget_single(&mut self) {
        if self.parts.len() == 1 && self.parts[0].up_to.is_none() {
            self.parts.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(offset: u64) -> BinlogPosition {
        BinlogPosition::new("binlog.000003", offset)
    }

    fn part(offset: u64, up_to: Option<i64>) -> SnapshotPart {
        SnapshotPart {
            at: at(offset),
            up_to: up_to.map(Key::Signed),
        }
    }

    #[tokio::test]
    async fn a_change_is_published_once_its_part_has_read_the_row_before_it() {
        // Keys up to 100 read at 1000, up to 250 at 2000, the rest at 3000.
        let seam = Seam::new(vec![
            part(1000, Some(100)),
            part(2000, Some(250)),
            part(3000, None),
        ]);
        let order = KeyOrder::Numbers;
        let publishes = |key: i64, start: u64| {
            let seam = seam.clone();
            let order = order.clone();
            async move {
                seam.publishes(&order, &Key::Signed(key), &at(start))
                    .await
                    .expect("integers compare")
            }
        };
        assert!(publishes(100, 1000).await);
        assert!(publishes(7, 1500).await);
        assert!(!publishes(101, 1500).await, "part two's row holds it");
        assert!(publishes(250, 2000).await);
        assert!(!publishes(251, 2999).await, "part three's row holds it");
        assert!(publishes(251, 3000).await);
        assert!(
            publishes(9_999, 4000).await,
            "past the seam every change is"
        );
    }

    #[test]
    fn parts_are_kept_until_the_stream_passes_the_last() {
        let seam = Seam::new(vec![part(1000, Some(100)), part(2000, None)]);
        assert_eq!(seam.parts_at(&at(1500)).len(), 2);
        assert!(seam.parts_at(&at(2000)).is_empty());
        assert!(seam
            .parts_at(&BinlogPosition::new("binlog.000004", 4))
            .is_empty());
        assert_eq!(Seam::new(vec![part(1000, None)]), Seam::default());
    }
}
