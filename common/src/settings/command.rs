//! What every binary does with its settings before its command runs: load them; for `config`,
//! print them and stop; for `check`, settings that do not load are its exit status 2; for any
//! other command, log which file they came from.

use std::process::ExitCode;

use super::{config_text, load_explained, Layers, Settings};

/// The kind of command a binary was asked for, as far as its settings are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandKind {
    /// `config`: print the settings (as JSON with `json`) and stop.
    Config {
        /// JSON instead of TOML.
        json: bool,
    },
    /// `check`: settings that do not load exit 2.
    Check,
    /// Any other command.
    Other,
}

/// The settings the command runs with, or the exit status to stop with now.
pub fn settings_for(
    binary: &str,
    layers: &Layers,
    kind: CommandKind,
) -> anyhow::Result<Result<Settings, ExitCode>> {
    let loaded = match load_explained(layers) {
        Ok(loaded) => loaded,
        Err(error) if kind == CommandKind::Check => {
            crate::exit::print(binary, &error.into());
            return Ok(Err(ExitCode::from(2)));
        }
        Err(error) => return Err(error.into()),
    };
    if let CommandKind::Config { json } = kind {
        crate::exit::print_stdout(&config_text(&loaded, json)?)?;
        return Ok(Err(ExitCode::SUCCESS));
    }
    // `check` prints a report of its own, and its stderr is its first failure alone.
    if kind == CommandKind::Other {
        tracing::info!("{}", loaded.provenance.summary());
    }
    Ok(Ok(loaded.settings))
}
