//! What every binary does with its settings before its command runs: load them; for `config`,
//! print them and stop; for `check`, settings that do not load are its exit status 2; for any
//! other command, log which file they came from.

use std::process::ExitCode;

use super::{config_text, load_explained, Layers, Settings, SettingsError};

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

/// Why the settings of a command could not be loaded or shown.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// They do not load.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// They cannot be written as JSON.
    #[error("writing the settings as JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// They cannot be printed.
    #[error("printing the settings: {0}")]
    Print(#[from] std::io::Error),
}

/// The settings the command runs with, or the exit status to stop with now.
pub fn settings_for(
    binary: &str,
    layers: &Layers,
    kind: CommandKind,
) -> Result<Result<Settings, ExitCode>, CommandError> {
    let loaded = match load_explained(layers) {
        Ok(loaded) => loaded,
        Err(error) if kind == CommandKind::Check => {
            crate::exit::print(binary, &error);
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
