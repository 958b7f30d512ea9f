//! Reading pages of changed rows, on a task of their own when asked to read ahead: the next page
//! is then fetched and decoded by sqlx on one core while the current page is encoded on the
//! other. Read in turn, the two added up and the producer stalled on every page.
//!
//! A page holds at most `batch_size` rows and, once the caller has said what a row weighs, at
//! most `PAGE_BYTES` of them: wide rows make shorter pages, so the pages in flight and the one
//! read ahead hold a bounded amount of memory whatever the table's rows carry.
//!
//! Invariant: no page is returned that was read from a table whose columns differ from the ones
//! the plan was made for. After each page the catalogue is read again (`TableWatch`); an
//! `ALTER TABLE` cannot complete while the page's statement runs (it waits for the statement's
//! metadata lock), so a catalogue unchanged after the page was unchanged during it. A change
//! discards the page and says so (`ReadError::TableChanged`): the caller plans again and
//! reads the same rows with the new columns.
//!
//! While pages come back full (a backlog), the read bound for the next page is taken on the
//! pool's second connection while this page is read, rather than in turn before it: that query
//! cost a tenth of the reading time. A bound taken earlier is never later than one taken now,
//! so rows up to it are as safe to read; it is used only while fresh, so a quiet table is still
//! read up to the moment.

use std::time::{Duration, Instant};

use crate::source::key::Key;
use crate::watermark::{KeyBound, ReadOrder, Watermark};
use chrono::NaiveDateTime;
use prometheus::Histogram;
use sluice_common::events::Event;
use sqlx::mysql::MySqlRow;
use sqlx::MySqlPool;

use crate::events::PageRead;
use crate::source::catalogue::{table_columns, TableWatch};
use crate::source::keyset::KeysetQuery;
use crate::source::read_bound::{database_clock, ReadBound};
use crate::source::row;
use crate::source::wall_time::WallTime;

/// Why no page was read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The database did not answer, or refused.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The table's columns are not the ones the plan was made for: the page was discarded.
    #[error("the table's columns changed")]
    TableChanged,
}

/// One page of rows, with the bound it was read up to and the database's clock then.
pub struct Page {
    /// The rows, in the order of the cursor they were read after.
    pub rows: Vec<MySqlRow>,
    /// The newest timestamp that could be read.
    pub bound: NaiveDateTime,
    /// The database's clock when the bound was taken.
    pub now: NaiveDateTime,
    /// Where the page was read from.
    cursor: Watermark,
    /// Whether the query returned as many rows as asked for.
    full: bool,
    /// In key order, the last key the query returned, whether its row was kept or not.
    last_key: Option<Key>,
}

impl Page {
    /// Whether every row up to the read bound is read: a page of changes that is not full. A
    /// key-order snapshot is never the end, since changes follow it.
    pub fn caught_up(&self) -> bool {
        self.cursor.order == ReadOrder::Timestamp && !self.full
    }

    /// Where reading goes on after this page; `None` after an empty page of changes, which
    /// leaves the cursor where it was.
    pub fn end(&self, query: &KeysetQuery) -> Result<Option<Watermark>, sqlx::Error> {
        Ok(match self.cursor.order {
            ReadOrder::Timestamp => self
                .rows
                .last()
                .map(|row| row::position(row, query))
                .transpose()?,
            ReadOrder::Key => Some(
                self.cursor
                    .clone()
                    .after_key_page(self.last_key.clone(), self.full),
            ),
        })
    }
}

/// A bound taken this long ago or less is still used for the next page.
const EARLY_BOUND_FRESH_FOR: Duration = Duration::from_millis(100);

/// Row data one page holds at most, once the weight of a row is known.
pub const PAGE_BYTES: usize = 2 * 1024 * 1024;
/// Rows a page holds at least, however heavy its rows (unless `batch_size` is smaller).
const MIN_PAGE_ROWS: u32 = 16;

/// Rows per page for rows of `bytes_per_row`: as many as fit in `PAGE_BYTES`, between
/// `MIN_PAGE_ROWS` and `batch_size`.
fn page_rows_for(batch_size: u32, bytes_per_row: usize) -> u32 {
    let fit = u32::try_from(PAGE_BYTES / bytes_per_row.max(1)).unwrap_or(u32::MAX);
    fit.clamp(MIN_PAGE_ROWS.min(batch_size), batch_size)
}

/// A read bound taken before the page it is for, and when.
struct EarlyBound {
    bound: NaiveDateTime,
    now: NaiveDateTime,
    taken: Instant,
}

impl EarlyBound {
    /// The bound, and the database's clock moved on by the time since it was taken; `None` once
    /// it is too old to use.
    fn if_fresh(self) -> Option<(NaiveDateTime, NaiveDateTime)> {
        let age = self.taken.elapsed();
        (age <= EARLY_BOUND_FRESH_FOR).then(|| {
            let since = chrono::TimeDelta::from_std(age).unwrap_or_default();
            (self.bound, self.now + since)
        })
    }
}

