//! How far the producer may read right now.
//!
//! Invariant: rows are read only up to a bound that a row still to be committed cannot fall
//! behind. When the user may see other sessions' transactions (the PROCESS privilege), that is
//! no later than the start of the oldest open transaction that has written rows or waits for a
//! lock, so a long transaction delays the pipeline instead of losing its rows. With
//! performance_schema's transaction and statement events (on by default in MySQL 8; see the
//! stack's MariaDB flags) that start, and that of every statement waiting for a lock, is known
//! to the microsecond, and no time lag is added: committed rows wait for nothing but
//! the open work older than them, so a row changed every few milliseconds is still read at
//! every poll. From `information_schema` alone the start is known to the second and read one
//! second early, and `commit_lag` applies too; without PROCESS only `commit_lag` protects, and a
//! transaction open longer than it can be missed. In both, a row changed more often than the
//! lag waits while its changes go on.
//!
//! A timestamp column with fewer digits than microseconds stamps a row earlier than the work
//! that wrote it (`TIMESTAMP(0)` cuts 12:00:00.7 to 12:00:00; MySQL 8 rounds, which can go
//! either way), so the bound is then cut to the column's precision and stops just before that:
//! open work that began at or after the bound writes nothing older.

use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use sqlx::MySqlPool;

const PRECISE_SQL: &str = include_str!("read_bound_precise.sql");
const WHOLE_SECONDS_SQL: &str = include_str!("read_bound.sql");
const LAG_ONLY_SQL: &str = "SELECT NOW(6) - INTERVAL ? MICROSECOND AS bound, \
     NOW(6) - INTERVAL ? MICROSECOND AS lag_bound, NOW(6) AS now";
/// The performance_schema settings the precise bound needs, all of which must be on.
const PRECISE_READY_SQL: &str = "SELECT
    (SELECT COUNT(*) FROM performance_schema.setup_consumers WHERE ENABLED = 'YES' AND NAME IN
        ('global_instrumentation', 'thread_instrumentation',
         'events_transactions_current', 'events_statements_current'))
  + (SELECT COUNT(*) FROM performance_schema.setup_instruments
        WHERE NAME = 'transaction' AND ENABLED = 'YES' AND TIMED = 'YES')";
const PRECISE_READY_COUNT: i64 = 5;
/// From a statement's start to its transaction's: microseconds as a rule; the margin is the
/// bound's only cost at `commit_lag_ms = 0` beyond the transactions' length.
const STATEMENT_TO_TRANSACTION_MARGIN: Duration = Duration::from_millis(5);
const HELD_BACK_LOG_EVERY: Duration = Duration::from_secs(10);
/// Short transactions hold the precise bound back by milliseconds all the time; a log line is
/// for one that holds it back noticeably.
const HELD_BACK_WORTH_SAYING: chrono::TimeDelta = chrono::TimeDelta::seconds(1);

/// What the producer can see of other sessions' open transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionView {
    /// Their starts to the microsecond (PROCESS, and performance_schema's events).
    Precise,
    /// Their starts to the second (PROCESS only).
    WholeSeconds,
    /// Nothing: only the commit lag protects.
    None,
}

/// Computes the read bound, with as precise a view of open transactions as the server allows.
pub struct ReadBound {
    view: TransactionView,
    commit_lag: Duration,
    /// The timestamp column's resolution, in microseconds: 1 for `TIMESTAMP(6)`.
    resolution_micros: i64,
    last_held_back_log: Option<Instant>,
}

impl ReadBound {
    /// Finds out once how much of the open transactions can be seen, and says so.
    pub async fn new(pool: &MySqlPool, commit_lag: Duration) -> Self {
        let view = transaction_view(pool).await;
        match view {
            TransactionView::Precise => tracing::info!(
                "open transactions and statements waiting for a lock hold reading back to their start, to \
                 the microsecond (performance_schema); producer.commit_lag_ms is not needed and \
                 not applied"
            ),
            TransactionView::WholeSeconds => tracing::info!(
                commit_lag_ms = commit_lag.as_millis() as u64,
                "open transactions hold reading back to one second before their start \
                 (information_schema), and rows are read once producer.commit_lag_ms ({} ms) \
                 old: a row changed more often than that waits while its changes go on; turn on \
                 performance_schema's transaction and statement events for a bound to the \
                 microsecond and no lag",
                commit_lag.as_millis()
            ),
            TransactionView::None => tracing::warn!(
                commit_lag_ms = commit_lag.as_millis() as u64,
                "the MySQL user cannot see open transactions (grant it PROCESS): only \
                 producer.commit_lag_ms ({} ms) protects against late commits, a transaction \
                 open longer than that can be missed, and a row changed more often than that \
                 waits while its changes go on (sluice_producer_held_back_seconds)",
                commit_lag.as_millis()
            ),
        }
        Self::with_view(view, commit_lag)
    }

    /// A bound with the given view, whatever the server allows: for tests of each query.
    pub fn with_view(view: TransactionView, commit_lag: Duration) -> Self {
        Self {
            view,
            commit_lag,
            resolution_micros: 1,
            last_held_back_log: None,
        }
    }

    /// For a timestamp column that keeps `digits` digits of a second (0 to 6).
    pub fn for_fractional_digits(mut self, digits: i64) -> Self {
        self.set_fractional_digits(digits);
        self
    }

