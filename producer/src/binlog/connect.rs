//! The binlog connection: `mysql_async` options from the same `mysql.*` settings as every other
//! connection (address, login, TLS), and the replication request from a position.
//!
//! Like every session sluice opens, it is pinned to UTC (the binary log's `TIMESTAMP`s are
//! seconds since the epoch whatever the zone). MariaDB sends its GTID events (and leaves out
//! the `BEGIN` they replace) only to a client that declares `@mariadb_slave_capability=4`; a
//! heartbeat every second shows the connection alive while nothing is written.

use std::path::PathBuf;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStream, BinlogStreamRequest, ClientIdentity, Conn, OptsBuilder, SslOpts};
use sluice_common::settings::{MysqlSettings, MysqlTlsMode};

use super::position::BinlogPosition;

/// `MARIA_SLAVE_CAPABILITY_GTID`: GTID events in the stream.
const GTID_CAPABILITY: u32 = 4;

/// How often the server sends a heartbeat while it has no event to send.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// The replica id the stream registers with: `configured` (`producer.binlog_server_id`), or,
/// when it is 0, one derived from `topic` (in 1 000 000 … 1 999 999 999, away from the ids
/// servers are usually given).
pub fn server_id(configured: u32, topic: &str) -> u32 {
    match configured {
        0 => {
            let hash = xxhash_rust::xxh3::xxh3_64(topic.as_bytes());
            1_000_000 + (hash % 1_999_000_000) as u32
        }
        id => id,
    }
}

/// The connection's options: address, login and TLS as `mysql.*` says, over TCP even to
/// `127.0.0.1` (the driver would otherwise move to the server's socket).
pub fn options(settings: &MysqlSettings) -> OptsBuilder {
    OptsBuilder::default()
        .ip_or_hostname(settings.host.clone())
        .tcp_port(settings.port)
        .user(Some(settings.user.clone()))
        .pass(Some(settings.password.clone()))
        .db_name(Some(settings.database.clone()))
        .prefer_socket(false)
        .ssl_opts(tls(settings))
}

/// `mysql.tls_mode` and its files as `mysql_async`'s TLS options; `None` without TLS.
/// `preferred` asks for TLS unchecked, as `required` does: this client cannot fall back to
/// plain text on its own, so `connect` retries without TLS when the server offers none.
fn tls(settings: &MysqlSettings) -> Option<SslOpts> {
    let mut opts = match settings.tls_mode {
        MysqlTlsMode::Disabled => return None,
        MysqlTlsMode::Preferred | MysqlTlsMode::Required => SslOpts::default()
            .with_danger_accept_invalid_certs(true)
            .with_danger_skip_domain_validation(true),
        MysqlTlsMode::VerifyCa => SslOpts::default().with_danger_skip_domain_validation(true),
        MysqlTlsMode::VerifyIdentity => SslOpts::default(),
    };
    if !settings.ca_file.is_empty() {
        opts = opts
            .with_root_certs(vec![PathBuf::from(&settings.ca_file).into()])
            .with_disable_built_in_roots(true);
    }
    if !settings.certificate_file.is_empty() {
        opts = opts.with_client_identity(Some(ClientIdentity::new(
            PathBuf::from(&settings.certificate_file).into(),
            PathBuf::from(&settings.key_file).into(),
        )));
    }
    Some(opts)
}

/// A connection to the configured server, within `mysql.connect_timeout_secs`.
pub async fn connect(settings: &MysqlSettings) -> Result<Conn, mysql_async::Error> {
    let timeout = Duration::from_secs(settings.connect_timeout_secs);
    let attempt = |options: OptsBuilder| async move {
        tokio::time::timeout(timeout, Conn::new(options))
            .await
            .unwrap_or_else(|_| Err(no_answer_within(timeout)))
    };
    match attempt(options(settings)).await {
        Err(mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer))
            if settings.tls_mode == MysqlTlsMode::Preferred =>
        {
            attempt(options(settings).ssl_opts(None)).await
        }
        outcome => outcome,
    }
}

fn no_answer_within(timeout: Duration) -> mysql_async::Error {
    mysql_async::Error::Io(mysql_async::IoError::Io(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!(
            "no answer within {}s (mysql.connect_timeout_secs)",
            timeout.as_secs()
        ),
    )))
}

/// The server's binary log from a place, as the server sends it.
pub struct RequestedStream {
    /// The events.
    pub events: BinlogStream,
    /// Whether the server writes a checksum after each event (`binlog_checksum`): the events it
    /// sends before the stream's format description carry it too, and no reader strips it.
    pub checksummed: bool,
}

/// Turns `conn` into the stream of the binary log from `from`, registered as replica
/// `server_id` (unique among the server's replicas: a second client with the same id ends the
/// first one's stream).
pub async fn request_stream(
    mut conn: Conn,
    from: &BinlogPosition,
    server_id: u32,
) -> Result<RequestedStream, mysql_async::Error> {
    let checksum: Option<String> = conn.query_first("SELECT @@global.binlog_checksum").await?;
    conn.query_drop(format!(
        "SET time_zone = '+00:00', @mariadb_slave_capability = {GTID_CAPABILITY}, \
         @master_heartbeat_period = {}",
        HEARTBEAT.as_nanos()
    ))
    .await?;
    let events = conn
        .get_binlog_stream(
            BinlogStreamRequest::new(server_id)
                .with_filename(from.file.as_bytes())
                .with_pos(from.offset),
        )
        .await?;
    Ok(RequestedStream {
        events,
        checksummed: checksum.is_some_and(|alg| !alg.eq_ignore_ascii_case("NONE")),
    })
}

/// The driver's error without its layers' repeated prefixes (`Input/output error:
/// Input/output error: Connection refused` is `Connection refused`).
pub fn brief(error: &mysql_async::Error) -> String {
    match error {
        mysql_async::Error::Io(mysql_async::IoError::Io(io)) => io.to_string(),
        mysql_async::Error::Io(mysql_async::IoError::Tls(tls)) => format!("TLS: {tls}"),
        mysql_async::Error::Server(server) => server.to_string(),
        other => other.to_string(),
    }
}
