//! The one retry policy: how long to wait between the tries of a server or step that failed,
//! which failures are tried again, and that every wait is said and counted.
//!
//! Invariants:
//! - every retry in sluice waits through a [`Policy`] built here, on `backon`'s schedules;
//! - a failure that waiting cannot heal ([`Transient::is_transient`] is false) is returned at
//!   once, never tried again;
//! - every wait emits [`Retrying`]: a warning naming what is awaited, and one count in
//!   `sluice_errors_total{kind}`;
//! - shutdown ends a wait at once, and no try starts after it.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use backon::{
    BackoffBuilder, BlockingRetryable, ExponentialBackoff, ExponentialBuilder, Retryable,
};

use crate::events::{ErrorKind, Event, Retrying};
use crate::shutdown::Shutdown;

/// Whether a failure may heal by trying again (a server away, a coordinator loading) or not
/// (refused, invalid).
pub trait Transient {
    /// `true` when the same call may succeed later.
    fn is_transient(&self) -> bool;
}

/// When to try again: pauses that double from `first` up to `longest`, for as many tries as
/// allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    first: Duration,
    longest: Duration,
    retries: Option<usize>,
}

impl Policy {
    /// Waiting for a server to come: 0.5 s, 1 s, 2 s … up to 10 s between tries, for as long
    /// as it takes.
    pub const SERVER: Policy =
        Policy::doubling(Duration::from_millis(500), Duration::from_secs(10));

    /// Pauses from `first`, each twice the last, up to `longest`; tries without end.
    pub const fn doubling(first: Duration, longest: Duration) -> Policy {
        Policy {
            first,
            longest,
            retries: None,
        }
    }

    /// The same pause before every try; tries without end.
    pub const fn steady(pause: Duration) -> Policy {
        Policy::doubling(pause, pause)
    }

    /// The policy with at most `retries` tries after the first.
    pub const fn at_most(self, retries: usize) -> Policy {
        Policy {
            retries: Some(retries),
            ..self
        }
    }

    fn builder(self) -> ExponentialBuilder {
        let builder = ExponentialBuilder::new()
            .with_factor(2.0)
            .with_min_delay(self.first)
            .with_max_delay(self.longest);
        match self.retries {
            Some(retries) => builder.with_max_times(retries),
            None => builder.without_max_times(),
        }
    }

    /// The pauses of one run of failures, for a loop that cannot be a single retried call.
    pub fn pauses(self) -> Pauses {
        Pauses {
            policy: self,
            backoff: self.builder().build(),
        }
    }
}

/// The pauses of a run of failures in a row, on a [`Policy`]'s schedule.
#[derive(Debug)]
pub struct Pauses {
    policy: Policy,
    backoff: ExponentialBackoff,
}

impl Pauses {
    /// The pause before the next try, or `None` when the policy allows no more.
    pub fn next_pause(&mut self) -> Option<Duration> {
        self.backoff.next()
    }

    /// The pause before the next try of a policy that tries without end.
    pub fn pause(&mut self) -> Duration {
        self.next_pause().unwrap_or(self.policy.longest)
    }

    /// After a success: the next failure waits the first pause again.
    pub fn reset(&mut self) {
        self.backoff = self.policy.builder().build();
    }

    /// Says and counts the wait after `error` ([`Retrying`]), then waits the next pause;
    /// `true` when shutdown ended the wait.
    pub async fn wait_after(
        &mut self,
        kind: ErrorKind,
        what: &str,
        error: &dyn Display,
        shutdown: &Shutdown,
    ) -> bool {
        let pause = self.pause();
        say_wait(kind, what, error, pause);
        shutdown.sleep(pause).await
    }
}

/// Every wait, logged and counted.
fn say_wait(kind: ErrorKind, what: &str, error: &dyn Display, pause: Duration) {
    Retrying {
        kind,
        what,
        error,
        pause,
    }
    .emit();
}