/// Reads one page at a time after a position; owns what a read needs, so it can move to a task.
pub struct PageReader {
    pool: MySqlPool,
    query: KeysetQuery,
    read_bound: ReadBound,
    batch_size: u32,
    /// Rows the next page asks for: `batch_size`, or fewer for heavy rows.
    page_rows: u32,
    seconds: Histogram,
    /// Whether the last page came back full: more rows are waiting.
    backlog: bool,
    early_bound: Option<EarlyBound>,
    /// The columns each page must have been read with; none: not watched.
    watch: Option<TableWatch>,
}

impl PageReader {
    /// A reader of `batch_size` rows per page; each read is timed into `seconds`.
    pub fn new(
        pool: MySqlPool,
        query: KeysetQuery,
        read_bound: ReadBound,
        batch_size: u32,
        seconds: Histogram,
    ) -> Self {
        Self {
            pool,
            query,
            read_bound,
            batch_size,
            page_rows: batch_size,
            seconds,
            backlog: false,
            early_bound: None,
            watch: None,
        }
    }

    /// Returns only pages read while the table had `watch`'s columns.
    pub fn watching(mut self, watch: TableWatch) -> Self {
        self.watch = Some(watch);
        self
    }

    /// Reads with `query`, planned for `watch`'s columns and a timestamp of `timestamp_digits`
    /// digits of a second, from now on (after an `ALTER TABLE`).
    pub fn replan(&mut self, query: KeysetQuery, watch: TableWatch, timestamp_digits: i64) {
        self.query = query;
        self.watch = Some(watch);
        self.read_bound.set_fractional_digits(timestamp_digits);
        self.early_bound = None;
    }

    /// Sizes the pages from here on for rows of `bytes_per_row`: at most `PAGE_BYTES` of them,
    /// between a few rows and `batch_size`.
    pub fn fit_pages_to(&mut self, bytes_per_row: usize) {
        self.page_rows = page_rows_for(self.batch_size, bytes_per_row);
    }

    /// Rows the next page asks for.
    pub fn page_rows(&self) -> u32 {
        self.page_rows
    }

    /// The page after `cursor`: in timestamp order up to the current read bound, or in key
    /// order up to the snapshot's; watched, only if the table's columns did not change.
    pub async fn fetch(&mut self, cursor: &Watermark) -> Result<Page, ReadError> {
        let started = Instant::now();
        let page = match cursor.order {
            ReadOrder::Timestamp => self.changes_after(cursor).await,
            ReadOrder::Key => self.snapshot_after(cursor).await,
        };
        // A page that failed is looked at too: a dropped column fails the page's query. No
        // columns at all is no verdict: a table the user can no longer see (a grant taken
        // away, the table dropped) says so through the page's own query, now or at the next.
        if let Some(watch) = &self.watch {
            let columns = table_columns(&self.pool, &watch.database, &watch.table).await;
            match columns {
                Ok(columns) if !columns.is_empty() && columns != watch.columns => {
                    return Err(ReadError::TableChanged)
                }
                Ok(_) => {}
                Err(error) => {
                    page?;
                    return Err(ReadError::Database(error));
                }
            }
        }
        PageRead {
            rows: page.as_ref().map_or(0, |page| page.rows.len()),
            took: started.elapsed(),
            histogram: &self.seconds,
        }
        .emit();
        Ok(page?)
    }

    /// A key-order page, with the database's clock taken on the other connection meanwhile.
    /// Rows changed after the snapshot's bound are dropped: reading changes in timestamp order
    /// from that bound publishes them.
    async fn snapshot_after(&mut self, cursor: &Watermark) -> Result<Page, sqlx::Error> {
        let bound = cursor.last_updated.naive_utc();
        let page = async {
            match self.query.key_page_after(&cursor.key, self.page_rows) {
                Some(page) => page.fetch_all(&self.pool).await,
                None => Ok(Vec::new()),
            }
        };
        let (rows, now) = tokio::join!(page, database_clock(&self.pool));
        let mut rows = rows?;
        let full = rows.len() >= self.page_rows as usize;
        let layout = self.query.layout();
        let last_key = rows.last().map(|row| self.query.key_of(row)).transpose()?;
        let bound_time = WallTime::of(&cursor.last_updated).ok_or_else(|| {
            sqlx::Error::Decode(format!("snapshot bound {bound} is out of range").into())
        })?;
        let mut unreadable = None;
        rows.retain(|row| match row::timestamp(row, layout) {
            Ok(at) => at.is_some_and(|at| at <= bound_time),
            Err(error) => {
                unreadable.get_or_insert(error);
                false
            }
        });
        if let Some(error) = unreadable {
            return Err(error);
        }
        Ok(Page {
            rows,
            bound,
            now: now?,
            cursor: cursor.clone(),
            full,
            last_key,
        })
    }

