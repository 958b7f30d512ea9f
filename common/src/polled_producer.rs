//! A Kafka producer whose delivery reports are served by a thread of its own, like rdkafka's
//! `ThreadedProducer`, except that dropping it does not wait for that thread.
//!
//! librdkafka hands delivery reports only to a caller of `poll`. `ThreadedProducer` joins its
//! polling thread on drop, and that thread sits in polls of 100 ms: every producer and consumer
//! exit waited up to a tenth of a second for nothing. Here the thread is told to stop and
//! finishes on its own, tearing the client down once its owner has moved on. Flush before
//! dropping to wait for what is still queued.

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, ProducerContext};

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
