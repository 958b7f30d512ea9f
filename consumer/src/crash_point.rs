//! Crash points, for tests of exactly-once delivery: `SLUICE_CRASH_POINT` names a point of the
//! commit protocol, and the member dies there (`abort`: no flush, no cleanup, as `kill -9`
//! leaves it) during its commit number `SLUICE_CRASH_AT_COMMIT` (3 unless set). Random kills
//! rarely land in these windows, which last milliseconds; the tests that must survive them
//! stop the member exactly there. Unset, as in production, a commit only compares a number.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Where in a commit the member can be made to die.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashPoint {
    /// The batch file is durable; its transaction has not begun.
    AfterBatchFile,
    /// The transaction committed; no line of the batch is in the file yet.
    AfterCommit,
    /// Half of the batch's bytes are in the file, most likely ending mid-line.
    MidAppend,
    /// A segment was renamed closed; no open segment is there, and the folder is not synced.
    RollRenamed,
}

impl CrashPoint {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "after-batch-file" => Some(Self::AfterBatchFile),
            "after-commit" => Some(Self::AfterCommit),
            "mid-append" => Some(Self::MidAppend),
            "roll-renamed" => Some(Self::RollRenamed),
            _ => None,
        }
    }
}

/// The point armed by the environment, and at which commit.
fn armed() -> Option<(CrashPoint, u64)> {
    static ARMED: OnceLock<Option<(CrashPoint, u64)>> = OnceLock::new();
    *ARMED.get_or_init(|| {
        let point = CrashPoint::parse(&sluice_common::fault::hook("SLUICE_CRASH_POINT")?)?;
        let at = sluice_common::fault::hook("SLUICE_CRASH_AT_COMMIT")
            .and_then(|n| n.parse().ok())
            .unwrap_or(3);
        tracing::warn!("crash point {point:?} armed by a test at commit {at}");
        Some((point, at))
    })
}

static COMMITS: AtomicU64 = AtomicU64::new(0);

/// Counts a commit that writes a batch file.
pub fn commit_begins() {
    if armed().is_some() {
        COMMITS.fetch_add(1, Ordering::Relaxed);
    }
}

/// Whether the member is to die at `point` now.
pub fn reached(point: CrashPoint) -> bool {
    armed().is_some_and(|(armed, at)| armed == point && COMMITS.load(Ordering::Relaxed) == at)
}

/// Dies at `point`, a point of a roll, if it is armed for this commit or an earlier one: rolls
/// happen when segments are due, not at every commit.
pub fn maybe_crash_at_roll(point: CrashPoint) {
    if armed().is_some_and(|(armed, at)| armed == point && COMMITS.load(Ordering::Relaxed) >= at) {
        tracing::error!("crash point {point:?} reached: aborting");
        std::process::abort();
    }
}

/// Dies at `point` if it is armed for this commit.
pub fn maybe_crash(point: CrashPoint) {
    if reached(point) {
        tracing::error!("crash point {point:?} reached: aborting");
        std::process::abort();
    }
}
