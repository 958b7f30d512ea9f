//! Waiting for a condition rather than for a fixed time: every test that needs something to
//! have happened polls for it here, and fails naming what it waited for when it does not come.
//! A fixed sleep stays only where the wait is the scenario itself (a pause past a timeout, a
//! window in which something must not happen), with a comment saying so.

use std::future::Future;
use std::time::{Duration, Instant};

/// How long a pipeline gets to publish and write what it was given, its first start included.
pub const CATCH_UP: Duration = Duration::from_secs(300);

/// How soon a process asked to stop (SIGTERM) must have exited.
pub const STOPS_WITHIN: Duration = Duration::from_secs(10);

/// How often a condition is looked at.
const EVERY: Duration = Duration::from_millis(100);

/// Polls `check` until it returns `Some`, for at most `patience`; panics naming `what` and
/// with `detail()` (a log's tail, say) when it never does.
pub async fn until<T>(
    what: &str,
    patience: Duration,
    mut check: impl FnMut() -> Option<T>,
    detail: impl Fn() -> String,
) -> T {
    until_async(what, patience, || std::future::ready(check()), detail).await
}

/// [`until`] for a check that awaits (a query, a request).
pub async fn until_async<T, F>(
    what: &str,
    patience: Duration,
    mut check: impl FnMut() -> F,
    detail: impl Fn() -> String,
) -> T
where
    F: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + patience;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "waited {patience:?} for {what}, in vain:\n{}",
            detail()
        );
        tokio::time::sleep(EVERY).await;
    }
}
