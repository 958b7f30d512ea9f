//! The command-line layer shared by every sluice binary.

use std::path::PathBuf;

/// The flags every sluice binary takes: where its settings come from, and how it logs.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SharedArgs {
    /// `--config` and `--set`.
    #[command(flatten)]
    pub config: ConfigArgs,
    /// `--log-format`.
    #[command(flatten)]
    pub log: crate::logging::LogArgs,
}

/// The `--json` of a subcommand that prints (`check`, `config`).
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct AsJson {
    /// As JSON, for scripts.
    #[arg(long)]
    pub json: bool,
}

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
    /// environment. Repeatable, before or after the subcommand.
    #[arg(long = "set", value_name = "SECTION.KEY=VALUE", global = true)]
    pub overrides: Vec<String>,
}

impl ConfigArgs {
    /// Every `--set` of this process's command line, in order, wherever it was given. clap
    /// keeps only the subcommand's occurrences of a global flag given both before and after
    /// the subcommand (`--set a=1 check --set b=2` would lose `a=1`).
    pub fn all_overrides(&self) -> Vec<String> {
        every_set(std::env::args().skip(1), &self.overrides)
    }
}

/// The `--set` values of `arguments` when they hold every one clap `parsed` (clap's are a
/// subset of them, as a command line parsed with `global` flags leaves them); else `parsed`
/// (arguments from elsewhere than the command line, as tests build them).
fn every_set(arguments: impl Iterator<Item = String>, parsed: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    let mut arguments = arguments.take_while(|argument| argument != "--");
    while let Some(argument) = arguments.next() {
        if argument == "--set" {
            found.extend(arguments.next());
        } else if let Some(value) = argument.strip_prefix("--set=") {
            found.push(value.to_owned());
        }
    }
    if parsed.iter().all(|value| found.contains(value)) {
        found
    } else {
        parsed.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arguments(line: &str) -> impl Iterator<Item = String> + '_ {
        line.split(' ').map(str::to_owned)
    }

    #[test]
    fn a_set_before_the_subcommand_is_kept_beside_one_after_it() {
        let parsed = vec!["b=2".to_owned()];
        assert_eq!(
            every_set(arguments("--set a=1 check --set=b=2"), &parsed),
            ["a=1", "b=2"]
        );
    }

    #[test]
    fn sets_from_elsewhere_than_the_command_line_are_kept() {
        let parsed = vec!["a=1".to_owned()];
        assert_eq!(
            every_set(arguments("test-binary --nocapture"), &parsed),
            ["a=1"]
        );
    }
}
