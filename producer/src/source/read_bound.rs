//! How far the producer may read right now.
//!
//! Rows are read only up to a bound that a row still to be committed cannot fall behind:
//! `NOW(6) - commit_lag` by the database's clock, and, when the user may see other sessions'
//! transactions (the PROCESS privilege), no later than the start of the oldest open transaction
//! that has written rows. A long transaction then delays the pipeline instead of losing its rows.
//! Without PROCESS only the lag protects, and a transaction open longer than it can be missed.

use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use sqlx::MySqlPool;

const BOUND_SQL: &str = include_str!("read_bound.sql");
const LAG_ONLY_SQL: &str =
    "SELECT NOW(6) - INTERVAL ? MICROSECOND AS bound, NOW(6) - INTERVAL ? MICROSECOND AS lag_bound";
const HELD_BACK_LOG_EVERY: Duration = Duration::from_secs(10);

/// Computes the read bound, with or without the view of open transactions.
pub struct ReadBound {
    sees_transactions: bool,
    commit_lag: Duration,
    last_held_back_log: Option<Instant>,
}

impl ReadBound {
    /// Checks once whether open transactions can be seen, and says so when they cannot.
    pub async fn new(pool: &MySqlPool, commit_lag: Duration) -> Self {
        let sees_transactions = sqlx::query("SELECT COUNT(*) FROM information_schema.innodb_trx")
            .fetch_one(pool)
            .await
            .is_ok();
        if !sees_transactions {
            tracing::warn!(
                "the MySQL user cannot see open transactions (grant it PROCESS): only producer.commit_lag_ms ({} ms) protects against late commits, and a transaction open longer than that can be missed",
                commit_lag.as_millis()
            );
        }
        Self {
            sees_transactions,
            commit_lag,
            last_held_back_log: None,
        }
    }

    /// The newest timestamp that may be read now, and the database's clock (both UTC).
    pub async fn current(
        &mut self,
        pool: &MySqlPool,
    ) -> Result<(NaiveDateTime, NaiveDateTime), sqlx::Error> {
        let lag = i64::try_from(self.commit_lag.as_micros()).unwrap_or(i64::MAX);
        let sql = if self.sees_transactions {
            BOUND_SQL
        } else {
            LAG_ONLY_SQL
        };
        let (bound, lag_bound, now): (NaiveDateTime, NaiveDateTime, NaiveDateTime) =
            sqlx::query_as(sql)
                .bind(lag)
                .bind(lag)
                .fetch_one(pool)
                .await?;
        if bound < lag_bound {
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
