//! Why a configuration could not be loaded, worded so that one line tells the user what to fix.

use std::path::PathBuf;

/// A configuration that cannot be used. Each variant names the key and where it came from.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file named with `--config` or `SLUICE_CONFIG` does not exist.
    #[error("configuration file {} not found", path.display())]
    FileNotFound {
        /// The path as given.
        path: PathBuf,
    },
    /// A key that no section knows, most often a typo.
    #[error("unknown configuration key `{key}` in {origin}")]
    UnknownKey {
        /// Dotted path of the key, e.g. `mysql.prot`.
        key: String,
        /// The file, `the environment` or `--set`.
        origin: String,
    },
    /// A `--set` flag that is not of the form `section.key=value`.
    #[error("--set `{0}`: expected SECTION.KEY=VALUE, e.g. --set kafka.topic=orders")]
    BadOverride(String),
    /// A value of the wrong type, or a file that is not valid TOML.
    #[error("invalid configuration: {0}")]
    Invalid(String),
    /// A value of the right type that cannot work (a partition count of 0, a discount above
    /// 100 percent).
    #[error("invalid configuration: {key} {problem}")]
    Unworkable {
        /// Dotted path of the key, e.g. `kafka.partitions`.
        key: String,
        /// What is wrong with its value.
        problem: String,
    },
}

/// `key` cannot work, for the reason `problem`: what every check of a value at start returns.
pub(super) fn unworkable(key: impl Into<String>, problem: impl Into<String>) -> SettingsError {
    SettingsError::Unworkable {
        key: key.into(),
        problem: problem.into(),
    }
}
