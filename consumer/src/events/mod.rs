//! What happens in a consumer member, each written once: its log line and its metrics in one
//! [`Event::emit`](sluice_common::events::Event::emit) (see `sluice_common::events`, which holds
//! the events every process shares).
//!
//! A failure that stops the member is not logged here: [`Stopping`] counts it, by its kind,
//! and the process logs it once as it exits.

mod failures;
mod flow;
mod record_tally;

pub use failures::*;
pub use flow::*;
pub(crate) use record_tally::RecordTally;
