//! How every sluice binary ends: success, or one line on stderr naming the cause.

use std::error::Error;
use std::process::ExitCode;

/// Turns a binary's outcome into its exit code, printing an error as `<binary>: <cause: …>` on
/// one line, the form users grep logs for.
pub fn finish<E>(binary: &str, outcome: Result<(), E>) -> ExitCode
where
    E: Into<Box<dyn Error + Send + Sync>>,
{
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            print(binary, error.into().as_ref());
            ExitCode::FAILURE
        }
    }
}

/// [`finish`] for a binary whose success has an exit code of its own (`check`: 0, 1 or 2).
pub fn finish_with<E>(binary: &str, outcome: Result<ExitCode, E>) -> ExitCode
where
    E: Into<Box<dyn Error + Send + Sync>>,
{
    match outcome {
        Ok(code) => code,
        Err(error) => finish(binary, Err(error)),
    }
}

/// Prints `text` and a line break on stdout; a reader that went away (`| head`) is not an
/// error.
pub fn print_stdout(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    match writeln!(std::io::stdout().lock(), "{text}") {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        outcome => outcome,
    }
}

/// Prints `error` as `<binary>: <cause: …>` on one line of stderr (see [`describe`]).
pub fn print(binary: &str, error: &(dyn Error + 'static)) {
    eprintln!("{binary}: {}", describe(error));
}

/// `error` and its causes on one line, `what: why: …`. A cause whose text the line already
/// holds (a message that quotes its source) is not repeated; HTTP clients keep the useful part
/// ("Connection refused") several sources deep.
pub fn describe(error: &dyn Error) -> String {
    let mut line = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        let text = next.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = next.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot lock {path}: {source}")]
    struct Quoting {
        path: &'static str,
        source: std::io::Error,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("starting the member")]
    struct Context {
        source: Quoting,
    }

    #[test]
    fn each_cause_is_said_once() {
        let error = Context {
            source: Quoting {
                path: "out/consumer-1.lock",
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            },
        };
        assert_eq!(
            describe(&error),
            "starting the member: cannot lock out/consumer-1.lock: no such file"
        );
    }
}
