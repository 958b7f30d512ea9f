//! Metrics every sluice process has: what it is, since when it runs, and what it uses (the
//! standard `process_*` series of Prometheus' process collector: CPU seconds, resident and
//! virtual memory, open file descriptors, threads, start time).

use std::time::Instant;

use prometheus::process_collector::ProcessCollector;

use crate::events::{Event, Scraped};
use prometheus::{Gauge, IntGaugeVec, Opts, Registry};

/// Build information, up time and errors, registered in the process's registry.
#[derive(Clone)]
pub struct ProcessMetrics {
    started: Instant,
    uptime: Gauge,
}

impl ProcessMetrics {
    /// Registers `sluice_build_info{process,version}`, `sluice_uptime_seconds`,
    /// `sluice_errors_total{kind}` and the `process_*` series for `process` (e.g. `producer`,
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
        registry.register(Box::new(ProcessCollector::for_self()))?;
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
        Scraped {
            uptime: self.started.elapsed(),
            gauge: &self.uptime,
        }
        .emit();
    }
}