/// Runs `attempt` until it succeeds, retrying every failure as [`Policy::SERVER`] says:
/// waiting for a server that is not there yet. `None` when shutdown was requested meanwhile.
pub async fn until_ok<T, E, F, Fut>(
    kind: ErrorKind,
    what: &str,
    shutdown: &Shutdown,
    attempt: F,
) -> Option<T>
where
    E: Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    retry_when(Policy::SERVER, kind, what, shutdown, attempt, |_| true)
        .await
        .and_then(Result::ok)
}

/// Runs `attempt` until it succeeds or fails for good (not [`Transient`]), as `policy` says.
/// `None` when shutdown was requested meanwhile.
pub async fn retry<T, E, F, Fut>(
    policy: Policy,
    kind: ErrorKind,
    what: &str,
    shutdown: &Shutdown,
    attempt: F,
) -> Option<Result<T, E>>
where
    E: Display + Transient,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    retry_when(policy, kind, what, shutdown, attempt, E::is_transient).await
}

/// How a try ended that did not succeed.
enum Stop<E> {
    Failed(E),
    ShutDown,
}

/// Runs `attempt` until it succeeds, fails with an error `is_transient` rejects, or `policy`
/// allows no more tries. `None` when shutdown was requested before the next try.
pub async fn retry_when<T, E, F, Fut>(
    policy: Policy,
    kind: ErrorKind,
    what: &str,
    shutdown: &Shutdown,
    attempt: F,
    is_transient: impl Fn(&E) -> bool,
) -> Option<Result<T, E>>
where
    E: Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    run(policy, kind, what, Some(shutdown), attempt, is_transient).await
}

/// [`retry_when`] for a call whose policy ends its tries soon (`Policy::at_most`), so it need
/// not heed shutdown.
pub async fn retry_bounded<T, E, F, Fut>(
    policy: Policy,
    kind: ErrorKind,
    what: &str,
    attempt: F,
    is_transient: impl Fn(&E) -> bool,
) -> Result<T, E>
where
    E: Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    match run(policy, kind, what, None, attempt, is_transient).await {
        Some(outcome) => outcome,
        None => unreachable!("without a shutdown handle every run ends with an outcome"),
    }
}

async fn run<T, E, F, Fut>(
    policy: Policy,
    kind: ErrorKind,
    what: &str,
    shutdown: Option<&Shutdown>,
    mut attempt: F,
    is_transient: impl Fn(&E) -> bool,
) -> Option<Result<T, E>>
where
    E: Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let stopping = || shutdown.is_some_and(Shutdown::requested);
    let mut tried = false;
    let guarded = || {
        // The first try always runs; none starts once shutdown was requested.
        let next = (!tried || !stopping()).then(&mut attempt);
        tried = true;
        async move {
            match next {
                Some(attempt) => attempt.await.map_err(Stop::Failed),
                None => Err(Stop::ShutDown),
            }
        }
    };
    let watcher = shutdown.cloned();
    let outcome = guarded
        .retry(policy.builder())
        .sleep(move |pause| {
            let watcher = watcher.clone();
            async move {
                match watcher {
                    Some(watcher) => {
                        watcher.sleep(pause).await;
                    }
                    None => tokio::time::sleep(pause).await,
                }
            }
        })
        .when(|stop| matches!(stop, Stop::Failed(error) if is_transient(error)))
        .notify(|stop, pause| {
            if let Stop::Failed(error) = stop {
                say_wait(kind, what, error, pause);
            }
        })
        .await;
    match outcome {
        Ok(value) => Some(Ok(value)),
        Err(Stop::Failed(error)) => Some(Err(error)),
        Err(Stop::ShutDown) => None,
    }
}

