//! For tests: `SLUICE_FAIL_COMMIT_AT=N` makes the Nth transaction commit of the process fail as
//! a fatal Kafka client error does. librdkafka's fatal errors (e.g. its idempotence state lost)
//! cannot be caused from outside the process, and the renewal of the client after one must be
//! tested all the same. Unset, nothing ever fails here.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Commits begun by this process.
static COMMITS: AtomicU64 = AtomicU64::new(0);

/// The commit to fail, from the environment, read once.
fn fail_at() -> Option<u64> {
    static AT: OnceLock<Option<u64>> = OnceLock::new();
    *AT.get_or_init(|| {
        sluice_common::fault::hook("SLUICE_FAIL_COMMIT_AT").and_then(|n| n.parse().ok())
    })
}

/// Counts a commit; its number when it is the one `SLUICE_FAIL_COMMIT_AT` names, which fails.
pub fn injected_at_commit() -> Option<u64> {
    let commit = COMMITS.fetch_add(1, Ordering::Relaxed) + 1;
    (fail_at() == Some(commit)).then_some(commit)
}