    /// From now on, for a timestamp column that keeps `digits` digits of a second (an
    /// `ALTER TABLE` changed it).
    pub fn set_fractional_digits(&mut self, digits: i64) {
        let digits = u32::try_from(digits.clamp(0, 6)).unwrap_or(6);
        self.resolution_micros = 10_i64.pow(6 - digits);
    }

    /// How much of the open transactions this bound sees.
    pub fn view(&self) -> TransactionView {
        self.view
    }

    /// How old a row must be before it is read: none with the precise view, which sees every
    /// piece of open work that could still commit an older row.
    pub fn lag(&self) -> Duration {
        match self.view {
            TransactionView::Precise => Duration::ZERO,
            TransactionView::WholeSeconds | TransactionView::None => self.commit_lag,
        }
    }

    /// The newest timestamp that may be read now, and the database's clock (both UTC).
    pub async fn current(
        &mut self,
        pool: &MySqlPool,
    ) -> Result<(NaiveDateTime, NaiveDateTime), sqlx::Error> {
        let lag = i64::try_from(self.lag().as_micros()).unwrap_or(i64::MAX);
        let margin = STATEMENT_TO_TRANSACTION_MARGIN.as_micros() as i64;
        let query = match self.view {
            TransactionView::Precise => sqlx::query_as(PRECISE_SQL).bind(lag).bind(margin),
            TransactionView::WholeSeconds => sqlx::query_as(WHOLE_SECONDS_SQL).bind(lag),
            TransactionView::None => sqlx::query_as(LAG_ONLY_SQL).bind(lag),
        };
        let (bound, lag_bound, now): (NaiveDateTime, NaiveDateTime, NaiveDateTime) =
            query.bind(lag).fetch_one(pool).await?;
        // Whether open work holds reading back is judged before the cut to the column's
        // precision, which alone can take up to a second off.
        if lag_bound - bound >= HELD_BACK_WORTH_SAYING {
            let due = self
                .last_held_back_log
                .is_none_or(|at| at.elapsed() >= HELD_BACK_LOG_EVERY);
            if due {
                tracing::info!(
                    bound = %bound,
                    "reading held back to {bound} UTC by a transaction still open since then"
                );
                self.last_held_back_log = Some(Instant::now());
            }
        }
        Ok((before_open_work(bound, self.resolution_micros), now))
    }
}

/// The newest timestamp a column of `resolution_micros` may be read up to, given that no open
/// work began before `bound`: such work stamps its rows no earlier than `bound` cut to the
/// resolution, so reading stops one microsecond before that. At microsecond resolution that is
/// `bound` itself.
fn before_open_work(bound: NaiveDateTime, resolution_micros: i64) -> NaiveDateTime {
    if resolution_micros <= 1 {
        return bound;
    }
    let micros = bound.and_utc().timestamp_micros();
    let cut = micros - micros.rem_euclid(resolution_micros) - 1;
    chrono::DateTime::from_timestamp_micros(cut).map_or(bound, |at| at.naive_utc())
}

/// The database's clock (UTC), for the lag while no read bound is taken.
pub async fn database_clock(pool: &MySqlPool) -> Result<NaiveDateTime, sqlx::Error> {
    sqlx::query_scalar("SELECT NOW(6)").fetch_one(pool).await
}

/// The best view the user and server allow: PROCESS to see `innodb_trx`, and performance_schema
/// with its transaction and statement events on (and readable) for the precise one.
pub(crate) async fn transaction_view(pool: &MySqlPool) -> TransactionView {
    let sees_transactions = sqlx::query("SELECT COUNT(*) FROM information_schema.innodb_trx")
        .fetch_one(pool)
        .await
        .is_ok();
    if !sees_transactions {
        return TransactionView::None;
    }
    let ready: Result<i64, _> = sqlx::query_scalar(PRECISE_READY_SQL).fetch_one(pool).await;
    let precise_runs = ReadBound::with_view(TransactionView::Precise, Duration::ZERO)
        .current(pool)
        .await
        .is_ok();
    if ready.is_ok_and(|n| n == PRECISE_READY_COUNT) && precise_runs {
        TransactionView::Precise
    } else {
        TransactionView::WholeSeconds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_precise_view_reads_without_a_lag() {
        let lag = Duration::from_millis(2000);
        let bound = |view| ReadBound::with_view(view, lag).lag();
        assert_eq!(bound(TransactionView::Precise), Duration::ZERO);
        assert_eq!(bound(TransactionView::WholeSeconds), lag);
        assert_eq!(bound(TransactionView::None), lag);
    }

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").expect("timestamp")
    }

    #[test]
    fn a_coarse_column_is_read_up_to_just_before_the_bound_cut_to_its_precision() {
        let bound = at("2026-12-01 12:00:07.654321");
        assert_eq!(before_open_work(bound, 1), bound);
        assert_eq!(
            before_open_work(bound, 1_000_000),
            at("2026-12-01 12:00:06.999999")
        );
        assert_eq!(
            before_open_work(bound, 1_000),
            at("2026-12-01 12:00:07.653999")
        );
        // A bound on a whole second: work that began then stamps that second.
        assert_eq!(
            before_open_work(at("2026-12-01 12:00:07"), 1_000_000),
            at("2026-12-01 12:00:06.999999")
        );
        let digits = |n| {
            ReadBound::with_view(TransactionView::Precise, Duration::ZERO)
                .for_fractional_digits(n)
                .resolution_micros
        };
        assert_eq!(
            (digits(0), digits(3), digits(6), digits(9)),
            (1_000_000, 1_000, 1, 1)
        );
    }
}
