//! A shop's writes at a steady rate: random products updated in transactions of a few rows,
//! committed on several connections side by side, each transaction one statement.
//!
//! Every update has a number N, counted from 0 across all connections, and leaves the product's
//! name ending in ` #N`, so a line downstream says which update it carries.
//!
//! A transaction the server goes away under (a restart) has an unknown outcome: its numbers are
//! left out of the journal and the load goes on.
//!
//! Invariant: the updates of one product are committed in the order of their numbers. Each
//! connection owns the products whose id is its index modulo the connections, and commits one
//! transaction at a time; so no two connections touch the same row, wait for or deadlock each
//! other, and a later number of a product is a later commit of it.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use sluice_common::shutdown::Shutdown;
use sqlx::MySqlPool;
use tokio::sync::mpsc;

use super::random_price;
use sluice_common::mysql::quote_identifier;

/// How often the achieved rate is logged.
const LOG_EVERY: Duration = Duration::from_secs(5);
/// Committed transactions waiting for the journal, at most.
const JOURNAL_BACKLOG: usize = 1024;
/// Attempts of one transaction that a deadlock or lock wait timeout ends.
const ATTEMPTS: u32 = 5;
/// Pause after a transaction the server went away under.
const RECONNECT_PAUSE: Duration = Duration::from_millis(500);

/// Why the simulation stopped early.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    /// An update or commit failed.
    #[error("updating products failed: {0}")]
    Database(#[from] sqlx::Error),
    /// The journal could not be written.
    #[error("writing the update journal failed: {0}")]
    Journal(#[from] std::io::Error),
    /// A connection's task ended abnormally.
    #[error("an updating task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// The writes to simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    /// Products `1..=products` are picked from.
    pub products: i64,
    /// Updates per second, all connections together; 0 for as fast as the database takes them.
    pub rate: u32,
    /// Updates per transaction (at most `products`).
    pub transaction_rows: u32,
    /// Connections committing side by side.
    pub connections: u32,
}

/// One committed transaction: its updates' numbers and products, and when its commit returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// `(N, product id)` of each update.
    pub updates: Vec<(u64, i64)>,
    /// Unix microseconds, this host's clock.
    pub at_micros: i64,
}

/// Updates random products as `load` says until shutdown; with a `journal`, each update is
/// written to it once committed as `N id commit-time` (Unix microseconds), so a reader of the
/// output can time every change, not only those it saw a line of. Returns the updates committed.
pub async fn simulate(
    pool: &MySqlPool,
    table: &str,
    load: Load,
    shutdown: &Shutdown,
    mut journal: Option<&mut (dyn std::io::Write + Send)>,
) -> Result<u64, SimulateError> {
    let connections = load
        .connections
        .clamp(1, u32::try_from(load.products.max(1)).unwrap_or(u32::MAX));
    let smallest_share = Owned::new(load.products, connections - 1, connections).count;
    let load = Load {
        transaction_rows: load
            .transaction_rows
            .clamp(1, u32::try_from(smallest_share.max(1)).unwrap_or(u32::MAX)),
        connections,
        ..load
    };
    let numbers = Arc::new(AtomicU64::new(0));
    let (sender, mut committed) = mpsc::channel(JOURNAL_BACKLOG);
    let mut writers = Vec::new();
    for index in 0..load.connections {
        let writer = Writer {
            owned: Owned::new(load.products, index, load.connections),
            pool: pool.clone(),
            sql: statement(table, load.transaction_rows),
            load,
            numbers: Arc::clone(&numbers),
            shutdown: shutdown.clone(),
            committed: sender.clone(),
        };
        writers.push(tokio::spawn(writer.run()));
    }
    drop(sender);
    let started = Instant::now();
    let mut last_log = Instant::now();
    let mut updated = 0u64;
    while let Some(transaction) = committed.recv().await {
        let transaction: Committed = transaction;
        updated += transaction.updates.len() as u64;
        if let Some(journal) = journal.as_deref_mut() {
            for (n, id) in &transaction.updates {
                writeln!(journal, "{n} {id} {}", transaction.at_micros)?;
            }
        }
        if last_log.elapsed() >= LOG_EVERY {
            let achieved = updated as f64 / started.elapsed().as_secs_f64();
            tracing::info!("updated {updated} rows ({achieved:.0}/s)");
            last_log = Instant::now();
        }
    }
    for writer in writers {
        writer.await??;
    }
    Ok(updated)
}

