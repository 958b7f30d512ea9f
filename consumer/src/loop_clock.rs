//! The clock the read loop consults for every record, read once per run of records.
//!
//! Reading the clock is a system call's worth of work on many virtual machines: read per record
//! (for the commit interval) it took a tenth of the member's time. While records keep coming
//! the reading is at most `READ_EVERY` records old, a few dozen microseconds at full speed; once
//! the member catches up it is read afresh.

use std::time::Instant;

/// Records handled on one reading of the clocks while records keep coming.
const READ_EVERY: u32 = 64;

/// Monotonic time as of the last reading.
pub struct LoopClock {
    monotonic: Instant,
    reads_left: u32,
}

impl LoopClock {
    /// The clock read now.
    pub fn new() -> Self {
        Self {
            monotonic: Instant::now(),
            reads_left: READ_EVERY,
        }
    }

    /// Reads the clock, e.g. after waiting for records.
    pub fn read(&mut self) {
        *self = Self::new();
    }

    /// One more record: reads the clock when the last reading has served `READ_EVERY` records.
    pub fn record(&mut self) {
        if self.reads_left == 0 {
            self.read();
        } else {
            self.reads_left -= 1;
        }
    }

    /// Monotonic time, for intervals.
    pub fn monotonic(&self) -> Instant {
        self.monotonic
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_are_kept_for_a_run_of_records_then_renewed() {
        let mut clock = LoopClock::new();
        let first = clock.monotonic();
        std::thread::sleep(std::time::Duration::from_millis(2));
        for _ in 0..READ_EVERY {
            clock.record();
            assert_eq!(clock.monotonic(), first, "kept within the run");
        }
        clock.record();
        assert!(clock.monotonic() > first, "renewed after the run");
        let renewed = clock.monotonic();
        std::thread::sleep(std::time::Duration::from_millis(2));
        clock.read();
        assert!(clock.monotonic() > renewed, "read afresh on demand");
    }
}
