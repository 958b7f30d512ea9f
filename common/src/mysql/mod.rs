//! Connections to the source database.
//!
//! Every session is pinned to UTC: `TIMESTAMP` values are stored in UTC and shown in the
//! session's time zone, so a session left on the server's zone would shift every watermark.

mod refusal;

pub use refusal::{fix_for, Place};

use std::time::Duration;

use sqlx::mysql::{
    MySqlConnectOptions, MySqlConnection, MySqlPool, MySqlPoolOptions, MySqlSslMode,
};
use sqlx::{ConnectOptions, Connection};

use crate::settings::{MysqlSettings, MysqlTlsMode};

/// The database could not be reached or refused the login.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot connect to MySQL at {address} (user `{user}`, database `{database}`, mysql.tls_mode {tls_mode}): {source}{}",
    fix.as_ref().map(|fix| format!("; {fix}")).unwrap_or_default()
)]
pub struct ConnectError {
    /// `host:port` as configured.
    pub address: String,
    /// The configured user.
    pub user: String,
    /// The configured database.
    pub database: String,
    /// The configured TLS mode.
    pub tls_mode: MysqlTlsMode,
    /// What the driver reported.
    #[source]
    pub source: sqlx::Error,
    /// What to do, when no wait can heal it (see [`fix_for`]).
    pub fix: Option<String>,
}

impl crate::retry::Transient for ConnectError {
    fn is_transient(&self) -> bool {
        self.fix.is_none()
    }
}

/// The connect options for the configured server, session time zone pinned to UTC, TLS as
/// `mysql.tls_mode` asks.
pub fn connect_options(settings: &MysqlSettings) -> MySqlConnectOptions {
    let options = MySqlConnectOptions::new()
        .host(&settings.host)
        .port(settings.port)
        .username(&settings.user)
        .password(&settings.password)
        .database(&settings.database)
        .timezone(Some(String::from("+00:00")))
        .charset("utf8mb4");
    with_tls(options, settings)
}

/// `mysql.tls_mode` and its files on `options`.
fn with_tls(mut options: MySqlConnectOptions, settings: &MysqlSettings) -> MySqlConnectOptions {
    options = options.ssl_mode(match settings.tls_mode {
        MysqlTlsMode::Disabled => MySqlSslMode::Disabled,
        MysqlTlsMode::Preferred => MySqlSslMode::Preferred,
        MysqlTlsMode::Required => MySqlSslMode::Required,
        MysqlTlsMode::VerifyCa => MySqlSslMode::VerifyCa,
        MysqlTlsMode::VerifyIdentity => MySqlSslMode::VerifyIdentity,
    });
    if !settings.ca_file.is_empty() {
        options = options.ssl_ca(&settings.ca_file);
    }
    if !settings.certificate_file.is_empty() {
        options = options
            .ssl_client_cert(&settings.certificate_file)
            .ssl_client_key(&settings.key_file);
    }
    options
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
        tls_mode: settings.tls_mode,
        fix: fix_for(&source, place(settings)),
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

/// Quotes an identifier for MySQL: backticks around it, inner backticks doubled.
pub fn quote_identifier(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// The configured user, database and table, to name in a fix.
pub fn place(settings: &MysqlSettings) -> Place<'_> {
    Place {
        user: &settings.user,
        database: &settings.database,
        table: &settings.table,
    }
}
