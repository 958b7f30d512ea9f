//! A pipeline under test: its own table, topics, consumer group, watermark and output folder,
//! run as the real `sluice-producer` and `sluice-consumer` processes against the real stack.
//! The scenario's settings and names are here; `processes` starts and stops its processes,
//! `fixtures` writes its table, `output` reads and judges its files, and `cleanup` removes what
//! it made from the stack.

mod cleanup;
mod fixtures;
mod output;
mod processes;
mod raw_records;

pub use crate::process::tail;
pub use fixtures::price_for;
pub use output::output_lines;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sluice_common::mysql;
use sluice_common::settings::{load, IsolatedRun, Layers, Settings};
use sqlx::MySqlPool;

use crate::process::LoggedProcess;
use crate::repo_root;

/// The binaries under test, built by `cargo test --workspace` next to the test executable.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target profile folder");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run the tests with `make integration` or `cargo test --workspace`",
        path.display()
    );
    path
}

/// One pipeline and everything it owns.
pub struct Scenario {
    /// Its table, topics, consumer group, and folder (`dir`'s path).
    pub names: IsolatedRun,
    /// Watermark, output files and process logs; removed when the scenario ends.
    pub dir: tempfile::TempDir,
    /// A connection to the database, session in UTC.
    pub pool: MySqlPool,
    /// The shipped configuration with this scenario's names.
    pub settings: Settings,
    producer: Option<LoggedProcess>,
    consumers: Vec<LoggedProcess>,
    extra: Vec<String>,
    /// Output folders of members started as if on other hosts (see
    /// [`start_consumer_on_host`](Self::start_consumer_on_host)).
    other_outputs: Vec<PathBuf>,
    /// The load generator's journal `sluice-verify` also judges every version by, when set.
    journal: Option<PathBuf>,
    /// The configuration file every process reads: the shipped `sluice.toml`, or one of the
    /// scenario's own (see [`with_transform_steps`](Self::with_transform_steps)).
    config_file: PathBuf,
}

/// The fractional digits of `product.last_updated` (stack/migrations).
const PRODUCT_PRECISION: u8 = 6;

impl Scenario {
    /// A new table `e2e_<tag>_…` like the stack's `product`, with `last_updated
    /// TIMESTAMP(precision)`.
    pub async fn new(tag: &str, precision: u8) -> Self {
        let id = crate::unique(tag).replace('-', "_");
        let dir = tempfile::tempdir().expect("temp dir");
        let names = IsolatedRun::new(&format!("e2e_{id}"), &format!("e2e-{id}"), dir.path());
        let mut scenario = Self {
            names,
            pool: mysql::connect(&Settings::default().mysql, 4)
                .await
                .expect("MariaDB of the local stack (make up)"),
            settings: Settings::default(),
            dir,
            producer: None,
            consumers: Vec::new(),
            extra: Vec::new(),
            other_outputs: Vec::new(),
            journal: None,
            config_file: repo_root().join("sluice.toml"),
        };
        scenario.settings = scenario.settings_now();
        crate::product_table::create_like_product(&scenario.pool, &scenario.names.table).await;
        if precision != PRODUCT_PRECISION {
            let p = precision;
            sqlx::query(&format!(
                "ALTER TABLE `{}` MODIFY last_updated TIMESTAMP({p}) NOT NULL \
                 DEFAULT CURRENT_TIMESTAMP({p}) ON UPDATE CURRENT_TIMESTAMP({p})",
                scenario.names.table
            ))
            .execute(&scenario.pool)
            .await
            .expect("set the precision of last_updated");
        }
        scenario
    }

    /// The producer and `consumer-N` on the ports the stack's Prometheus scrapes (9641, and
    /// 9650 plus N; stack/config/prometheus.yml) instead of free ones, for every process
    /// started after this call.
    pub fn on_scraped_ports(&mut self) {
        self.with_setting("metrics.producer_port=9641");
        self.with_setting("metrics.consumer_port_base=9650");
    }

    /// `sluice-verify` also judges every version against the load generator's journal at
    /// `journal` (see [`JournaledLoad`](crate::journaled_load::JournaledLoad)).
    pub fn verify_every_version_by(&mut self, journal: &Path) {
        self.journal = Some(journal.to_owned());
    }

    /// Extra `--set section.key=value` for every process started after this call.
    pub fn with_setting(&mut self, setting: &str) {
        self.extra.push(setting.to_owned());
    }

    /// Every process started after this call reads a configuration file holding only
    /// `transform` (TOML: `[[transform.steps]]` tables), instead of the shipped `sluice.toml`:
    /// the built-in defaults, which the shipped file equals but for its example steps.
    pub fn with_transform_steps(&mut self, transform: &str) {
        let file = self.dir.path().join("transform.toml");
        std::fs::write(&file, transform).expect("write the scenario's configuration file");
        self.config_file = file;
        // A file meant to be refused leaves the settings as they were.
        if let Ok(settings) = self.load_settings() {
            self.settings = settings;
        }
    }

    /// The configuration file every process of the scenario reads.
    pub fn config_file(&self) -> &Path {
        &self.config_file
    }

    /// The settings a process of the scenario started now runs with: its configuration file
    /// and every `--set` given so far.
    pub fn settings_now(&self) -> Settings {
        self.load_settings()
            .expect("the scenario's configuration file with overrides")
    }

    fn load_settings(&self) -> Result<Settings, sluice_common::settings::SettingsError> {
        load(&Layers {
            file: Some(self.config_file.clone()),
            environment: Some(HashMap::new()),
            overrides: self.overrides(),
        })
    }

    /// The `--set` flags every process of the scenario gets: its names, then its settings.
    pub fn overrides(&self) -> Vec<String> {
        let mut sets = self.names.overrides();
        sets.extend([
            "producer.batch_size=1000".to_owned(),
            "producer.poll_interval_ms=200".to_owned(),
            "consumer.commit_interval_ms=500".to_owned(),
        ]);
        sets.extend(self.extra.iter().cloned());
        sets
    }

    /// A process log, for assertions on what a user reads.
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }
}
