//! `sluice-producer`: streams changed rows of the MySQL table into Kafka as Avro.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sluice_common::preflight;
use sluice_common::settings::{self, AsJson, CommandKind, Layers, SharedArgs};
use sluice_common::shutdown::Shutdown;
use sluice_producer::{check, reset, startup};

// jemalloc for Rust and C alike (librdkafka's allocations too); see `.cargo/config.toml`.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Streams changed rows of a MySQL table into Kafka as Avro.
#[derive(Debug, Parser)]
#[command(name = "sluice-producer", version)]
struct Cli {
    #[command(flatten)]
    shared: SharedArgs,
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
    /// A preflight of everything `run` would refuse, disturbing nothing: logins and TLS, the
    /// table's grants, column plan and keyset index, the topic's partitions, the schema against
    /// the registry. Exit 0 when `run` would start, 1 when something would fail, 2 for
    /// settings that do not load.
    Check(AsJson),
    /// Print the settings it would run with and where each came from (secrets redacted).
    Config(AsJson),
    /// Put the watermark back at the beginning: the next start snapshots the whole table
    /// again. Under exactly-once a producer still running with the same transactional id is
    /// fenced and stops; at least once, stop it first.
    Reset,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    sluice_common::logging::init(&cli.shared.log);
    sluice_common::exit::finish_with(BINARY, run(cli).await)
}

const BINARY: &str = "sluice-producer";

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let command = cli.command.unwrap_or(Command::Run {
        until_caught_up: false,
    });
    let kind = match command {
        Command::Config(AsJson { json }) => CommandKind::Config { json },
        Command::Check(_) => CommandKind::Check,
        _ => CommandKind::Other,
    };
    let settings = match settings::settings_for(BINARY, &Layers::from(&cli.shared.config), kind)? {
        Ok(settings) => settings,
        Err(code) => return Ok(code),
    };
    match command {
        Command::Config(_) => Ok(ExitCode::SUCCESS),
        Command::Run { until_caught_up } => {
            let shutdown = Shutdown::on_signals();
            if let Some(pipeline) = startup::prepare(&settings, &shutdown).await? {
                pipeline.run(shutdown, until_caught_up).await?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Check(AsJson { json }) => {
            let report = check::check(&settings).await;
            Ok(preflight::report(BINARY, &report, json)?)
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
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn help_opens_with_what_the_producer_does() {
        let about = Cli::command()
            .get_about()
            .map(ToString::to_string)
            .unwrap_or_default();
        assert_eq!(
            about,
            "Streams changed rows of a MySQL table into Kafka as Avro"
        );
    }
}
