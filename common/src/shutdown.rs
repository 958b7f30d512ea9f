//! Ctrl-C and SIGTERM as a value every loop can check, so each stops at a point where nothing
//! is half done: records in flight are flushed and positions saved before the process exits.

use std::time::Duration;

use tokio::sync::watch;

/// A handle on whether shutdown was requested; cheap to clone.
#[derive(Debug, Clone)]
pub struct Shutdown {
    requested: watch::Receiver<bool>,
}

/// The sending side, for tests and for programs that stop themselves.
#[derive(Debug)]
pub struct ShutdownTrigger(watch::Sender<bool>);

impl ShutdownTrigger {
    /// Asks every holder of the matching [`Shutdown`] to stop.
    pub fn trigger(&self) {
        let _ = self.0.send(true);
    }
}

impl Shutdown {
    /// A handle with its trigger, not tied to any signal.
    pub fn manual() -> (ShutdownTrigger, Shutdown) {
        let (sender, requested) = watch::channel(false);
        (ShutdownTrigger(sender), Shutdown { requested })
    }

    /// A handle that turns true on SIGINT or SIGTERM. Needs a Tokio runtime.
    pub fn on_signals() -> Shutdown {
        let (trigger, shutdown) = Self::manual();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutdown requested: finishing in-flight work");
            trigger.trigger();
        });
        shutdown
    }

    /// Whether shutdown was requested.
    pub fn requested(&self) -> bool {
        *self.requested.borrow()
    }

    /// Waits until shutdown is requested.
    pub async fn wait(&mut self) {
        let _ = self.requested.wait_for(|stop| *stop).await;
    }

    /// Sleeps for `pause`; `true` when shutdown interrupted the sleep.
    pub async fn sleep(&self, pause: Duration) -> bool {
        let mut watcher = self.clone();
        tokio::select! {
            _ = tokio::time::sleep(pause) => watcher.requested(),
            _ = watcher.wait() => true,
        }
    }
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
