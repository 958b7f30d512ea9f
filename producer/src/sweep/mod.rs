//! Finding rows deleted outright, with SELECT alone: every `delete_sweep_interval_secs` the
//! producer reads the table's keys in key order, a page at a time (`sweep_keys.sql`). Integer
//! keys: each key it has published (see `published_keys`) that a page's range no longer holds is
//! published as a delete. String and binary keys, which the database orders by a collation: the
//! pass marks each key the table holds, and the published keys left unmarked at its end are
//! looked up once more, byte for byte, before their deletes are published (`hashed_keys`,
//! `candidates`).
//!
//! Invariant: **a delete is queued only for a key absent from the table at a moment after the
//! key's last record was queued, and before any later record of that key.** The producer loop
//! runs a sweep step only when caught up, with no page read ahead, and queues the step's deletes
//! before it reads the next page of changes: every record counted in the published keys was
//! queued before the sweep's page was read, and a row inserted again with the same key after
//! that read comes in a later page of changes, after its delete, in the same partition. A key
//! the page holds is kept, whatever its row's state; a row deleted and inserted again between
//! two sweeps keeps its key and shows only as its new version.
//!
//! A step reads pages until `SWEEP_STEP_BUDGET` has passed, so a sweep of a large table holds
//! the changes back by at most about that long at a time; the loop runs the next step at once.

pub mod candidates;
pub mod hashed_keys;
pub mod key_checkpoint;
pub mod key_set;
pub mod published_keys;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use sluice_common::kafka::topic_reader::TopicReadError;
use sluice_common::settings::KafkaSettings;
use sqlx::MySqlPool;

use crate::publish::publisher::RecordsDelivered;
use crate::source::key::{Key, KeyKind};
use crate::source::keyset::KeysetQuery;
use crate::sweep::key_checkpoint::{KeyCheckpoint, KeyCheckpointError, Restored};
use crate::sweep::key_set::KeySet;
use crate::watermark::KeyBound;

/// Keys read per page of the sweep: one range of the primary key, about 20 ms of the
/// database's time.
pub const SWEEP_PAGE_KEYS: u32 = 20_000;

/// How long one step of a sweep reads pages before the changes get their turn again.
pub const SWEEP_STEP_BUDGET: Duration = Duration::from_millis(200);

