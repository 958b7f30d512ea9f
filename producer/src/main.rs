//! `sluice-producer`: streams changed rows of the MySQL table into Kafka as Avro.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sluice_common::preflight::{self, report};
use sluice_common::settings::{self, ConfigArgs, Layers};
use sluice_common::shutdown::Shutdown;
use sluice_producer::{reset, startup};
use sluice_registry::probe_registry;

/// Streams changed rows of a MySQL table into Kafka as Avro.
#[derive(Debug, Parser)]
#[command(name = "sluice-producer", version)]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    log: sluice_common::logging::LogArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Poll the table and publish changed rows until stopped (the default).
    Run {
        /// Exit once every row up to the read bound is acknowledged: a one-off backfill or
        /// catch-up from a scheduler, and how the benchmark times a snapshot. Rows deleted
        /// outright are not swept for (soft deletes are published).
        #[arg(long)]
        until_caught_up: bool,
    },
    /// Validate the configuration and prove MySQL, Kafka and the registry answer.
    Check,
    /// Print the settings it would run with and where each came from (secrets redacted).
    Config {
        /// As JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Put the watermark back at the beginning: the next start snapshots the whole table
    /// again. Under exactly-once a producer still running with the same transactional id is
    /// fenced and stops; at least once, stop it first.
    Reset,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    sluice_common::logging::init(&cli.log);
    sluice_common::exit::finish("sluice-producer", run(cli).await)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let loaded = settings::load_explained(&Layers::from(&cli.config))?;
    let command = cli.command.unwrap_or(Command::Run {
        until_caught_up: false,
    });
    if let Command::Config { json } = command {
        sluice_common::exit::print_stdout(&settings::config_text(&loaded, json)?)?;
        return Ok(());
    }
    tracing::info!("{}", loaded.provenance.summary());
    let settings = loaded.settings;
    match command {
        Command::Config { .. } => Ok(()),
        Command::Run { until_caught_up } => {
            let shutdown = Shutdown::on_signals();
            match startup::prepare(&settings, &shutdown).await? {
                Some(pipeline) => Ok(pipeline.run(shutdown, until_caught_up).await?),
                None => Ok(()),
            }
        }
        Command::Check => {
            let (mysql, kafka, registry) = tokio::join!(
                preflight::probe_mysql(&settings.mysql),
                preflight::probe_kafka(&settings.kafka),
                probe_registry(&settings.registry),
            );
            report(&[mysql, kafka, registry]).map_err(anyhow::Error::msg)
        }
        Command::Reset => {
            let done = reset::reset(&settings, &Shutdown::on_signals()).await?;
            match done.transactional_id {
                Some(id) => tracing::info!(
                    "the watermark of transactional.id `{id}` is back at the beginning in topic \
                     {}; a producer running with that id is fenced and stops",
                    settings.kafka.watermark_topic_name()
                ),
                None => tracing::info!("exactly-once is off: only the watermark file is reset"),
            }
            if done.removed_file {
                tracing::info!("removed {}", settings.producer.watermark_file);
            }
            tracing::info!(
                "the next start snapshots table {} again",
                settings.mysql.table
            );
            Ok(())
        }
    }
}
