//! `sluice-consumer`: one member of the group that turns the topic's Avro records into JSON lines.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sluice_common::preflight::{self, report};
use sluice_common::settings::{self, ConfigArgs, Layers};
use sluice_registry::probe_registry;

/// One member of the consumer group that writes the topic's records as JSON lines.
#[derive(Debug, Parser)]
#[command(name = "sluice-consumer", version)]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate the configuration and prove Kafka and the registry answer.
    Check,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sluice-consumer: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = settings::load(&Layers::from(&cli.config))?;
    match cli.command {
        Command::Check => {
            let (kafka, registry) = tokio::join!(
                preflight::probe_kafka(&settings.kafka),
                probe_registry(&settings.registry),
            );
            report(&[kafka, registry]).map_err(anyhow::Error::msg)
        }
    }
}
