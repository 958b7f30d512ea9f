//! What the loop shows after each settled page: the watermark and its lag, how long changes
//! wait behind the read bound, and the periodic progress line.

use sluice_common::events::Event;

use super::pipeline::Pipeline;
use crate::events::{ChangesHeldBack, WatermarkMoved};
use crate::watermark::Watermark;

impl Pipeline {
    /// Shows where the loop stands once the pages up to `acknowledged` are settled.
    pub(super) async fn show_progress(&mut self, acknowledged: &Watermark, caught_up: bool) {
        self.show_watermark(acknowledged, caught_up);
        if caught_up {
            self.show_held_back().await;
        }
        self.progress.maybe_log(&self.metrics, acknowledged, false);
    }

    /// The watermark, and the lag: the database clock minus the time up to which every row is
    /// published. After a short page that is the read bound (nothing older is left to read), so
    /// a quiet table does not look like a stalled pipeline; after a full page, the watermark.
    fn show_watermark(&self, watermark: &Watermark, caught_up: bool) {
        let at = watermark.last_updated;
        let published_through = match self.last_bound {
            Some(bound) if caught_up => at.max(bound.and_utc()),
            _ => at,
        };
        WatermarkMoved {
            watermark,
            lag: self
                .database_now
                .map(|now| now.and_utc() - published_through),
            metrics: &self.metrics,
        }
        .emit();
    }

    /// How long the oldest change past the read bound has waited, by the database's clock.
    /// Best effort: a failed query leaves the figure as it was.
    async fn show_held_back(&self) {
        let (Some(bound), Some(now)) = (self.last_bound, self.database_now) else {
            return;
        };
        match self.query.oldest_held_back(&self.pool, bound).await {
            Ok(oldest) => ChangesHeldBack {
                waited: oldest.map_or(chrono::TimeDelta::zero(), |at| {
                    (now - at).max(chrono::TimeDelta::zero())
                }),
                gauge: &self.metrics.held_back_seconds,
            }
            .emit(),
            Err(error) => {
                tracing::debug!(%error, "reading the oldest change held back failed: {error}")
            }
        }
    }
}
