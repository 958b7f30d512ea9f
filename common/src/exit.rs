//! How every sluice binary ends: success, or one line on stderr naming the cause.

use std::process::ExitCode;

/// Turns a binary's outcome into its exit code, printing an error as `<binary>: <cause: …>` on
/// one line, the form users grep logs for.
pub fn finish(binary: &str, outcome: anyhow::Result<()>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{binary}: {error:#}");
            ExitCode::FAILURE
        }
    }
}