/// [`retry_when`] for a blocking `attempt`, on a thread that may sleep.
pub fn retry_blocking<T, E, F>(
    policy: Policy,
    kind: ErrorKind,
    what: &str,
    attempt: F,
    is_transient: impl Fn(&E) -> bool,
) -> Result<T, E>
where
    E: Display,
    F: FnMut() -> Result<T, E>,
{
    attempt
        .retry(policy.builder())
        .sleep(std::thread::sleep)
        .when(is_transient)
        .notify(|error, pause| say_wait(kind, what, error, pause))
        .call()
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[derive(Debug, PartialEq)]
    enum Failure {
        Away,
        Refused,
    }

    impl Display for Failure {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{self:?}")
        }
    }

    impl Transient for Failure {
        fn is_transient(&self) -> bool {
            *self == Failure::Away
        }
    }

    const QUICK: Policy = Policy::steady(Duration::from_millis(1));

    fn errors_of(kind: ErrorKind) -> u64 {
        crate::events::errors_total()
            .with_label_values(&[kind.as_str()])
            .get()
    }

    #[test]
    fn pauses_double_up_to_the_longest_and_start_again_after_a_reset() {
        let mut pauses = Policy::doubling(Duration::from_secs(1), Duration::from_secs(30)).pauses();
        let seconds: Vec<u64> = (0..7).map(|_| pauses.pause().as_secs()).collect();
        assert_eq!(seconds, [1, 2, 4, 8, 16, 30, 30]);
        pauses.reset();
        assert_eq!(pauses.pause(), Duration::from_secs(1));
    }

    #[test]
    fn a_bounded_policy_runs_out() {
        let mut pauses = QUICK.at_most(2).pauses();
        assert!(pauses.next_pause().is_some());
        assert!(pauses.next_pause().is_some());
        assert_eq!(pauses.next_pause(), None);
    }

    #[tokio::test]
    async fn transient_failures_are_retried_and_counted_until_success() {
        let (_trigger, shutdown) = Shutdown::manual();
        let tries = Cell::new(0);
        let before = errors_of(ErrorKind::Mysql);
        let outcome = retry(QUICK, ErrorKind::Mysql, "MySQL", &shutdown, || async {
            tries.set(tries.get() + 1);
            if tries.get() < 3 {
                Err(Failure::Away)
            } else {
                Ok(tries.get())
            }
        })
        .await;
        assert_eq!(outcome, Some(Ok(3)));
        assert!(errors_of(ErrorKind::Mysql) >= before + 2);
    }

    #[tokio::test]
    async fn a_permanent_failure_is_returned_at_once() {
        let (_trigger, shutdown) = Shutdown::manual();
        let tries = Cell::new(0);
        let outcome: Option<Result<(), Failure>> =
            retry(QUICK, ErrorKind::Kafka, "Kafka", &shutdown, || async {
                tries.set(tries.get() + 1);
                Err(Failure::Refused)
            })
            .await;
        assert_eq!(outcome, Some(Err(Failure::Refused)));
        assert_eq!(tries.get(), 1);
    }

    #[tokio::test]
    async fn shutdown_stops_the_tries() {
        let (trigger, shutdown) = Shutdown::manual();
        let tries = Cell::new(0);
        let outcome: Option<()> = until_ok(ErrorKind::Kafka, "Kafka", &shutdown, || {
            tries.set(tries.get() + 1);
            if tries.get() == 2 {
                trigger.trigger();
            }
            async { Err::<(), _>(Failure::Away) }
        })
        .await;
        assert_eq!(outcome, None);
        assert_eq!(tries.get(), 2);
    }

    #[test]
    fn a_blocking_retry_gives_up_when_the_policy_runs_out() {
        let tries = Cell::new(0);
        let outcome: Result<(), Failure> = retry_blocking(
            QUICK.at_most(2),
            ErrorKind::Commit,
            "the group coordinator",
            || {
                tries.set(tries.get() + 1);
                Err(Failure::Away)
            },
            Failure::is_transient,
        );
        assert_eq!(outcome, Err(Failure::Away));
        assert_eq!(tries.get(), 3);
    }
}
