//! `sluice-migrate`: applies the stack's migrations to a database and says which it applied.

use clap::Parser;
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions, MySqlSslMode};

/// Applies the migrations of `stack/migrations` (built in) that the database has not had yet.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// MySQL host.
    #[arg(long, env = "SLUICE__MYSQL__HOST", default_value = "127.0.0.1")]
    host: String,
    /// MySQL port.
    #[arg(long, env = "SLUICE__MYSQL__PORT", default_value_t = 3306)]
    port: u16,
    /// A user that may create tables in the database.
    #[arg(long, env = "SLUICE__MYSQL__USER", default_value = "sluice")]
    user: String,
    /// Its password.
    #[arg(
        long,
        env = "SLUICE__MYSQL__PASSWORD",
        default_value = "sluice",
        hide_env_values = true
    )]
    password: String,
    /// The database.
    #[arg(long, env = "SLUICE__MYSQL__DATABASE", default_value = "sluice")]
    database: String,
    /// TLS: disabled, preferred, required, verify_ca or verify_identity (as `mysql.tls_mode`).
    #[arg(long, env = "SLUICE__MYSQL__TLS_MODE", default_value = "preferred")]
    tls_mode: MySqlSslMode,
    /// PEM file of the authority that signed the server's certificate (as `mysql.ca_file`).
    #[arg(long, env = "SLUICE__MYSQL__CA_FILE", default_value = "")]
    ca_file: String,
    /// PEM client certificate (as `mysql.certificate_file`), with `--key-file`.
    #[arg(long, env = "SLUICE__MYSQL__CERTIFICATE_FILE", default_value = "")]
    certificate_file: String,
    /// PEM key of the client certificate (as `mysql.key_file`).
    #[arg(long, env = "SLUICE__MYSQL__KEY_FILE", default_value = "")]
    key_file: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let target = format!(
        "{}@{}:{}/{}",
        args.user, args.host, args.port, args.database
    );
    let mut options = MySqlConnectOptions::new()
        .host(&args.host)
        .port(args.port)
        .username(&args.user)
        .password(&args.password)
        .database(&args.database)
        .ssl_mode(args.tls_mode);
    if !args.ca_file.is_empty() {
        options = options.ssl_ca(&args.ca_file);
    }
    if !args.certificate_file.is_empty() {
        options = options
            .ssl_client_cert(&args.certificate_file)
            .ssl_client_key(&args.key_file);
    }
    let pool = match MySqlPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
    {
        Ok(pool) => pool,
        Err(error) => {
            eprintln!("sluice-migrate: cannot connect to {target}: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match sluice_migrate::apply(&pool).await {
        Ok(applied) => {
            for migration in applied {
                println!("applied migration {migration}");
            }
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("sluice-migrate: migrating {target} failed: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
