//! Sample data for trying sluice out: a catalogue of products, and a steady stream of updates
//! to random ones, so a user can watch changes flow through the pipeline.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sluice_common::shutdown::Shutdown;
use sqlx::MySqlPool;

use crate::source::keyset::quote_identifier;

/// Why the simulation stopped early.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    /// An update or commit failed.
    #[error("updating products failed: {0}")]
    Database(#[from] sqlx::Error),
    /// The journal could not be written.
    #[error("writing the update journal failed: {0}")]
    Journal(#[from] std::io::Error),
}

/// Categories of the sample catalogue; `electronics` has a discount in the shipped sluice.toml.
pub const CATEGORIES: [&str; 6] = ["electronics", "home", "toys", "books", "garden", "sports"];
const NOUNS: [&str; 8] = [
    "Lamp", "Phone", "Kettle", "Puzzle", "Novel", "Rake", "Ball", "Chair",
];
const INSERT_BATCH: usize = 1000;

/// Rows in `table`.
pub async fn count(pool: &MySqlPool, table: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", quote_identifier(table)))
        .fetch_one(pool)
        .await
}

/// Inserts products `first_id ..= first_id + rows - 1`, in multi-row batches.
pub async fn seed(
    pool: &MySqlPool,
    table: &str,
    first_id: i64,
    rows: i64,
) -> Result<(), sqlx::Error> {
    // A seeded generator is Send, so seeding can run on several tasks at once.
    let mut rng = StdRng::from_rng(&mut rand::rng());
    let mut id = first_id;
    let last = first_id + rows - 1;
    while id <= last {
        let batch_end = (id + INSERT_BATCH as i64 - 1).min(last);
        let placeholders = vec!["(?, ?, ?, ?)"; (batch_end - id + 1) as usize].join(", ");
        let sql = format!(
            "INSERT INTO {} (id, name, category, price) VALUES {placeholders}",
            quote_identifier(table)
        );
        let mut query = sqlx::query(&sql);
        for product in id..=batch_end {
            let noun = NOUNS[rng.random_range(0..NOUNS.len())];
            query = query
                .bind(product)
                .bind(format!("{noun} {product}"))
                .bind(CATEGORIES[rng.random_range(0..CATEGORIES.len())])
                .bind(random_price(&mut rng));
        }
        query.execute(pool).await?;
        id = batch_end + 1;
    }
    Ok(())
}

/// A price with whole cents between 1.00 and 500.00.
pub fn random_price(rng: &mut impl Rng) -> f32 {
    let cents: u32 = rng.random_range(100..=50_000);
    format!("{}.{:02}", cents / 100, cents % 100)
        .parse()
        .unwrap_or(1.0)
}

/// Updates random products among the first `products` ids at `rate` rows per second until
/// shutdown, changing price and sometimes the name; logs the achieved rate every 5 s. Each
/// update's name ends in ` #N`, N counting the updates from 0; with a `journal`, each update
/// is written to it once committed as `N id commit-time` (Unix microseconds, this host's
/// clock), so a reader of the output can time every change, not only those it saw a line of.
pub async fn simulate(
    pool: &MySqlPool,
    table: &str,
    products: i64,
    rate: u32,
    shutdown: &Shutdown,
    mut journal: Option<&mut dyn std::io::Write>,
) -> Result<u64, SimulateError> {
    const TICK: Duration = Duration::from_millis(100);
    let per_tick = f64::from(rate) * TICK.as_secs_f64();
    let sql = format!(
        "UPDATE {} SET price = ?, name = CONCAT(SUBSTRING_INDEX(name, ' #', 1), ' #', ?) WHERE id = ?",
        quote_identifier(table)
    );
    let started = Instant::now();
    let mut owed = 0.0;
    let mut updated = 0u64;
    let mut last_log = Instant::now();
    let mut ticker = tokio::time::interval(TICK);
    while !shutdown.requested() {
        ticker.tick().await;
        owed += per_tick;
        let mut batch = Vec::new();
        {
            let mut rng = rand::rng();
            while owed >= 1.0 {
                owed -= 1.0;
                batch.push((
                    random_price(&mut rng),
                    rng.random_range(1..=products.max(1)),
                ));
            }
        }
        let mut transaction = pool.begin().await?;
        let first = updated;
        for (price, id) in &batch {
            sqlx::query(&sql)
                .bind(price)
                .bind(updated)
                .bind(id)
                .execute(&mut *transaction)
                .await?;
            updated += 1;
        }
        transaction.commit().await?;
        if let Some(journal) = journal.as_deref_mut() {
            let committed = chrono::Utc::now().timestamp_micros();
            for (n, (_, id)) in (first..).zip(&batch) {
                writeln!(journal, "{n} {id} {committed}")?;
            }
        }
        if last_log.elapsed() >= Duration::from_secs(5) {
            let achieved = updated as f64 / started.elapsed().as_secs_f64();
            tracing::info!("updated {updated} rows ({achieved:.0}/s)");
            last_log = Instant::now();
        }
    }
    Ok(updated)
}
