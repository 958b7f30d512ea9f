//! Sample data for trying sluice out: a catalogue of products, and a steady stream of updates
//! to random ones, so a user can watch changes flow through the pipeline.

mod simulate;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::MySqlPool;

use sluice_common::mysql::quote_identifier;

pub use simulate::{simulate, Committed, Load, SimulateError};

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
