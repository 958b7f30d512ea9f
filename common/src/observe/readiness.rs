//! Whether the process is doing its job: connected and, for consumers, assigned partitions.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A shared flag the process sets once it is connected and working; `/health` reports it.
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// Marks the process ready or not.
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::Relaxed);
    }

    /// Whether the process is ready.
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}
