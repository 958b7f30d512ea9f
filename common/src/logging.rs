//! Log output of every sluice process: human-readable lines on stderr by default, JSON objects
//! (one per line, for log shippers) with `--log-format json`; level from `RUST_LOG` (default
//! `info`).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One readable line per event, coloured on a terminal.
    #[default]
    Human,
    /// One JSON object per event.
    Json,
}

/// The logging flag every binary accepts.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LogArgs {
    /// Log format: `human` or `json`.
    #[arg(
        long,
        value_enum,
        default_value_t,
        env = "SLUICE_LOG_FORMAT",
        global = true
    )]
    pub log_format: LogFormat,
}

/// Installs the subscriber; call once at the start of `main`.
pub fn init(args: &LogArgs) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,rdkafka=warn,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match args.log_format {
        // A person reads the message alone: it says everything in words, and the fields it
        // carries for machines go to the JSON lines.
        LogFormat::Human => builder
            .fmt_fields(tracing_subscriber::fmt::format::debug_fn(
                |writer, field, value| {
                    if field.name() == "message" {
                        write!(writer, "{value:?}")
                    } else {
                        Ok(())
                    }
                },
            ))
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder.json().with_current_span(false).try_init(),
    };
}
