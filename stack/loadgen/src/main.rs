//! `sluice-loadgen`: sample products and live updates for trying sluice out.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use sluice_common::settings::{self, AsJson, Layers, SharedArgs};
use sluice_common::shutdown::Shutdown;
use sluice_common::{logging, mysql};
use sluice_loadgen as loadgen;

/// Sample products and live updates for trying sluice out.
#[derive(Debug, Parser)]
#[command(name = "sluice-loadgen", version)]
struct Cli {
    #[command(flatten)]
    shared: SharedArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Insert a sample catalogue into the configured table.
    Seed {
        /// How many products.
        #[arg(long, default_value_t = 10_000)]
        rows: i64,
        /// Do nothing when the table already has rows.
        #[arg(long)]
        if_empty: bool,
    },
    /// Update random products at a steady rate until stopped.
    Simulate {
        /// Updates per second, all connections together; 0 for as fast as the database goes.
        #[arg(long, default_value_t = 200)]
        rate: u32,
        /// Updates per transaction (one statement each).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
        transaction_rows: u32,
        /// Connections committing transactions side by side.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
        connections: u32,
        /// File to append each committed update to, as `N id commit-time-µs` (N is the ` #N`
        /// its name ends with), for timing each change downstream.
        #[arg(long)]
        journal: Option<std::path::PathBuf>,
    },
    /// Print the settings it would use and where each came from (secrets redacted).
    Config(AsJson),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(&cli.shared.log);
    sluice_common::exit::finish("sluice-loadgen", run(cli).await)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let kind = match cli.command {
        Command::Config(AsJson { json }) => settings::CommandKind::Config { json },
        _ => settings::CommandKind::Other,
    };
    let Ok(settings) =
        settings::settings_for("sluice-loadgen", &Layers::from(&cli.shared.config), kind)?
    else {
        return Ok(());
    };
    let table = &settings.mysql.table;
    let pool = mysql::connect(&settings.mysql, 2).await?;
    let existing = loadgen::count(&pool, table).await?;
    match cli.command {
        // Printed by settings_for, which returned above.
        Command::Config(_) => {}
        Command::Seed { rows, if_empty } => {
            if if_empty && existing > 0 {
                tracing::info!("{table} already has {existing} products; not seeding");
                return Ok(());
            }
            let first: i64 = sqlx::query_scalar(&format!(
                "SELECT COALESCE(MAX(id), 0) + 1 FROM `{}`",
                table.replace('`', "``")
            ))
            .fetch_one(&pool)
            .await?;
            loadgen::seed(&pool, table, first, rows).await?;
            tracing::info!(
                "inserted {rows} sample products into {table} (ids {first}..{})",
                first + rows - 1
            );
        }
        Command::Simulate {
            rate,
            transaction_rows,
            connections,
            journal,
        } => {
            if existing == 0 {
                anyhow::bail!("{table} is empty: run `sluice-loadgen seed` (or `make run`) first");
            }
            let mut journal = match journal {
                Some(path) => Some(std::io::BufWriter::new(
                    std::fs::File::create(&path).with_context(|| {
                        format!("cannot create the update journal {}", path.display())
                    })?,
                )),
                None => None,
            };
            let pace = if rate == 0 {
                "as fast as it takes them".to_owned()
            } else {
                format!("at {rate}/s")
            };
            tracing::info!(
                "updating random products of {table} {pace}, {transaction_rows} per transaction \
                 on {connections} connection(s); Ctrl-C to stop"
            );
            let shutdown = Shutdown::on_signals();
            let load = loadgen::Load {
                products: existing,
                rate,
                transaction_rows,
                connections,
            };
            let pool = mysql::connect(&settings.mysql, connections).await?;
            let updated = loadgen::simulate(
                &pool,
                table,
                load,
                &shutdown,
                journal
                    .as_mut()
                    .map(|j| j as &mut (dyn std::io::Write + Send)),
            )
            .await?;
            if let Some(mut journal) = journal {
                std::io::Write::flush(&mut journal).context("flushing the update journal")?;
            }
            tracing::info!("stopped after {updated} updates");
        }
    }
    Ok(())
}
