//! `sluice-producer`: streams changed rows of the MySQL table into Kafka as Avro.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sluice_common::preflight::{self, report};
use sluice_common::settings::{self, ConfigArgs, Layers};
use sluice_registry::probe_registry;

/// Streams changed rows of a MySQL table into Kafka as Avro.
#[derive(Debug, Parser)]
#[command(name = "sluice-producer", version)]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate the configuration and prove MySQL, Kafka and the registry answer.
    Check,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sluice-producer: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = settings::load(&Layers::from(&cli.config))?;
    match cli.command {
        Command::Check => {
            let (mysql, kafka, registry) = tokio::join!(
                preflight::probe_mysql(&settings.mysql),
                preflight::probe_kafka(&settings.kafka),
                probe_registry(&settings.registry),
            );
            report(&[mysql, kafka, registry]).map_err(anyhow::Error::msg)
        }
    }
}
