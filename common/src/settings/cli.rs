//! The command-line layer shared by every sluice binary.

use std::path::PathBuf;

/// Where the configuration comes from, as flags every binary accepts.
///
/// Flattened into each binary's own arguments so `--config` and `--set` mean the same thing
/// everywhere.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConfigArgs {
    /// Configuration file (TOML). Without it, `./sluice.toml` is read when present.
    #[arg(long, value_name = "FILE", env = "SLUICE_CONFIG", global = true)]
    pub config: Option<PathBuf>,

    /// Override one setting, e.g. `--set kafka.topic=other`; wins over the file and the
    /// environment. Repeatable.
    #[arg(long = "set", value_name = "SECTION.KEY=VALUE", global = true)]
    pub overrides: Vec<String>,
}
