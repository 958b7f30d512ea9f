//! The load generator's writes while a test runs, journaled: every update leaves its product's
//! name ending in ` #N`, and each committed one is a line `N id commit-time` of the journal,
//! which `sluice-verify --journal` judges every version by (see `sluice_loadgen::simulate`).

use std::io::Write;
use std::path::{Path, PathBuf};

use sluice_common::shutdown::{Shutdown, ShutdownTrigger};
use sluice_loadgen::Load;
use sqlx::MySqlPool;

/// The fault runs' load: 2 000 updates a second of products `1..=products`, ten to a
/// transaction, on four connections.
pub fn two_thousand_a_second(products: i64) -> Load {
    Load {
        products,
        rate: 2_000,
        transaction_rows: 10,
        connections: 4,
    }
}

/// A running journaled load.
pub struct JournaledLoad {
    stop: ShutdownTrigger,
    task: tokio::task::JoinHandle<u64>,
    /// The journal's file.
    pub journal: PathBuf,
}

impl JournaledLoad {
    /// Starts `load` on `table`, journaling into `journal`.
    pub fn start(pool: &MySqlPool, table: &str, load: Load, journal: &Path) -> Self {
        let (stop, shutdown): (ShutdownTrigger, Shutdown) = Shutdown::manual();
        let (pool, table, path) = (pool.clone(), table.to_owned(), journal.to_owned());
        let task = tokio::spawn(async move {
            let file = std::fs::File::create(&path).expect("create the journal");
            let mut file = std::io::BufWriter::new(file);
            let updates = sluice_loadgen::simulate(&pool, &table, load, &shutdown, Some(&mut file))
                .await
                .expect("the load generator runs to its stop");
            file.flush().expect("flush the journal");
            updates
        });
        Self {
            stop,
            task,
            journal: journal.to_owned(),
        }
    }

    /// Stops the load; the updates committed (and journaled).
    pub async fn stop(self) -> u64 {
        self.stop.trigger();
        self.task.await.expect("the load's task")
    }
}
