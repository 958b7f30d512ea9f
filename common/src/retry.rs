//! Waiting for a server that is not there yet, with backoff, saying what is awaited.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use crate::shutdown::Shutdown;

const FIRST_PAUSE: Duration = Duration::from_millis(500);
const LONGEST_PAUSE: Duration = Duration::from_secs(10);

/// Runs `attempt` until it succeeds, pausing 0.5 s, 1 s, 2 s … up to 10 s between tries and
/// logging each failure with what is awaited. `None` when shutdown was requested meanwhile.
pub async fn until_ok<T, E, F, Fut>(what: &str, shutdown: &Shutdown, mut attempt: F) -> Option<T>
where
    E: Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut pause = FIRST_PAUSE;
    loop {
        match attempt().await {
            Ok(value) => return Some(value),
            Err(error) => {
                tracing::warn!(
                    "waiting for {what}: {error}; retrying in {:.1}s",
                    pause.as_secs_f32()
                );
                if shutdown.sleep(pause).await {
                    return None;
                }
                pause = (pause * 2).min(LONGEST_PAUSE);
            }
        }
    }
}
