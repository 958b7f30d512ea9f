//! `sluice-migrate`: applies the stack's migrations to a database and says which it applied.
//!
//! It reads sluice's own settings (`--config`, `SLUICE__MYSQL__*`, `--set`), so its password
//! comes from `mysql.password_file` or the environment, never from a flag that `ps` shows.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sluice_common::settings::{self, AsJson, CommandKind, Layers, SharedArgs};

/// Applies the migrations of `stack/migrations` (built in) that the database of `[mysql]` has
/// not had yet; its user needs to create tables there.
#[derive(Debug, Parser)]
#[command(name = "sluice-migrate", version)]
struct Cli {
    #[command(flatten)]
    shared: SharedArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply the migrations (the default).
    Apply,
    /// Print the settings it would use and where each came from (secrets redacted).
    Config(AsJson),
}

const BINARY: &str = "sluice-migrate";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    sluice_common::logging::init(&cli.shared.log);
    sluice_common::exit::finish_with(BINARY, run(cli).await)
}

async fn run(cli: Cli) -> Result<ExitCode, Box<dyn std::error::Error + Send + Sync>> {
    let kind = match cli.command {
        Some(Command::Config(AsJson { json })) => CommandKind::Config { json },
        _ => CommandKind::Other,
    };
    let settings = match settings::settings_for(BINARY, &Layers::from(&cli.shared.config), kind)? {
        Ok(settings) => settings,
        Err(code) => return Ok(code),
    };
    let mysql = &settings.mysql;
    let target = format!(
        "{}@{}:{}/{}",
        mysql.user, mysql.host, mysql.port, mysql.database
    );
    // Its error names the server, the user and what to check.
    let pool = sluice_common::mysql::connect(mysql, 1).await?;
    let applied = sluice_migrate::apply(&pool)
        .await
        .map_err(|error| format!("migrating {target} failed: {error}"))?;
    for migration in applied {
        println!("applied migration {migration}");
    }
    Ok(ExitCode::SUCCESS)
}
