//! MariaDB's work after a large change: InnoDB keeps the old version of every changed row until
//! its purge threads have removed it, and that purge runs in the background for seconds to
//! minutes after the last commit. A phase that times the pipeline "once MariaDB is quiet" waits
//! for both signs of it being done: the history list (`trx_rseg_history_len`, the committed
//! transactions whose old versions are not yet purged) back to its length before the change,
//! and then MariaDB's CPU under a twentieth of a core (see `machine::database_settled`).

use std::path::Path;
use std::time::{Duration, Instant};

use sqlx::MySqlPool;

use crate::machine;

/// How often the history list is read.
const LOOK_EVERY: Duration = Duration::from_millis(500);

/// The length of InnoDB's history list now.
pub async fn history_length(pool: &MySqlPool) -> anyhow::Result<u64> {
    let count: i64 = sqlx::query_scalar(
        "SELECT `COUNT` FROM information_schema.INNODB_METRICS \
         WHERE `NAME` = 'trx_rseg_history_len'",
    )
    .fetch_one(pool)
    .await?;
    Ok(u64::try_from(count).unwrap_or(0))
}

/// How the wait for the purge went.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Purged {
    /// Seconds from the start of the wait until the history list was back at its level and
    /// MariaDB quiet.
    pub seconds: f64,
    /// MariaDB's CPU seconds over the whole wait.
    pub cpu_seconds: f64,
    /// The history list's length when the wait began.
    pub history_at_start: u64,
    /// Whether the history list reached its level within the patience.
    pub history_back: bool,
}

/// Waits, at most `patience` in all, until the history list is no longer than `level` and then
/// MariaDB's CPU is quiet; fails only when neither can be read.
pub async fn settled(
    pool: &MySqlPool,
    state_dir: &Path,
    level: u64,
    patience: Duration,
) -> anyhow::Result<Purged> {
    let started = Instant::now();
    let window = machine::CpuWindow::start(state_dir);
    let history_at_start = history_length(pool).await?;
    let mut history = history_at_start;
    while history > level && started.elapsed() < patience {
        tokio::time::sleep(LOOK_EVERY).await;
        history = history_length(pool).await?;
    }
    let history_back = history <= level;
    if !history_back {
        tracing::warn!(
            "InnoDB's history list is {history} long after {patience:?}, above its {level} \
             before the change; going on"
        );
    }
    let left = patience.saturating_sub(started.elapsed());
    let quiet = machine::database_settled(state_dir, left).await?;
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = window
        .finish()
        .servers
        .into_iter()
        .find_map(|(name, cpu)| (name == "mariadb").then_some(cpu))
        .unwrap_or(quiet.cpu_seconds);
    Ok(Purged {
        seconds,
        cpu_seconds,
        history_at_start,
        history_back,
    })
}
