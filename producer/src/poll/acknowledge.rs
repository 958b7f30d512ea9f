//! Waiting for Kafka's answers to the pages in flight, and what each answer does: an
//! acknowledged page moves the watermark (at least once, through the saver), a committed
//! transaction moves it past every page it carried (exactly once), and a failure sends the
//! loop back to the watermark.
//!
//! Invariant: `acknowledged` moves only past pages Kafka has acknowledged, in the order they
//! were queued, and under exactly-once only when the transaction carrying them has committed.

use rdkafka::error::KafkaError;
use sluice_common::acls;
use sluice_common::events::Event;
use std::time::Duration;

use super::client_run::ClientRun;
use crate::error::{ProducerError, RowRefused};
use crate::events::{PageAcknowledged, PublishFailed, PublishStale};
use crate::publish::failure_policy::{needs_new_client, permanent, StaleClient};
use crate::publish::transaction::TransactionError;

impl ClientRun<'_> {
    /// Settles the pages in flight down to `keep`, then, under exactly-once, commits the open
    /// transaction if it is due, its watermark the end of the last page queued.
    /// `Ok(Err(..))` when a page or the transaction failed.
    pub(super) async fn settle_then_commit(
        &mut self,
        keep: usize,
        caught_up: bool,
    ) -> Result<Result<(), KafkaError>, ProducerError> {
        let settled = self.settle(keep).await?;
        if settled.is_err() {
            return Ok(settled);
        }
        self.commit_if_due(caught_up).await
    }

    /// Under exactly-once, commits the open transaction when it is due (always when
    /// `caught_up`): its watermark is the end of the last page queued, and every page in
    /// flight is then acknowledged. `Ok(Err(..))` when the transaction was aborted; fatal when
    /// the producer cannot go on.
    async fn commit_if_due(
        &mut self,
        caught_up: bool,
    ) -> Result<Result<(), KafkaError>, ProducerError> {
        let end = self.read_from.clone();
        let pipeline = &mut *self.pipeline;
        let Some(transactions) = &mut pipeline.transactions else {
            return Ok(Ok(()));
        };
        if !transactions.due(caught_up) {
            return Ok(Ok(()));
        }
        match transactions.commit(&pipeline.publisher, &end).await {
            Ok(()) => {}
            Err(TransactionError::Aborted(error)) => return Ok(Err(error)),
            Err(end) => return Err(end.into()),
        }
        if let Some(sweep) = &pipeline.sweep {
            sweep.confirm();
        }
        // The commit waited for every record: what is left in flight is answered.
        let settled = self.settle(0).await?;
        if settled.is_ok() {
            self.acknowledged = end;
        }
        Ok(settled)
    }

    /// Waits for the oldest pages until at most `keep` are in flight; the first failed page
    /// stops it (`Ok(Err(..))`). At least once (a saver), the watermark after each page moves
    /// `acknowledged` and goes to the saver, and one that cannot be saved is fatal; exactly once,
    /// only a commit moves it.
    pub(super) async fn settle(
        &mut self,
        keep: usize,
    ) -> Result<Result<(), KafkaError>, ProducerError> {
        while let Some(page) = self.in_flight.oldest_beyond(keep) {
            match page.pending.acknowledged().await {
                Ok(report) => {
                    if let Some(saver) = self.saver.as_mut() {
                        saver.advance(page.end.clone()).await?;
                        self.acknowledged = page.end;
                    }
                    PageAcknowledged {
                        rows: page.rows,
                        report,
                        metrics: &self.pipeline.metrics,
                    }
                    .emit();
                }
                Err(error) => return Ok(Err(error)),
            }
        }
        // At least once, every delete queued is acknowledged once nothing is in flight.
        if let (Some(sweep), Some(_), true) =
            (&self.pipeline.sweep, &self.saver, self.in_flight.is_empty())
        {
            sweep.confirm();
        }
        Ok(Ok(()))
    }

    /// After a failed page or transaction: waits for the pages queued after it, whose rows are
    /// read and sent again from the watermark whatever their outcome, and aborts the open
    /// transaction, if any (a client to be replaced leaves it to the new one). Fatal only when
    /// the producer cannot go on.
    pub(super) async fn recover(
        &mut self,
        error: &KafkaError,
        pause: Option<Duration>,
    ) -> Result<(), ProducerError> {
        let abandoned = self.in_flight.len() + 1;
        self.in_flight.abandon().await;
        let pipeline = &mut *self.pipeline;
        if let Some(sweep) = &mut pipeline.sweep {
            sweep.after_failure();
        }
        if needs_new_client(error) {
            // Not aborted here: an abort may wait on the same stuck client, and the new client
            // registering the transactional id aborts what this one left open.
            PublishStale {
                error,
                produce_errors: &pipeline.metrics.produce_errors,
            }
            .emit();
            return Err(StaleClient(error.clone()).into());
        }
        if let Some(transactions) = &mut pipeline.transactions {
            transactions.abort(&pipeline.publisher).await?;
        }
        if let Some(missing) = acls::publish_refusal(&pipeline.acls, error) {
            return Err(ProducerError::MissingAcl(missing));
        }
        if let Some(why) = permanent(error) {
            return Err(ProducerError::PublishRefused {
                topic: pipeline.publisher.topic().to_owned(),
                error: error.clone(),
                why,
            });
        }
        PublishFailed {
            error,
            abandoned,
            pause,
            produce_errors: &pipeline.metrics.produce_errors,
        }
        .emit();
        Ok(())
    }

    /// Under `on_error = "fail"`, after a row was refused: the pages before its page are
    /// settled and their watermark kept (at least once), or the open transaction aborted
    /// (exactly once: its pages are published again at the next start), and the refusal is the
    /// producer's outcome.
    pub(super) async fn stop_at_refusal(
        mut self,
        refused: RowRefused,
    ) -> Result<(), ProducerError> {
        tracing::error!("{refused}");
        if self.pipeline.transactions.is_some() {
            self.in_flight.abandon().await;
            if let Some(transactions) = &mut self.pipeline.transactions {
                transactions.abort(&self.pipeline.publisher).await?;
            }
        } else {
            let _ = self.settle(0).await?;
            if let Some(saver) = self.saver.take() {
                saver.finish().await?;
            }
        }
        self.pipeline.flush_at_stop()?;
        self.pipeline.readiness.set(false);
        Err(refused.into())
    }
}
