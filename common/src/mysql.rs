//! Connections to the source database.
//!
//! Every session is pinned to UTC: `TIMESTAMP` values are stored in UTC and shown in the
//! session's time zone, so a session left on the server's zone would shift every watermark.

use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlPool, MySqlPoolOptions};
use sqlx::{ConnectOptions, Connection};

use crate::settings::MysqlSettings;

/// The database could not be reached or refused the login.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to MySQL at {address} (user `{user}`, database `{database}`): {source}")]
pub struct ConnectError {
    /// `host:port` as configured.
    pub address: String,
    /// The configured user.
    pub user: String,
    /// The configured database.
    pub database: String,
    /// What the driver reported.
    #[source]
    pub source: sqlx::Error,
}

/// The connect options for the configured server, session time zone pinned to UTC.
pub fn connect_options(settings: &MysqlSettings) -> MySqlConnectOptions {
    MySqlConnectOptions::new()
        .host(&settings.host)
        .port(settings.port)
        .username(&settings.user)
        .password(&settings.password)
        .database(&settings.database)
        .timezone(Some(String::from("+00:00")))
        .charset("utf8mb4")
}

/// Opens a small pool after proving one connection works, so an unreachable server or a bad
/// password is reported here, once, with the driver's own reason (a pool would only say it
/// timed out).
pub async fn connect(
    settings: &MysqlSettings,
    max_connections: u32,
) -> Result<MySqlPool, ConnectError> {
    let options = connect_options(settings);
    let timeout = Duration::from_secs(settings.connect_timeout_secs);
    let attempt = async {
        let first: MySqlConnection = tokio::time::timeout(timeout, options.connect())
            .await
            .map_err(|_| no_answer_within(timeout))??;
        first.close().await?;
        MySqlPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(timeout)
            .connect_with(options.clone())
            .await
    };
    attempt.await.map_err(|source| ConnectError {
        address: format!("{}:{}", settings.host, settings.port),
        user: settings.user.clone(),
        database: settings.database.clone(),
        source,
    })
}

fn no_answer_within(timeout: Duration) -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!(
            "no answer within {}s (mysql.connect_timeout_secs)",
            timeout.as_secs()
        ),
    ))
}
