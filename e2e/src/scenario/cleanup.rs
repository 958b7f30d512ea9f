//! The scenario's clean-up: its processes killed, its files kept when the test failed, and its
//! topics and table removed from the stack.

use sluice_common::mysql;
use sluice_common::settings::{IsolatedRun, Settings};

use super::Scenario;

impl Drop for Scenario {
    fn drop(&mut self) {
        // A failed test keeps its logs and files, and says where.
        if std::thread::panicking() {
            if let Ok(spare) = tempfile::tempdir() {
                let failed = std::mem::replace(&mut self.dir, spare);
                eprintln!(
                    "the failed scenario's files are kept in {}",
                    failed.keep().display()
                );
            }
        }
        // Dropping a process kills it.
        self.producer = None;
        self.consumers.clear();
        remove_from_stack(self.names.clone(), self.settings.clone());
    }
}

/// Deletes a scenario's topics and table. A stack kept up between test runs otherwise gathers
/// every run's partitions and tables, and a broker holding thousands of partitions runs slower.
/// Best effort, on a thread and runtime of its own: a drop cannot await, and may run inside
/// the test's runtime.
fn remove_from_stack(names: IsolatedRun, settings: Settings) {
    let removal = std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async {
            use rdkafka::admin::AdminOptions;
            if let Ok(admin) = sluice_common::kafka::admin_client(&settings.kafka) {
                let watermarks = settings.kafka.watermark_topic_name();
                let topics = [
                    names.topic.as_str(),
                    names.dlq_topic.as_str(),
                    watermarks.as_str(),
                ];
                let _ = admin.delete_topics(&topics, &AdminOptions::new()).await;
            }
            if let Ok(pool) = mysql::connect(&settings.mysql, 1).await {
                let drop_table = format!("DROP TABLE IF EXISTS `{}`", names.table);
                let _ = sqlx::query(&drop_table).execute(&pool).await;
                pool.close().await;
            }
        });
    });
    let _ = removal.join();
}