/// One transaction's statement: `rows` products, each given a price and its update's number.
fn statement(table: &str, rows: u32) -> String {
    let picked = (0..rows)
        .map(|n| {
            if n == 0 {
                "SELECT ? AS id, ? AS price, ? AS n".to_owned()
            } else {
                "SELECT ?, ?, ?".to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    format!(
        "UPDATE {} AS t JOIN ({picked}) AS picked ON t.id = picked.id \
         SET t.price = picked.price, \
             t.name = CONCAT(SUBSTRING_INDEX(t.name, ' #', 1), ' #', picked.n)",
        quote_identifier(table)
    )
}

/// The products one connection updates: ids `first`, `first + step`, … up to the last product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Owned {
    first: i64,
    step: i64,
    count: i64,
}

impl Owned {
    /// The share of connection `index` (from 0) of `connections` over products `1..=products`.
    fn new(products: i64, index: u32, connections: u32) -> Self {
        let (first, step) = (i64::from(index) + 1, i64::from(connections.max(1)));
        let count = if products >= first {
            (products - first) / step + 1
        } else {
            0
        };
        Self { first, step, count }
    }

    /// The `k`-th product of the share.
    fn id(self, k: i64) -> i64 {
        self.first + k * self.step
    }
}

/// One connection's share of the load.
struct Writer {
    owned: Owned,
    pool: MySqlPool,
    sql: String,
    load: Load,
    numbers: Arc<AtomicU64>,
    shutdown: Shutdown,
    committed: mpsc::Sender<Committed>,
}

impl Writer {
    async fn run(self) -> Result<(), SimulateError> {
        let rows = self.load.transaction_rows;
        // Each connection paces its own transactions; a late one is sent at once.
        let interval = (self.load.rate > 0).then(|| {
            Duration::from_secs_f64(
                f64::from(rows) * f64::from(self.load.connections) / f64::from(self.load.rate),
            )
        });
        let mut due = tokio::time::Instant::now();
        while !self.shutdown.requested() {
            if let Some(interval) = interval {
                let wait = due.saturating_duration_since(tokio::time::Instant::now());
                if self.shutdown.sleep(wait).await {
                    break;
                }
                due += interval;
            }
            let picked = self.pick(rows);
            let first = self
                .numbers
                .fetch_add(picked.len() as u64, Ordering::Relaxed);
            let updates: Vec<(u64, i64)> = (first..).zip(picked).collect();
            match self.commit(&updates).await {
                Ok(()) => {}
                Err(SimulateError::Database(error)) if connection_lost(&error) => {
                    // Whether it committed is unknown: its numbers stay out of the journal (a
                    // reader counts a line of one apart), and the load goes on.
                    tracing::warn!(
                        "a transaction's outcome is unknown ({error}); its updates are left out \
                         of the journal, and the load goes on in {RECONNECT_PAUSE:?}"
                    );
                    if self.shutdown.sleep(RECONNECT_PAUSE).await {
                        break;
                    }
                    continue;
                }
                Err(error) => return Err(error),
            }
            let at_micros = chrono::Utc::now().timestamp_micros();
            if self
                .committed
                .send(Committed { updates, at_micros })
                .await
                .is_err()
            {
                break;
            }
        }
        Ok(())
    }

    /// `rows` distinct products of its share (it holds at least that many), in key order.
    fn pick(&self, rows: u32) -> BTreeSet<i64> {
        let mut rng = rand::rng();
        let mut picked = BTreeSet::new();
        let wanted = (rows as usize).min(usize::try_from(self.owned.count).unwrap_or(0));
        while picked.len() < wanted {
            picked.insert(self.owned.id(rng.random_range(0..self.owned.count)));
        }
        picked
    }

    /// Commits the updates as one statement; a deadlock or lock wait timeout (with another
    /// client of the table) is tried again.
    async fn commit(&self, updates: &[(u64, i64)]) -> Result<(), SimulateError> {
        let mut attempt = 1;
        loop {
            let mut query = sqlx::query(&self.sql);
            {
                let mut rng = rand::rng();
                for (n, id) in updates {
                    query = query.bind(id).bind(random_price(&mut rng)).bind(n);
                }
            }
            match query.execute(&self.pool).await {
                Ok(_) => return Ok(()),
                Err(error) if attempt < ATTEMPTS && is_lock_conflict(&error) => {
                    tracing::debug!("transaction tried again after {error}");
                    attempt += 1;
                }
                Err(error) => return Err(error.into()),
            }
        }
    }
}

/// The server went away under the statement (restarting, the connection dropped): whether it
/// committed is unknown. Any other refusal of the database stops the load.
fn connection_lost(error: &sqlx::Error) -> bool {
    match error
        .as_database_error()
        .and_then(|e| e.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>())
    {
        // Shutdown in progress, connection killed, server gone, connection lost.
        Some(e) => matches!(e.number(), 1053 | 1927 | 2006 | 2013),
        None => !matches!(
            error,
            sqlx::Error::Configuration(_) | sqlx::Error::ColumnNotFound(_)
        ),
    }
}

/// A deadlock (1213) or a lock wait timeout (1205): the transaction can simply run again.
fn is_lock_conflict(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>())
        .is_some_and(|e| matches!(e.number(), 1205 | 1213))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statement_names_every_row_once() {
        let sql = statement("shop.product", 3);
        assert_eq!(sql.matches('?').count(), 9);
        assert_eq!(sql.matches("UNION ALL").count(), 2);
        assert!(sql.starts_with("UPDATE `shop.product` AS t JOIN (SELECT ? AS id"));
    }

    #[test]
    fn connections_share_the_products_without_overlap() {
        let shares: Vec<Owned> = (0..3).map(|i| Owned::new(10, i, 3)).collect();
        let mut ids: Vec<i64> = shares
            .iter()
            .flat_map(|s| (0..s.count).map(|k| s.id(k)))
            .collect();
        ids.sort_unstable();
        assert_eq!(ids, (1..=10).collect::<Vec<_>>());
        assert_eq!(
            shares.iter().map(|s| s.count).collect::<Vec<_>>(),
            [4, 3, 3]
        );
        assert_eq!(Owned::new(2, 2, 3).count, 0);
    }
}
