//! What a running process shows about itself: Prometheus metrics on `/metrics` and readiness on
//! `/health`, served on a port of its own so an operator (or Prometheus) can ask at any time.

mod process;
mod readiness;
mod server;

pub use process::ProcessMetrics;
pub use readiness::Readiness;
pub use server::{serve, ServeError};
