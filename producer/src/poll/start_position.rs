//! Where a run starts: the watermark the last run left (in its topic under exactly-once, else
//! in its file), or, for a first run, a snapshot in key order up to the current read bound.

use std::time::Duration;

use sluice_common::events::ErrorKind;
use sluice_common::mysql;
use sluice_common::retry::Policy;
use sluice_common::shutdown::Shutdown;

use super::pipeline::Pipeline;
use crate::error::ProducerError;
use crate::source::read_bound::ReadBound;
use crate::watermark::Watermark;

/// How long reading the watermark topic at start may take, a broker coming up included.
pub(crate) const WATERMARK_TOPIC_PATIENCE: Duration = Duration::from_secs(120);

/// Pause after a failed query while waiting for the first snapshot's bound.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

impl Pipeline {
    /// The watermark the last run left: from the watermark topic under exactly-once (read
    /// after `init_transactions` ended whatever an earlier producer left open), else from the
    /// file. A pipeline switched to exactly-once starts from its file's watermark until its
    /// first transaction commits one to the topic.
    pub(super) async fn load_watermark(&self) -> Result<Option<Watermark>, ProducerError> {
        let Some(transactions) = &self.transactions else {
            return Ok(self.store.load()?);
        };
        let topic = transactions.topic().clone();
        let loaded =
            tokio::task::spawn_blocking(move || topic.load(WATERMARK_TOPIC_PATIENCE)).await??;
        if loaded.is_some() {
            return Ok(loaded);
        }
        let from_file = self.store.load()?;
        if let Some(watermark) = &from_file {
            tracing::info!(
                "exactly-once: no watermark in topic {} yet; starting from {watermark}, the one \
                 in {}",
                transactions.topic().topic,
                self.store.path().display()
            );
        }
        Ok(from_file)
    }

    /// `saved` with its key as the key column holds it now, or why it cannot be.
    pub(super) fn fit_to_key(&self, saved: Watermark) -> Result<Watermark, ProducerError> {
        let kind = self.query.key_kind();
        match saved.key.fit(kind) {
            Ok(key) => Ok(Watermark { key, ..saved }),
            Err(key) => Err(ProducerError::SavedKeyKind {
                table: self.table.clone(),
                column: self.settings.key_column.clone(),
                saved: key,
                kind: kind.name(),
            }),
        }
    }

    /// Where a producer without a saved watermark starts: a snapshot of the rows up to the
    /// current read bound in key order when the key is the table's primary key, else the
    /// beginning in timestamp order. `None` when shutdown came while the database was away; an
    /// error when the database refuses the read.
    pub(super) async fn first_position(
        &self,
        read_bound: &mut ReadBound,
        shutdown: &Shutdown,
    ) -> Result<Option<Watermark>, ProducerError> {
        if !self.snapshot_by_key {
            tracing::info!(
                "no saved watermark: reading {} from the beginning in {} order, since {} is not \
                 its primary key (a first snapshot in key order reads the table's own index)",
                self.table,
                self.settings.timestamp_column,
                self.settings.key_column
            );
            return Ok(Some(Watermark::beginning()));
        }
        let mut pauses = Policy::steady(RETRY_PAUSE).pauses();
        loop {
            match read_bound.current(&self.pool).await {
                Ok((bound, _)) => return Ok(Some(Watermark::snapshot_up_to(bound.and_utc()))),
                Err(error) => {
                    if let Some(fix) = mysql::fix_for(&error, mysql::place(&self.mysql)) {
                        return Err(ProducerError::MysqlReadRefused {
                            table: self.table.clone(),
                            source: error,
                            fix,
                        });
                    }
                    let what = "MySQL to read the bound of the first snapshot";
                    if pauses
                        .wait_after(ErrorKind::Mysql, what, &error, shutdown)
                        .await
                    {
                        return Ok(None);
                    }
                }
            }
        }
    }
}
