//! Standing by: two or more producers started for one pipeline (`producer.standby`, the same
//! `transactional.id`), of which one publishes while the others wait to take over.
//!
//! Invariant: **a producer registers the transactional id, and so publishes, only while it
//! holds the lock**: the one partition of the watermark topic, which Kafka's group coordinator
//! assigns to one member of the group `<transactional.id>.active` at a time. A holder killed,
//! or paused past the group's session timeout, loses the lock to a standby, whose registration
//! of the transactional id aborts the holder's open transaction and fences it: a holder that
//! resumes fails at its next write or commit, and stops. So two producers never both commit,
//! whatever their timing, and the standby goes on from the last committed watermark.
//!
//! The lock's membership is kept by a thread of its own, polling the group's consumer, so a
//! producer busy with a large page still answers the coordinator.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use sluice_common::kafka::client_config;
use sluice_common::settings::KafkaSettings;
use sluice_common::shutdown::Shutdown;
use tokio::sync::watch;

use crate::error::ProducerError;

/// How long a lock holder may be silent before a standby takes over: Kafka's group session
/// timeout (the broker's lowest by default, `group.min.session.timeout.ms`).
pub const LOCK_SESSION_TIMEOUT: Duration = Duration::from_secs(6);

/// How often the lock's thread polls its consumer (heartbeats go on in librdkafka's own
/// thread; the poll serves the assignments).
const POLL: Duration = Duration::from_millis(100);

/// Membership in the group that elects the publishing producer.
pub struct ProducerLock {
    held: watch::Receiver<bool>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// The group, for log lines.
    pub group: String,
}

impl ProducerLock {
    /// Joins the group of `transactional_id` on the watermark topic of `kafka`; holding the
    /// lock is then a matter of the coordinator's assignment.
    pub fn join(kafka: &KafkaSettings, transactional_id: &str) -> Result<Self, KafkaError> {
        let group = format!("{transactional_id}.active");
        let consumer: BaseConsumer = client_config(kafka)
            .set("group.id", &group)
            // The classic protocol lets the client choose its session timeout, which decides
            // how soon a standby takes over.
            .set("group.protocol", "classic")
            .set(
                "session.timeout.ms",
                LOCK_SESSION_TIMEOUT.as_millis().to_string(),
            )
            .set("heartbeat.interval.ms", "1000")
            // A producer joining or leaving must not take the lock from its holder: a sticky,
            // cooperative assignment leaves the partition where it is through a rebalance.
            .set("partition.assignment.strategy", "cooperative-sticky")
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "latest")
            .set("enable.partition.eof", "false")
            .create()?;
        consumer.subscribe(&[&kafka.watermark_topic_name()])?;
        let (sender, held) = watch::channel(false);
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("producer-lock".into())
            .spawn(move || {
                while !stopping.load(Ordering::Acquire) {
                    // Records of the watermark topic are not this consumer's business.
                    let _ = consumer.poll(POLL);
                    let holding = consumer
                        .assignment()
                        .is_ok_and(|assigned| assigned.count() > 0);
                    sender.send_if_modified(|held| std::mem::replace(held, holding) != holding);
                }
                // Leaving the group hands the lock over at once, not after the session timeout.
                consumer.unsubscribe();
            })
            .map_err(|e| KafkaError::ClientCreation(e.to_string()))?;
        Ok(Self {
            held,
            stop,
            thread: Some(thread),
            group,
        })
    }

    /// Waits until this producer holds the lock; `false` when shutdown came first.
    pub async fn acquire(&self, shutdown: &Shutdown) -> bool {
        let mut held = self.held.clone();
        let mut stop = shutdown.clone();
        tokio::select! {
            acquired = held.wait_for(|held| *held) => acquired.is_ok(),
            _ = stop.wait() => false,
        }
    }

    /// Whether this producer holds the lock now.
    pub fn held(&self) -> bool {
        *self.held.borrow()
    }

    /// Resolves once the lock is lost (at once when it is not held).
    pub fn lost(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut held = self.held.clone();
        async move {
            let _ = held.wait_for(|held| !*held).await;
        }
    }
}

impl Drop for ProducerLock {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Whether the lock was lost while the producer ran.
#[derive(Debug, Clone, Default)]
pub struct LockLost(Arc<AtomicBool>);

impl LockLost {
    /// Whether it was.
    pub fn happened(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// A shutdown that turns true with `shutdown`, or when `lock` (if any) is lost: the producer
/// then stops publishing, its pages in flight committed if the new holder has not fenced it yet,
/// else aborted by the new holder's registration.
pub fn stop_when_lost(lock: Option<&ProducerLock>, mut shutdown: Shutdown) -> (Shutdown, LockLost) {
    let lost = LockLost::default();
    let Some(lock) = lock else {
        return (shutdown, lost);
    };
    let (trigger, stopping) = Shutdown::manual();
    let (flag, group, gone) = (lost.clone(), lock.group.clone(), lock.lost());
    tokio::spawn(async move {
        tokio::select! {
            _ = shutdown.wait() => {}
            _ = gone => {
                flag.0.store(true, Ordering::Release);
                tracing::error!(
                    group = %group,
                    "this producer lost the lock of group {group} (paused or cut off past the \
                     {}s session timeout): another producer publishes now; this one stops",
                    LOCK_SESSION_TIMEOUT.as_secs()
                );
            }
        }
        trigger.trigger();
    });
    (stopping, lost)
}

/// The producer's outcome once it stopped: a lost lock is an error (the process exits
/// non-zero, and its supervisor starts it again, as a standby).
pub fn outcome(lost: &LockLost, outcome: Result<(), ProducerError>) -> Result<(), ProducerError> {
    if !lost.happened() {
        return outcome;
    }
    let how = match &outcome {
        Ok(()) => "its last transaction committed".to_owned(),
        Err(error) => sluice_common::exit::describe(error),
    };
    Err(ProducerError::LockLost { how })
}
