//! Queueing a record into librdkafka's bounded producer queue.
//!
//! Invariant: a record refused because the queue is full is queued again once librdkafka had
//! [`QUEUE_FULL_PAUSE`] to drain it, never dropped; any other refusal is returned at once. A
//! full queue is flow control, not a failure, so a wait for room is neither logged nor counted
//! as an error.

use std::future::Future;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::ToBytes;
use rdkafka::producer::{BaseProducer, BaseRecord, ProducerContext};

/// How long librdkafka drains a full queue before a record is queued again.
pub const QUEUE_FULL_PAUSE: Duration = Duration::from_millis(5);

/// One try to queue a record: `None` when queued, the record back when the queue is full, an
/// error when refused for good.
type Record<'a, K, P, C> = BaseRecord<'a, K, P, <C as ProducerContext>::DeliveryOpaque>;

fn try_once<'a, K, P, C>(
    producer: &BaseProducer<C>,
    record: Record<'a, K, P, C>,
) -> Result<Option<Record<'a, K, P, C>>, KafkaError>
where
    K: ToBytes + ?Sized,
    P: ToBytes + ?Sized,
    C: ProducerContext,
{
    match producer.send(record) {
        Ok(()) => Ok(None),
        Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
            Ok(Some(returned))
        }
        Err((error, _)) => Err(error),
    }
}

/// Queues `record`, waiting for room while the queue is full: `pause` waits
/// [`QUEUE_FULL_PAUSE`] before the next try (`tokio::time::sleep` in a task;
/// [`thread_sleep`] on a thread that may block, the future driven by
/// `futures::executor::block_on`).
pub async fn queue<K, P, C, Pause>(
    producer: &BaseProducer<C>,
    mut record: Record<'_, K, P, C>,
    pause: impl Fn(Duration) -> Pause,
) -> Result<(), KafkaError>
where
    K: ToBytes + ?Sized,
    P: ToBytes + ?Sized,
    C: ProducerContext,
    Pause: Future<Output = ()>,
{
    while let Some(returned) = try_once(producer, record)? {
        record = returned;
        pause(QUEUE_FULL_PAUSE).await;
    }
    Ok(())
}

/// The pause of [`queue`] on a thread that may block (a consumer member's): it sleeps the
/// thread, so no runtime is needed.
pub fn thread_sleep(pause: Duration) -> std::future::Ready<()> {
    std::thread::sleep(pause);
    std::future::ready(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use futures::executor::block_on;
    use rdkafka::producer::{Producer, PurgeConfig};
    use rdkafka::ClientConfig;

    use super::*;

    /// A producer whose queue holds one record; it has no broker, so nothing leaves the queue
    /// unless purged.
    fn one_record_queue() -> Arc<BaseProducer> {
        let producer = ClientConfig::new()
            .set("bootstrap.servers", "127.0.0.1:9")
            .set("queue.buffering.max.messages", "1")
            .set("message.max.bytes", "1000")
            .create()
            .expect("a producer needs no broker to be created");
        Arc::new(producer)
    }

    fn record(payload: &[u8]) -> BaseRecord<'_, str, [u8]> {
        BaseRecord::to("t").key("k").payload(payload)
    }

    #[test]
    fn a_full_queue_is_waited_for_until_it_has_room() {
        let producer = one_record_queue();
        block_on(queue(&producer, record(b"first"), thread_sleep)).expect("queued");
        let drainer = {
            let producer = producer.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                producer.purge(PurgeConfig::default().queue());
                // A purged record leaves the queue once its delivery report is served.
                for _ in 0..50 {
                    producer.poll(Duration::from_millis(10));
                }
            })
        };
        // Queued on a thread of its own, so a queue that never makes room fails the test
        // instead of hanging it.
        let (queued, outcome) = std::sync::mpsc::channel();
        let waiter = {
            let producer = producer.clone();
            std::thread::spawn(move || {
                let _ = queued.send(block_on(queue(&producer, record(b"second"), thread_sleep)));
            })
        };
        let outcome = outcome
            .recv_timeout(Duration::from_secs(10))
            .expect("the second record is queued within 10 s of the queue making room");
        outcome.expect("queued once there was room");
        waiter.join().expect("the waiter ends");
        drainer.join().expect("the drainer ends");
        producer.purge(PurgeConfig::default().queue());
        producer.poll(Duration::from_millis(10));
    }

    #[tokio::test]
    async fn another_refusal_is_returned_at_once() {
        let producer = one_record_queue();
        let too_large = vec![0_u8; 2000];
        let outcome = queue(&producer, record(&too_large), tokio::time::sleep).await;
        assert_eq!(
            outcome,
            Err(KafkaError::MessageProduction(
                RDKafkaErrorCode::MessageSizeTooLarge
            ))
        );
    }
}
