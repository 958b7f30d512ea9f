//! The `check` command of each binary: proves every configured service answers, with the
//! address it tried, before a user starts a pipeline against it.

use std::fmt;

use crate::settings::{KafkaSettings, MysqlSettings};
use crate::{kafka, mysql};

/// The outcome of probing one service.
#[derive(Debug, Clone)]
pub struct Probe {
    /// Which service: `mysql`, `kafka` or `registry`.
    pub service: &'static str,
    /// Where it was looked for, as configured.
    pub address: String,
    /// What was seen when it answered, or why it did not.
    pub outcome: Result<String, String>,
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Ok(seen) => write!(f, "{:<9} {:<40} ok      {seen}", self.service, self.address),
            Err(why) => write!(f, "{:<9} {:<40} FAILED  {why}", self.service, self.address),
        }
    }
}

/// Connects to the database and checks the configured table exists.
pub async fn probe_mysql(settings: &MysqlSettings) -> Probe {
    let outcome = async {
        let pool = mysql::connect(settings, 1).await.map_err(|e| e.to_string())?;
        let columns: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
        )
        .bind(&settings.database)
        .bind(&settings.table)
        .fetch_one(&pool)
        .await
        .map_err(|e| format!("cannot read information_schema: {e}"))?;
        pool.close().await;
        if columns == 0 {
            Err(format!(
                "table `{}.{}` does not exist (mysql.table)",
                settings.database, settings.table
            ))
        } else {
            Ok(format!("table {}.{} has {columns} columns", settings.database, settings.table))
        }
    }
    .await;
    Probe {
        service: "mysql",
        address: format!("{}:{}", settings.host, settings.port),
        outcome,
    }
}

/// Fetches cluster metadata and reports whether the configured topic exists yet.
pub async fn probe_kafka(settings: &KafkaSettings) -> Probe {
    let configured = kafka::check_client_configs(settings).map_err(|e| e.to_string());
    let outcome = async {
        configured?;
        kafka::probe(settings).await.map_err(|e| e.to_string())
    }
    .await
    .map(|view| {
        let topic = match view.topics.iter().find(|(name, _)| *name == settings.topic) {
            Some((name, partitions)) => format!("topic {name} has {partitions} partitions"),
            None => format!("topic {} not created yet", settings.topic),
        };
        format!("{} broker(s), {topic}", view.brokers)
    });
    Probe {
        service: "kafka",
        address: settings.bootstrap_servers.clone(),
        outcome,
    }
}

/// Prints one line per probe and returns the first failure as a one-line message.
pub fn report(probes: &[Probe]) -> Result<(), String> {
    for probe in probes {
        println!("{probe}");
    }
    match probes
        .iter()
        .find_map(|p| p.outcome.as_ref().err().map(|e| (p.service, e)))
    {
        Some((service, why)) => Err(format!("{service} check failed: {why}")),
        None => Ok(()),
    }
}
