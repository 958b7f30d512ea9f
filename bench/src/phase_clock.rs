//! Each phase's own time, printed as it ends and kept under `phase_minutes.*`, so a run that
//! outgrows its budget shows where.

use std::time::Instant;

use crate::report::Results;

/// Times the phases of a run one after the other.
#[derive(Debug)]
pub struct PhaseClock {
    since: Instant,
}

impl PhaseClock {
    /// Starts timing the first phase.
    pub fn start() -> Self {
        Self {
            since: Instant::now(),
        }
    }

    /// The phase `name` ended now: its time is printed and recorded, and the next one starts.
    pub fn lap(&mut self, results: &mut Results, name: &str) {
        let minutes = self.since.elapsed().as_secs_f64() / 60.0;
        tracing::info!("phase {name} took {minutes:.1} min");
        results.set(
            &format!("phase_minutes.{name}"),
            &format!("time of the phase {name}"),
            "min",
            minutes,
        );
        self.since = Instant::now();
    }
}
