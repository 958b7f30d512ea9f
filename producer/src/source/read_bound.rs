//! How far the producer may read right now.
//!
//! Rows are read only up to a bound that a row still to be committed cannot fall behind:
//! `NOW(6) - commit_lag` by the database's clock, and, when the user may see other sessions'
//! transactions (the PROCESS privilege), no later than the start of the oldest open transaction
//! that has written rows. A long transaction then delays the pipeline instead of losing its rows.
//! With performance_schema's transaction and statement events (on by default in MySQL 8; see
//! the stack's MariaDB flags) that start is known to the microsecond, so a small commit lag
//! costs no more than the transactions' own length; from `information_schema` alone it is known
//! to the second and read one second early. Without PROCESS only the lag protects, and a
//! transaction open longer than it can be missed.

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
    last_held_back_log: Option<Instant>,
}

impl ReadBound {
    /// Finds out once how much of the open transactions can be seen, and says so.
    pub async fn new(pool: &MySqlPool, commit_lag: Duration) -> Self {
        let view = transaction_view(pool).await;
        match view {
            TransactionView::Precise => tracing::info!(
                "open transactions hold reading back to their start, to the microsecond (performance_schema)"
            ),
            TransactionView::WholeSeconds => tracing::info!(
                "open transactions hold reading back to one second before their start (information_schema); turn on performance_schema's transaction and statement events for a bound to the microsecond"
            ),
            TransactionView::None => tracing::warn!(
                "the MySQL user cannot see open transactions (grant it PROCESS): only producer.commit_lag_ms ({} ms) protects against late commits, and a transaction open longer than that can be missed",
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
            last_held_back_log: None,
        }
    }

    /// How much of the open transactions this bound sees.
    pub fn view(&self) -> TransactionView {
        self.view
    }

    /// The newest timestamp that may be read now, and the database's clock (both UTC).
    pub async fn current(
        &mut self,
        pool: &MySqlPool,
    ) -> Result<(NaiveDateTime, NaiveDateTime), sqlx::Error> {
        let lag = i64::try_from(self.commit_lag.as_micros()).unwrap_or(i64::MAX);
        let margin = STATEMENT_TO_TRANSACTION_MARGIN.as_micros() as i64;
        let query = match self.view {
            TransactionView::Precise => sqlx::query_as(PRECISE_SQL).bind(lag).bind(margin),
            TransactionView::WholeSeconds => sqlx::query_as(WHOLE_SECONDS_SQL).bind(lag),
            TransactionView::None => sqlx::query_as(LAG_ONLY_SQL).bind(lag),
        };
        let (bound, lag_bound, now): (NaiveDateTime, NaiveDateTime, NaiveDateTime) =
            query.bind(lag).fetch_one(pool).await?;
        if lag_bound - bound >= HELD_BACK_WORTH_SAYING {
            let due = self
                .last_held_back_log
                .is_none_or(|at| at.elapsed() >= HELD_BACK_LOG_EVERY);
            if due {
                tracing::info!(
                    "reading held back to {bound} UTC by a transaction still open since then"
                );
                self.last_held_back_log = Some(Instant::now());
            }
        }
        Ok((bound, now))
    }
}

/// The database's clock (UTC), for the lag while no read bound is taken.
pub async fn database_clock(pool: &MySqlPool) -> Result<NaiveDateTime, sqlx::Error> {
    sqlx::query_scalar("SELECT NOW(6)").fetch_one(pool).await
}

/// The best view the user and server allow: PROCESS to see `innodb_trx`, and performance_schema
/// with its transaction and statement events on (and readable) for the precise one.
async fn transaction_view(pool: &MySqlPool) -> TransactionView {
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
