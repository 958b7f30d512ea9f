//! `sluice-consumer`: one member of the group that turns the topic's Avro records into JSON lines.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sluice_common::preflight;
use sluice_common::settings::{self, AsJson, CommandKind, Layers, SharedArgs};
use sluice_common::shutdown::Shutdown;
use sluice_consumer::{check, startup};

/// One member of the consumer group that writes the topic's records as JSON lines.
#[derive(Debug, Parser)]
#[command(name = "sluice-consumer", version)]
struct Cli {
    #[command(flatten)]
    shared: SharedArgs,
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
    /// A preflight of everything `run` would refuse, disturbing nothing (the group is not
    /// joined): the Kafka login and topic, the registry and reader schema, the output folder
    /// (writable, free space, the member's lock). Exit 0 when `run` would start, 1 when
    /// something would fail, 2 for settings that do not load.
    Check(AsJson),
    /// Print the settings it would run with and where each came from (secrets redacted).
    Config(AsJson),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    sluice_common::logging::init(&cli.shared.log);
    sluice_common::exit::finish_with(BINARY, run(cli).await)
}

const BINARY: &str = "sluice-consumer";

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut layers = Layers::from(&cli.shared.config);
    if let Some(number) = cli.member {
        layers
            .overrides
            .push(format!("consumer.member=consumer-{number}"));
    }
    let command = cli.command.unwrap_or(Command::Run);
    let kind = match command {
        Command::Config(AsJson { json }) => CommandKind::Config { json },
        Command::Check(_) => CommandKind::Check,
        Command::Run => CommandKind::Other,
    };
    let settings = match settings::settings_for(BINARY, &layers, kind)? {
        Ok(settings) => settings,
        Err(code) => return Ok(code),
    };
    match command {
        Command::Config(_) => Ok(ExitCode::SUCCESS),
        Command::Run => {
            let shutdown = Shutdown::on_signals();
            if let Some(member) = startup::prepare(&settings, &shutdown).await? {
                tokio::task::spawn_blocking(move || member.run(shutdown)).await??;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Check(AsJson { json }) => {
            let report = check::check(&settings).await;
            Ok(preflight::report(BINARY, &report, json)?)
        }
    }
}
