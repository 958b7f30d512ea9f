//! The benchmark's tables: copies of `product` (same columns and index), filled with the sample
//! catalogue. Loading is not timed; it runs on several connections to keep the whole run short.

use std::time::Duration;

use sluice_common::mysql::quote_identifier;
use sluice_loadgen as loadgen;
use sqlx::MySqlPool;

use crate::context::Bench;
use crate::machine;

/// Concurrent loaders; MariaDB takes multi-row inserts on several connections well.
const LOADERS: i64 = 4;

/// Waits until rows just loaded are older than the producer's commit lag (a snapshot reads no
/// younger row), then writes the load's pages back, so neither is timed with the next phase.
pub async fn settle_loaded(bench: &Bench) {
    let lag = bench.settings.producer.commit_lag_ms;
    tokio::time::sleep(Duration::from_millis(lag + 100)).await;
    machine::flush_writes();
}

/// Drops and re-creates `table` like `product`.
pub async fn recreate(pool: &MySqlPool, table: &str) -> anyhow::Result<()> {
    let quoted = quote_identifier(table);
    sqlx::query(&format!("DROP TABLE IF EXISTS {quoted}"))
        .execute(pool)
        .await?;
    sqlx::query(&format!("CREATE TABLE {quoted} LIKE product"))
        .execute(pool)
        .await?;
    Ok(())
}

/// Inserts products `first ..= first + rows - 1`.
pub async fn load(pool: &MySqlPool, table: &str, first: i64, rows: i64) -> anyhow::Result<()> {
    let share = (rows + LOADERS - 1) / LOADERS;
    let mut loaders = Vec::new();
    for n in 0..LOADERS {
        let start = first + n * share;
        let count = share.min(first + rows - start);
        if count <= 0 {
            break;
        }
        let pool = pool.clone();
        let table = table.to_owned();
        loaders.push(tokio::spawn(async move {
            loadgen::seed(&pool, &table, start, count).await
        }));
    }
    for loader in loaders {
        loader.await??;
    }
    Ok(())
}