    /// A page of changes in timestamp order, up to the current read bound: the rest of the
    /// cursor's timestamp, then as many rows after it as the page has room for.
    async fn changes_after(&mut self, cursor: &Watermark) -> Result<Page, sqlx::Error> {
        let (bound, now) = match self.early_bound.take().and_then(EarlyBound::if_fresh) {
            Some(taken) => taken,
            None => self.read_bound.current(&self.pool).await?,
        };
        let (query, pool, limit) = (&self.query, &self.pool, self.page_rows);
        let page = async move {
            let mut rows = rest_of_timestamp(query, pool, cursor, bound, limit).await?;
            let room = limit.saturating_sub(rows.len() as u32);
            if room > 0 {
                rows.extend(
                    query
                        .page_after(cursor, bound, room)
                        .fetch_all(pool)
                        .await?,
                );
            }
            Ok::<_, sqlx::Error>(rows)
        };
        let rows = if self.backlog {
            let taken = Instant::now();
            let (rows, next) = tokio::join!(page, self.read_bound.current(&self.pool));
            // A bound that failed is taken again, in turn, for the next page.
            self.early_bound = next
                .ok()
                .map(|(bound, now)| EarlyBound { bound, now, taken });
            rows?
        } else {
            page.await?
        };
        let full = rows.len() >= limit as usize;
        self.backlog = full;
        Ok(Page {
            rows,
            bound,
            now,
            cursor: cursor.clone(),
            full,
            last_key: None,
        })
    }
}

/// The rows of the cursor's timestamp after its key, up to `bound`, at most `limit`: read as a
/// range of the primary key when their keys lie close together (the range then holds at most a
/// quarter more rows than it returns, and reads each in place), else through the timestamp
/// index, each row looked up. A bulk UPDATE of a run of keys is read at the cost of a snapshot.
async fn rest_of_timestamp(
    query: &KeysetQuery,
    pool: &MySqlPool,
    cursor: &Watermark,
    bound: NaiveDateTime,
    limit: u32,
) -> Result<Vec<MySqlRow>, sqlx::Error> {
    let keys = query.tie_keys_after(pool, cursor, bound, limit).await?;
    let Some(last_key) = keys.last() else {
        return Ok(Vec::new());
    };
    if let KeyBound::At(after) = &cursor.key {
        if close_together(after, last_key, keys.len()) {
            return query
                .tie_key_range(cursor, after, last_key)
                .fetch_all(pool)
                .await;
        }
    }
    match query.tie_page_after(cursor, bound, limit) {
        Some(page) => page.fetch_all(pool).await,
        None => Ok(Vec::new()),
    }
}

/// Whether the integer keys after `after` up to `last` span at most a quarter more keys than
/// the `found` rows among them: a primary-key range over them then reads few rows it does not
/// return. Keys that are not integers have no span: never.
fn close_together(after: &Key, last: &Key, found: usize) -> bool {
    let wide = |key: &Key| match key {
        Key::Signed(n) => Some(i128::from(*n)),
        Key::Unsigned(n) => Some(i128::from(*n)),
        Key::Text(_) | Key::Bytes(_) => None,
    };
    let (Some(after), Some(last)) = (wide(after), wide(last)) else {
        return false;
    };
    let found = found as i128;
    last - after <= found + found / 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heavy_rows_make_short_pages() {
        assert_eq!(page_rows_for(5000, 60), 5000, "light rows: the batch size");
        assert_eq!(page_rows_for(5000, 2100), (PAGE_BYTES / 2100) as u32);
        assert_eq!(page_rows_for(5000, 10 * 1024 * 1024), MIN_PAGE_ROWS);
        assert_eq!(
            page_rows_for(8, 10 * 1024 * 1024),
            8,
            "never above the batch size"
        );
        assert_eq!(page_rows_for(5000, 0), 5000);
    }

    #[test]
    fn keys_are_close_together_when_the_range_holds_few_rows_besides_them() {
        let close =
            |after, last, found| close_together(&Key::Signed(after), &Key::Signed(last), found);
        // 5 000 keys right after the cursor's: the range is the rows.
        assert!(close(100, 5100, 5000));
        // A quarter more keys than rows: still read as a range.
        assert!(close(0, 6250, 5000));
        assert!(!close(0, 6251, 5000));
        // Every seventh key: looked up through the timestamp index.
        assert!(!close(0, 35_000, 5000));
        assert!(!close(i64::MIN, 10, 10));
        assert!(close(i64::MAX - 1, i64::MAX, 1));
        assert!(close_together(
            &Key::Unsigned(u64::MAX - 1),
            &Key::Unsigned(u64::MAX),
            1
        ));
        let text = |t: &str| Key::Text(t.into());
        assert!(!close_together(&text("a"), &text("b"), 1));
    }
}
