//! Products deleted and inserted again at random while a test runs: every 200 ms one product
//! is deleted outright, and every third time one deleted earlier is inserted again instead, with the
//! same id, until stopped. A statement that fails (MariaDB restarting under a fault) is tried
//! again at the next tick, not counted, and does not end the churn.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::MySqlPool;

/// What a churn did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Churned {
    /// Products deleted.
    pub deleted: u64,
    /// Products inserted again after their delete.
    pub inserted_again: u64,
}

/// A running churn.
pub struct Churn {
    running: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Churned>,
}

impl Churn {
    /// Starts deleting and re-inserting products `1..=products` of `table`, picked by `seed`.
    pub fn start(pool: &MySqlPool, table: &str, products: i32, seed: u64) -> Self {
        Self::start_in(pool, table, 1..=products, seed)
    }

    /// Starts deleting and re-inserting the products `ids` of `table`, picked by `seed`.
    pub fn start_in(
        pool: &MySqlPool,
        table: &str,
        ids: std::ops::RangeInclusive<i32>,
        seed: u64,
    ) -> Self {
        let running = Arc::new(AtomicBool::new(true));
        let (pool, table, flag) = (pool.clone(), table.to_owned(), Arc::clone(&running));
        let task = tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed_de1e);
            let mut churned = Churned::default();
            let mut gone: Vec<i32> = Vec::new();
            let mut tick = 0u64;
            while flag.load(Ordering::Acquire) {
                tick += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
                if tick.is_multiple_of(3) && !gone.is_empty() {
                    let id = gone.swap_remove(rng.random_range(0..gone.len()));
                    let inserted = sqlx::query(&format!(
                        "INSERT INTO `{table}` (id, name, category, price) VALUES (?, ?, 'Back', 2.5)"
                    ))
                    .bind(id)
                    .bind(format!("Back {id}"))
                    .execute(&pool)
                    .await;
                    match inserted {
                        Ok(_) => churned.inserted_again += 1,
                        Err(_) => gone.push(id),
                    }
                    continue;
                }
                let id = rng.random_range(ids.clone());
                let deleted = sqlx::query(&format!("DELETE FROM `{table}` WHERE id = ?"))
                    .bind(id)
                    .execute(&pool)
                    .await;
                if let Ok(done) = deleted {
                    if done.rows_affected() == 1 {
                        churned.deleted += 1;
                        gone.push(id);
                    }
                }
            }
            churned
        });
        Self { running, task }
    }

    /// Stops the churn; what it did.
    pub async fn stop(self) -> Churned {
        self.running.store(false, Ordering::Release);
        self.task.await.expect("churn task")
    }
}
