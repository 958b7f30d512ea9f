//! Updates of random products while a test runs: 20 per transaction every 10 ms (up to
//! 2 000/s), until stopped. A failed update (MariaDB restarting under a fault) is retried after
//! a pause, not counted, and does not end the load.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::MySqlPool;

/// A running load.
pub struct Load {
    running: Arc<AtomicBool>,
    updates: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Load {
    /// Starts updating the prices of products `1..=products` of `table`, picked by `seed`.
    pub fn start(pool: &MySqlPool, table: &str, products: i32, seed: u64) -> Self {
        let running = Arc::new(AtomicBool::new(true));
        let updates = Arc::new(AtomicU64::new(0));
        let (pool, table) = (pool.clone(), table.to_owned());
        let (flag, count) = (Arc::clone(&running), Arc::clone(&updates));
        let task = tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(seed);
            while flag.load(Ordering::Acquire) {
                let ids: Vec<String> = (0..20)
                    .map(|_| rng.random_range(1..=products).to_string())
                    .collect();
                let updated = sqlx::query(&format!(
                    "UPDATE `{table}` SET price = price + 1 WHERE id IN ({})",
                    ids.join(",")
                ))
                .execute(&pool)
                .await;
                match updated {
                    Ok(_) => {
                        count.fetch_add(20, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
                }
            }
        });
        Self {
            running,
            updates,
            task,
        }
    }

    /// Updates committed so far.
    pub fn updates(&self) -> u64 {
        self.updates.load(Ordering::Relaxed)
    }

    /// Waits until at least `updates` more updates than now are committed: the load is
    /// flowing.
    pub async fn wait_for(&self, updates: u64) {
        self.wait_for_total(self.updates() + updates).await;
    }

    /// Waits until at least `total` updates are committed in all.
    pub async fn wait_for_total(&self, total: u64) {
        crate::wait::until(
            &format!("{total} updates of the load"),
            Duration::from_secs(120),
            || (self.updates() >= total).then_some(()),
            || format!("{} updates committed", self.updates()),
        )
        .await;
    }

    /// Stops the load; the updates committed.
    pub async fn stop(self) -> u64 {
        self.running.store(false, Ordering::Release);
        self.task.await.expect("load task");
        self.updates.load(Ordering::Relaxed)
    }
}

/// The seed of a test's random faults: `SLUICE_TEST_SEED` replays a failure; otherwise the
/// clock. Tests print it.
pub fn test_seed() -> u64 {
    std::env::var("SLUICE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        })
}
