//! `sluice-consumer`: one member of the group that turns the topic's Avro records into JSON lines.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sluice_common::preflight::{self, report};
use sluice_common::settings::{self, ConfigArgs, Layers};
use sluice_common::shutdown::Shutdown;
use sluice_consumer::startup;
use sluice_registry::probe_registry;

/// One member of the consumer group that writes the topic's records as JSON lines.
#[derive(Debug, Parser)]
#[command(name = "sluice-consumer", version)]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    log: sluice_common::logging::LogArgs,
    /// This member's number N: it joins as `consumer-N` and writes `consumer-N.jsonl`
    /// (sets consumer.member).
    #[arg(long, global = true)]
    member: Option<u32>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read, transform and write records until stopped (the default).
    Run,
    /// Validate the configuration and prove Kafka and the registry answer.
    Check,
    /// Print the settings it would run with and where each came from (secrets redacted).
    Config {
        /// As JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    sluice_common::logging::init(&cli.log);
    sluice_common::exit::finish("sluice-consumer", run(cli).await)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut layers = Layers::from(&cli.config);
    if let Some(number) = cli.member {
        layers
            .overrides
            .push(format!("consumer.member=consumer-{number}"));
    }
    let loaded = settings::load_explained(&layers)?;
    let command = cli.command.unwrap_or(Command::Run);
    if let Command::Config { json } = command {
        sluice_common::exit::print_stdout(&settings::config_text(&loaded, json)?)?;
        return Ok(());
    }
    tracing::info!("{}", loaded.provenance.summary());
    let settings = loaded.settings;
    match command {
        Command::Config { .. } => Ok(()),
        Command::Run => {
            let shutdown = Shutdown::on_signals();
            let Some(member) = startup::prepare(&settings, &shutdown).await? else {
                return Ok(());
            };
            Ok(tokio::task::spawn_blocking(move || member.run(shutdown)).await??)
        }
        Command::Check => {
            let (kafka, registry) = tokio::join!(
                preflight::probe_kafka(&settings.kafka),
                probe_registry(&settings.registry),
            );
            report(&[kafka, registry]).map_err(anyhow::Error::msg)
        }
    }
}
