//! A Kafka producer whose delivery reports are served by a thread of its own, like rdkafka's
//! `ThreadedProducer`, except that dropping it does not wait for that thread.
//!
//! librdkafka hands delivery reports only to a caller of `poll`. `ThreadedProducer` joins its
//! polling thread on drop, and that thread sits in polls of 100 ms: every producer and consumer
//! exit waited up to a tenth of a second for nothing. Here the thread is told to stop and
//! finishes on its own, tearing the client down once its owner has moved on. Flush before
//! dropping to wait for what is still queued.
//!
//! Transactions are begun with [`init_transactions`] and committed with [`commit_transaction`],
//! not rdkafka's own methods: its commit flushes first, and its flush polls 100 ms at a time for
//! delivery reports that this thread serves instead, so each commit would wait a tenth of a
//! second for nothing; and librdkafka asking for a producer id before any broker connection is
//! up waits half a second for its next try, about every other start.

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, Producer, ProducerContext};

/// How often [`commit_transaction`] looks whether every delivery report has been served.
const DELIVERY_CHECK: Duration = Duration::from_millis(1);

/// How long one poll waits for a delivery report before the thread checks whether to stop.
const POLL_WINDOW: Duration = Duration::from_millis(100);

/// A producer and the thread that serves its delivery reports to its context.
pub struct PolledProducer<C: ProducerContext + 'static> {
    producer: Arc<BaseProducer<C>>,
    stop: Arc<AtomicBool>,
}

impl<C: ProducerContext + 'static> PolledProducer<C> {
    /// Creates the producer from `config` with `context`, and starts its polling thread.
    pub fn new(config: &ClientConfig, context: C) -> Result<Self, KafkaError> {
        let producer: Arc<BaseProducer<C>> = Arc::new(config.create_with_context(context)?);
        let stop = Arc::new(AtomicBool::new(false));
        let (polled, stopped) = (Arc::clone(&producer), Arc::clone(&stop));
        std::thread::Builder::new()
            .name("delivery reports".to_owned())
            .spawn(move || {
                while !stopped.load(Ordering::Acquire) {
                    polled.poll(POLL_WINDOW);
                }
            })
            .map_err(|e| {
                KafkaError::ClientCreation(format!("cannot start a delivery report thread: {e}"))
            })?;
        Ok(Self { producer, stop })
    }
}

impl<C: ProducerContext + 'static> PolledProducer<C> {
    /// The producer itself, for a blocking call made on another thread (a transaction's
    /// commit waits for every record in flight).
    pub fn shared(&self) -> Arc<BaseProducer<C>> {
        Arc::clone(&self.producer)
    }
}

/// Registers `producer`'s transactional id once a broker connection is up (see the module
/// documentation). Blocking. A cluster that cannot be reached yet ends in librdkafka's
/// retriable timeout, for the caller to wait and try again.
pub fn init_transactions<C: ProducerContext + 'static>(
    producer: &BaseProducer<C>,
    timeout: Duration,
) -> Result<(), KafkaError> {
    let deadline = Instant::now() + timeout;
    // Only a head start: when no broker answers, init_transactions says so as a retriable
    // error (a failed metadata request would read as a refusal).
    let _connected = producer.client().fetch_metadata(None, timeout);
    let left = deadline.saturating_duration_since(Instant::now());
    producer.init_transactions(left.max(MIN_INIT_WAIT))
}

/// The least time `init_transactions` is given after its connection attempt.
const MIN_INIT_WAIT: Duration = Duration::from_secs(1);

/// Commits `producer`'s open transaction once the polling thread has served the delivery
/// report of every record in it (or `timeout` has passed, when librdkafka's own flush takes
/// over). Blocking.
pub fn commit_transaction<C: ProducerContext + 'static>(
    producer: &BaseProducer<C>,
    timeout: Duration,
) -> Result<(), KafkaError> {
    let deadline = Instant::now() + timeout;
    while producer.in_flight_count() > 0 && Instant::now() < deadline {
        std::thread::sleep(DELIVERY_CHECK);
    }
    producer.commit_transaction(deadline.saturating_duration_since(Instant::now()))
}

impl<C: ProducerContext + 'static> Deref for PolledProducer<C> {
    type Target = BaseProducer<C>;

    fn deref(&self) -> &Self::Target {
        &self.producer
    }
}

impl<C: ProducerContext + 'static> Drop for PolledProducer<C> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}
