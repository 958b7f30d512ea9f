//! The checks of the servers every binary shares: the MySQL login and table, the Kafka
//! connection and the records topic. The registry's are in the registry crate.

use sqlx::MySqlPool;

use super::Check;
use crate::kafka;
use crate::mysql;
use crate::settings::{KafkaSettings, MysqlSettings};

/// What the MySQL checks found: their lines, and the connection for the checks that follow
/// (`None` when the login failed).
pub struct MysqlReach {
    /// The lines.
    pub checks: Vec<Check>,
    /// A pool of one connection, when the login worked.
    pub pool: Option<MySqlPool>,
}

/// Logs in (address, credentials, TLS) and checks the table is there and readable.
pub async fn mysql_login(settings: &MysqlSettings) -> MysqlReach {
    let address = format!("{}:{}", settings.host, settings.port);
    let pool = match mysql::connect(settings, 1).await {
        Ok(pool) => pool,
        Err(error) => {
            let fix = error.fix.clone().or_else(|| {
                Some("start the server, or check mysql.host and mysql.port".to_owned())
            });
            return MysqlReach {
                checks: vec![Check::failed("mysql", "login", error.to_string(), fix)],
                pool: None,
            };
        }
    };
    let mut checks = vec![Check::ok(
        "mysql",
        "login",
        format!(
            "{address} as `{}`, mysql.tls_mode {}",
            settings.user, settings.tls_mode
        ),
    )];
    let table = format!("`{}`.`{}`", settings.database, settings.table);
    // The catalogue shows a table to a user with some right on it; one it does not show is
    // missing or not granted.
    let listed: Result<i64, _> = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
    )
    .bind(&settings.database)
    .bind(&settings.table)
    .fetch_one(&pool)
    .await;
    if let Ok(0) = listed {
        checks.push(Check::failed(
            "mysql",
            "table",
            format!(
                "table `{}.{}` does not exist (mysql.table), or the user has no right on it",
                settings.database, settings.table
            ),
            Some(format!(
                "create it, check mysql.database and mysql.table, or GRANT SELECT ON {table} TO \
                 '{}'",
                settings.user
            )),
        ));
        return MysqlReach {
            checks,
            pool: Some(pool),
        };
    }
    let read = sqlx::query(&format!("SELECT * FROM {table} LIMIT 0"))
        .execute(&pool)
        .await;
    checks.push(match read {
        Ok(_) => Check::ok("mysql", "table", format!("{table} is readable")),
        Err(error) => {
            let fix = mysql::fix_for(&error, mysql::place(settings)).or_else(|| {
                Some(format!(
                    "create the table, or check mysql.database and mysql.table ({table})"
                ))
            });
            Check::failed("mysql", "table", format!("reading {table}: {error}"), fix)
        }
    });
    MysqlReach {
        checks,
        pool: Some(pool),
    }
}

/// Connects to the cluster (security settings, login, TLS) and compares the records topic
/// with `kafka.partitions`; creates nothing.
pub async fn kafka_checks(settings: &KafkaSettings) -> Vec<Check> {
    if let Err(error) = kafka::check_client_configs(settings) {
        return vec![Check::failed(
            "kafka",
            "connection",
            error.to_string(),
            Some("fix the kafka.* setting or property named".to_owned()),
        )];
    }
    let view = match kafka::probe(settings).await {
        Ok(view) => view,
        Err(error) => {
            let fix = if error.is_permanent() {
                "check kafka.security_protocol, the SASL login and kafka.ca_file (docs/security.md)"
            } else {
                "start the brokers, or check kafka.bootstrap_servers"
            };
            return vec![Check::failed(
                "kafka",
                "connection",
                error.to_string(),
                Some(fix.to_owned()),
            )];
        }
    };
    let mut checks = vec![Check::ok(
        "kafka",
        "connection",
        format!(
            "{} as {}, {} broker(s)",
            settings.bootstrap_servers, settings.security_protocol, view.brokers
        ),
    )];
    let wanted = usize::try_from(settings.partitions).unwrap_or_default();
    let topic = &settings.topic;
    checks.push(match view.topics.iter().find(|(name, _)| name == topic) {
        Some((_, partitions)) if *partitions == wanted => Check::ok(
            "kafka",
            "topic",
            format!("{topic} has {partitions} partitions, as kafka.partitions"),
        ),
        Some((_, partitions)) => Check::failed(
            "kafka",
            "topic",
            format!(
                "{topic} has {partitions} partitions, kafka.partitions is {wanted}: keys \
                     would move between partitions"
            ),
            Some(format!(
                "set kafka.partitions = {partitions}, or use another kafka.topic"
            )),
        ),
        None => Check::ok(
            "kafka",
            "topic",
            format!("{topic} not created yet; the producer creates it with {wanted} partitions"),
        ),
    });
    checks
}
