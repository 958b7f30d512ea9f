//! What every phase of the benchmark shares: the shipped configuration, a database connection,
//! the release binaries, a folder for this run, and the names each pipeline run owns.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;
use sluice_common::settings::{load, IsolatedRun, Layers, Settings};
use sqlx::MySqlPool;

use crate::delivery::Delivery;

/// The benchmark's shared state.
pub struct Bench {
    /// Repository root: `sluice.toml`, `stack/`.
    pub root: PathBuf,
    /// Folder of the sluice binaries to measure (next to `sluice-bench`).
    pub bin_dir: PathBuf,
    /// The shipped `sluice.toml`, as every measured process reads it.
    pub settings: Settings,
    /// Session in UTC, a few connections for loading.
    pub pool: MySqlPool,
    /// Unique per run, part of every topic and group name.
    pub run_id: String,
    /// Logs, watermarks and output files of this run.
    pub work: PathBuf,
}

/// What the name of every topic a benchmark run creates starts with.
pub const TOPIC_PREFIX: &str = "sluice-bench-";

impl Bench {
    /// Loads the shipped configuration and connects; `work` is created.
    pub async fn new(root: &Path, work: &Path) -> anyhow::Result<Self> {
        let exe = std::env::current_exe()?;
        let bin_dir = exe
            .parent()
            .context("sluice-bench has no parent folder")?
            .to_path_buf();
        let settings = load(&Layers {
            file: Some(root.join("sluice.toml")),
            environment: Some(HashMap::new()),
            overrides: Vec::new(),
        })?;
        let pool = sluice_common::mysql::connect(&settings.mysql, 4)
            .await
            .context("MariaDB of the local stack (run `make up` first)")?;
        let run_id = chrono::Utc::now().format("%Y%m%d%H%M%S").to_string();
        std::fs::create_dir_all(work)?;
        Ok(Self {
            root: root.to_path_buf(),
            bin_dir,
            settings,
            pool,
            run_id,
            work: work.to_path_buf(),
        })
    }

    /// A sluice binary with the shipped configuration, at least once (see
    /// [`crate::delivery`]), and `sets` as `--set` overrides after that.
    pub fn sluice(&self, binary: &str, sets: &[String]) -> anyhow::Result<Command> {
        let path = self.bin_dir.join(binary);
        anyhow::ensure!(
            path.exists(),
            "{} is missing: build it first (make bench builds every binary)",
            path.display()
        );
        let mut command = Command::new(path);
        command
            .current_dir(&self.root)
            .env_remove("SLUICE_CONFIG")
            .arg("--config")
            .arg(self.root.join("sluice.toml"));
        for set in Delivery::AtLeastOnce.sets().iter().chain(sets) {
            command.arg("--set").arg(set);
        }
        Ok(command)
    }

    /// One of Kafka's tools through `stack/kafka-tool`; returns its standard output.
    pub fn kafka_tool(&self, args: &[&str]) -> anyhow::Result<String> {
        let output = Command::new(self.root.join("stack/kafka-tool"))
            .args(args)
            .current_dir(&self.root)
            .output()
            .with_context(|| format!("cannot run stack/kafka-tool {args:?}"))?;
        anyhow::ensure!(
            output.status.success(),
            "stack/kafka-tool {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// What every topic and group name of this run starts with.
    pub fn topic_prefix(&self) -> String {
        format!("{TOPIC_PREFIX}{}-", self.run_id)
    }

    /// Deletes the topics of a finished pipeline run (its records, dead letters and
    /// watermarks): a broker holding hundreds of idle partitions from earlier runs spends more on
    /// them, and later runs would be timed on a slower broker.
    pub async fn drop_run_topics(&self, names: &IsolatedRun) -> anyhow::Result<()> {
        sluice_common::kafka::delete_topics_starting_with(&self.settings.kafka, &names.topic)
            .await?;
        Ok(())
    }

    /// The names of one pipeline run over `table`, tagged `tag`.
    pub fn run_names(&self, table: &str, tag: &str) -> IsolatedRun {
        IsolatedRun::new(
            table,
            &format!("{}{tag}", self.topic_prefix()),
            &self.work.join(tag),
        )
    }
}
