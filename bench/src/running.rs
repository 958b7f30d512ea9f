//! The pipeline running as `make run` runs it, for the phases that drive it with a load: the
//! producer and the members of a fresh group, each a measured process, and the wait until the
//! group has committed everything the producer published.

use std::time::{Duration, Instant};

use crate::context::Bench;
use crate::delivery::Delivery;
use crate::offsets::{self, CommitWatch};
use crate::process::{Measured, Usage};
use sluice_common::settings::IsolatedRun;

const CATCH_UP_PATIENCE: Duration = Duration::from_secs(180);
const STOP_PATIENCE: Duration = Duration::from_secs(30);

/// A running producer and group.
pub struct Running {
    names: IsolatedRun,
    delivery: Delivery,
    processes: Vec<Measured>,
}

impl Running {
    /// Starts the producer and `members` consumers of `names` with the `--set` overrides `sets`,
    /// delivering as `delivery` says.
    pub fn start(
        bench: &Bench,
        names: &IsolatedRun,
        sets: &[String],
        members: u32,
        delivery: Delivery,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&names.dir)?;
        let sets: Vec<String> = sets.iter().cloned().chain(delivery.sets()).collect();
        let sets = sets.as_slice();
        let mut processes = vec![Measured::spawn(
            "sluice-producer",
            bench.sluice("sluice-producer", sets)?,
            &names.dir.join("producer.log"),
        )?];
        for n in 1..=members {
            let mut command = bench.sluice("sluice-consumer", sets)?;
            command.arg("--member").arg(n.to_string());
            processes.push(Measured::spawn(
                &format!("consumer-{n}"),
                command,
                &names.dir.join(format!("consumer-{n}.log")),
            )?);
        }
        Ok(Self {
            names: names.clone(),
            delivery,
            processes,
        })
    }

    /// Fails with the end of its log when a process has exited.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        crate::process::ensure_running(&mut self.processes)
    }

    /// Waits until the topic holds at least `at_least` records (when given) and the group has
    /// committed all of them. Exactly once the topic's offsets count the transactions' commit
    /// markers too, so `at_least` is reached by offsets, and the group has committed all once
    /// each partition's commit reaches its last marker (no transaction is open).
    pub async fn caught_up(&mut self, bench: &Bench, at_least: Option<i64>) -> anyhow::Result<()> {
        let kafka = &bench.settings.kafka;
        let deadline = Instant::now() + CATCH_UP_PATIENCE;
        let (mut topic, mut watch) = (None, None);
        loop {
            self.ensure_running()?;
            anyhow::ensure!(
                Instant::now() < deadline,
                "the pipeline did not catch up within {CATCH_UP_PATIENCE:?}; see {}",
                self.names.dir.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
            if topic.is_none() {
                // Until the producer has created the topic, there is nothing to watch.
                topic = offsets::TopicWatch::new(kafka, &self.names.topic).ok();
            }
            let Some(records) = topic.as_ref().and_then(|t| t.records().ok()) else {
                continue;
            };
            if at_least.is_some_and(|n| records < n) {
                continue;
            }
            if watch.is_none() {
                watch = Some(CommitWatch::new(
                    kafka,
                    &self.names.group,
                    &self.names.topic,
                )?);
            }
            if let Some(watch) = &watch {
                let all = match self.delivery {
                    Delivery::AtLeastOnce => watch.committed()? >= records,
                    Delivery::ExactlyOnce => watch.covers_transactional_topic()?,
                };
                if all {
                    return Ok(());
                }
            }
        }
    }

    /// Stops every process, each with SIGTERM; fails when one does not exit cleanly.
    pub fn stop(self) -> anyhow::Result<()> {
        self.stop_measured().map(drop)
    }

    /// [`Running::stop`], returning what each process used, the producer first and then the
    /// members in order, each with its name.
    pub fn stop_measured(self) -> anyhow::Result<Vec<(String, Usage)>> {
        let mut used = Vec::with_capacity(self.processes.len());
        for process in self.processes {
            let name = process.name().to_owned();
            used.push((name, process.stop(STOP_PATIENCE)?));
        }
        Ok(used)
    }
}