/// A step of the sweep failed; the next pass tries again.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The table's keys could not be read.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The keys of the candidates could not be read back from the records topic.
    #[error("reading keys back from the records topic: {0}")]
    Topic(#[from] TopicReadError),
    /// The task reading them ended abnormally: a defect.
    #[error("the task reading keys back ended abnormally")]
    Task(#[from] tokio::task::JoinError),
}

/// The sweep's state: the published keys, and the pass in progress.
#[derive(Debug)]
pub struct DeleteSweep {
    interval: Duration,
    checkpoint: KeyCheckpoint,
    kind: KeyKind,
    /// Shared with the delivery reports, which locate string and binary keys.
    keys: Arc<Mutex<KeySet>>,
    /// Whether the keys were read back from the checkpoint and the topic.
    restored: bool,
    pass: Option<Pass>,
    next_pass: Instant,
}

/// A pass over the table's keys in progress.
#[derive(Debug)]
struct Pass {
    /// The last key read: the next page starts after it.
    after: KeyBound,
    started: Instant,
    keys_read: u64,
    deletes: u64,
}

/// What one step of a sweep found.
#[derive(Debug, Default)]
pub struct SweepStep {
    /// Published keys the table no longer holds (integers in key order): to be published as
    /// deletes.
    pub gone: Vec<Key>,
    /// Published keys whose last record the topic's retention deleted: no delete can be
    /// published for them.
    pub lost: usize,
    /// The pass, when this step ended it.
    pub finished: Option<PassReport>,
}

/// A whole pass over the table's keys.
#[derive(Debug, Clone, Copy)]
pub struct PassReport {
    /// Keys the table held.
    pub keys_read: u64,
    /// Deletes found.
    pub deletes: u64,
    /// From its first page to its last.
    pub took: Duration,
}

impl DeleteSweep {
    /// A sweep every `interval` over keys of `kind`, kept in `checkpoint`; the first pass is
    /// due at once.
    pub fn new(interval: Duration, checkpoint: KeyCheckpoint, kind: KeyKind) -> Self {
        Self {
            interval,
            checkpoint,
            kind,
            keys: Arc::new(Mutex::new(KeySet::new(kind))),
            restored: false,
            pass: None,
            next_pass: Instant::now(),
        }
    }

    fn keys(&self) -> MutexGuard<'_, KeySet> {
        lock(&self.keys)
    }

    /// What the delivery reports of `topic`'s records tell the sweep, when its keys are
    /// located by them (string and binary keys).
    pub fn deliveries(&self, topic: &str) -> Option<Arc<dyn RecordsDelivered>> {
        self.keys().hashed().then(|| {
            Arc::new(Deliveries {
                topic: topic.to_owned(),
                keys: Arc::clone(&self.keys),
            }) as Arc<dyn RecordsDelivered>
        })
    }

    /// The record of a row with this key was queued.
    pub fn published(&self, key: &Key) {
        self.keys().published(key);
    }

    /// The delete of this key was queued.
    pub fn deleted(&self, key: &Key) {
        self.keys().deleted(key);
    }

    /// Every delete queued so far is acknowledged (at least once) or committed (exactly once).
    pub fn confirm(&self) {
        self.keys().confirm();
    }

    /// Publishing failed: deletes not confirmed are found again by the next pass, which starts
    /// at once.
    pub fn after_failure(&mut self) {
        self.keys().restore_unconfirmed();
        self.pass = None;
        self.next_pass = Instant::now();
    }

    /// How many keys count as published.
    pub fn published_keys(&self) -> u64 {
        self.keys().len()
    }

    /// What the published keys take, about (see `PublishedKeys::size_in_bytes`).
    pub fn published_keys_bytes(&self) -> usize {
        self.keys().size_in_bytes()
    }

    /// Whether a pass is in progress or due.
    pub fn due(&self) -> bool {
        self.pass.is_some() || Instant::now() >= self.next_pass
    }

    /// Whether a pass is in progress.
    pub fn sweeping(&self) -> bool {
        self.pass.is_some()
    }

    /// Reads the published keys back from the checkpoint and the records topic, once per
    /// process; `None` when they were read already.
    pub async fn restore(
        &mut self,
        kafka: &KafkaSettings,
        patience: Duration,
    ) -> Result<Option<Restored>, KeyCheckpointError> {
        if self.restored {
            return Ok(None);
        }
        let (checkpoint, kafka) = (self.checkpoint.clone(), kafka.clone());
        let mut restored =
            tokio::task::spawn_blocking(move || checkpoint.restore(&kafka, patience)).await??;
        // Keys queued before (none, in the producer's order of work) are kept too.
        let keys = std::mem::replace(&mut restored.keys, KeySet::new(self.kind));
        {
            let mut held = self.keys();
            held.union_with(keys);
            held.account_up_to(&restored.ends);
        }
        self.restored = true;
        Ok(Some(restored))
    }

    /// Reads pages of the table's keys for up to `budget`, from where the pass in progress
    /// stopped (or from the first key, starting a pass), and returns the published keys they
    /// lack. A failed read ends the pass; its keys are found by the next one.
    pub async fn step(
        &mut self,
        pool: &MySqlPool,
        query: &KeysetQuery,
        budget: Duration,
        kafka: &KafkaSettings,
    ) -> Result<SweepStep, SweepError> {
        let deadline = Instant::now() + budget;
        let mut pass = match self.pass.take() {
            Some(pass) => pass,
            None => {
                self.keys().start_pass();
                Pass {
                    after: KeyBound::Before,
                    started: Instant::now(),
                    keys_read: 0,
                    deletes: 0,
                }
            }
        };
        let mut step = SweepStep::default();
        loop {
            let page = match query.keys_after(pool, &pass.after, SWEEP_PAGE_KEYS).await {
                Ok(page) => page,
                Err(error) => {
                    self.next_pass = Instant::now() + self.interval.min(Duration::from_secs(10));
                    return Err(error.into());
                }
            };
            let full = page.len() >= SWEEP_PAGE_KEYS as usize;
            let through = page.last().filter(|_| full);
            let gone = self.keys().page_read(&pass.after, through, &page);
            pass.keys_read += page.len() as u64;
            pass.deletes += gone.len() as u64;
            step.gone.extend(gone);
            match through {
                Some(last) => pass.after = KeyBound::At(last.clone()),
                None => {
                    let (gone, lost) = match self.unseen_gone(pool, query, kafka).await {
                        Ok(found) => found,
                        Err(error) => {
                            self.next_pass =
                                Instant::now() + self.interval.min(Duration::from_secs(10));
                            return Err(error);
                        }
                    };
                    pass.deletes += gone.len() as u64;
                    step.gone.extend(gone);
                    step.lost = lost;
                    self.next_pass = pass.started + self.interval;
                    step.finished = Some(PassReport {
                        keys_read: pass.keys_read,
                        deletes: pass.deletes,
                        took: pass.started.elapsed(),
                    });
                    return Ok(step);
                }
            }
            if Instant::now() >= deadline {
                self.pass = Some(pass);
                return Ok(step);
            }
        }
    }

    /// At the end of a pass over string or binary keys: the published keys it did not see
    /// whose rows the table does not hold, read back from the topic and looked up once more
    /// (see `candidates`), and how many could not be read back (then forgotten).
    async fn unseen_gone(
        &self,
        pool: &MySqlPool,
        query: &KeysetQuery,
        kafka: &KafkaSettings,
    ) -> Result<(Vec<Key>, usize), SweepError> {
        let unseen = self.keys().unseen();
        if unseen.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let (kafka, kind) = (kafka.clone(), self.kind);
        let patience = Duration::from_secs(kafka.request_timeout_secs.max(120));
        let read = tokio::task::spawn_blocking(move || {
            candidates::read_back(&kafka, &kafka.topic, kind, &unseen, patience)
        })
        .await??;
        let lost = read.lost.len();
        {
            let mut keys = self.keys();
            read.lost.iter().for_each(|hash| keys.forget(*hash));
        }
        let absent = candidates::absent_from_table(pool, query, read.keys).await?;
        Ok((absent.into_iter().map(|(_, key)| key).collect(), lost))
    }

    /// Saves the published keys with the records topic's offsets they account for (see
    /// `key_checkpoint`). Nothing before the keys were restored.
    pub async fn save(&self, kafka: &KafkaSettings) -> Result<(), KeyCheckpointError> {
        if !self.restored {
            return Ok(());
        }
        let failed = |crashed: tokio::task::JoinError| KeyCheckpointError::Save {
            path: self.checkpoint.path().to_path_buf(),
            source: std::io::Error::other(crashed.to_string()),
        };
        // Keys located by delivery reports account for the records reported, whatever the
        // topic's end: taken with the keys, under one lock, held while the file is written (a
        // copy of a million keys would take 16 MB more).
        if self.keys().hashed() {
            let (checkpoint, keys) = (self.checkpoint.clone(), Arc::clone(&self.keys));
            return tokio::task::spawn_blocking(move || {
                let keys = lock(&keys);
                let offsets = keys.accounted().unwrap_or_default();
                checkpoint.save(offsets, &keys)
            })
            .await
            .map_err(failed)?;
        }
        let topic = kafka.topic.clone();
        let offsets = {
            let (kafka, read) = (kafka.clone(), topic.clone());
            let patience = Duration::from_secs(kafka.request_timeout_secs.max(5));
            tokio::task::spawn_blocking(move || {
                sluice_common::kafka::topic_reader::partition_offsets(&kafka, &read, patience)
            })
            .await
            .map_err(failed)?
            .map_err(|source| KeyCheckpointError::Read {
                topic,
                source: Box::new(source),
            })?
        };
        // A copy (about 130 KB per million keys) is written on a blocking thread, so the lock
        // is not held while the file is written and synced.
        let keys = self.keys().clone();
        let checkpoint = self.checkpoint.clone();
        let ends = offsets
            .into_iter()
            .map(|(p, bounds)| (p, bounds.end))
            .collect();
        tokio::task::spawn_blocking(move || checkpoint.save(ends, &keys))
            .await
            .map_err(failed)?
    }

    /// The checkpoint file.
    pub fn checkpoint_path(&self) -> &std::path::Path {
        self.checkpoint.path()
    }
}

fn lock(keys: &Mutex<KeySet>) -> MutexGuard<'_, KeySet> {
    keys.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The sweep's side of the delivery reports: each record of the records topic delivered.
struct Deliveries {
    topic: String,
    keys: Arc<Mutex<KeySet>>,
}

impl RecordsDelivered for Deliveries {
    fn delivered(&self, topic: &str, key: &[u8], row: bool, partition: i32, offset: i64) {
        if topic == self.topic {
            lock(&self.keys).delivered(key, row, partition, offset);
        }
    }
}
