//! What happens in the producer, each written once: its log line and its metrics in one
//! [`Event::emit`](sluice_common::events::Event::emit) (see `sluice_common::events`, which holds
//! the events every process shares).

mod failures;
mod flow;

pub use failures::*;
pub use flow::*;
