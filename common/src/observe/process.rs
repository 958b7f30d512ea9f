//! Metrics every sluice process has: what it is, since when it runs.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use prometheus::{Gauge, IntGaugeVec, Opts, Registry};

/// Build information, up time and errors, registered in the process's registry.
#[derive(Clone)]
pub struct ProcessMetrics {
    started: Instant,
    uptime: Gauge,
}

impl ProcessMetrics {
    /// Registers `sluice_build_info{process,version}`, `sluice_start_time_seconds` and
    /// `sluice_uptime_seconds` and `sluice_errors_total{kind}` for `process` (e.g. `producer`,
    /// `consumer-3`).
    pub fn register(registry: &Registry, process: &str) -> prometheus::Result<Self> {
        let info = IntGaugeVec::new(
            Opts::new(
                "sluice_build_info",
                "Always 1; its labels say which build runs here.",
            ),
            &["process", "version"],
        )?;
        info.with_label_values(&[process, env!("CARGO_PKG_VERSION")])
            .set(1);
        registry.register(Box::new(info))?;
        let start_time = Gauge::new(
            "sluice_start_time_seconds",
            "Unix time the process started at.",
        )?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default();
        start_time.set(now);
        registry.register(Box::new(start_time))?;
        let uptime = Gauge::new(
            "sluice_uptime_seconds",
            "Seconds since the process started.",
        )?;
        registry.register(Box::new(uptime.clone()))?;
        // Counted by events (`crate::events`), never directly.
        registry.register(Box::new(crate::events::errors_total()))?;
        Ok(Self {
            started: Instant::now(),
            uptime,
        })
    }

    /// Brings the up time current; called before each scrape.
    pub fn refresh(&self) {
        self.uptime.set(self.started.elapsed().as_secs_f64());
    }
}
