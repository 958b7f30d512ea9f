//! The producer loop: read a page after the last page read, queue its records, and move the
//! watermark past each page once Kafka has acknowledged all of it (at least once), or once the
//! transaction carrying it has committed (exactly once, see `publish::transaction`).
//!
//! Invariant: the watermark never passes a row Kafka has not acknowledged (committed, under
//! exactly-once). Up to `PAGES_IN_FLIGHT` pages are queued at once, acknowledged in order; while
//! they are in flight the next page is already read, so the database, the encoding and Kafka work
//! at the same time. When a page or a transaction fails, the pages after it are waited for, an open
//! transaction is aborted, and everything from the watermark on is read and sent again, in order,
//! so each row's latest state is also its last record; failures in a row wait longer each time (see
//! `publish::failure_policy`), and one that cannot heal stops the producer. At least once, the
//! watermark is saved beside the loop (see `watermark::saver`), so a crash re-sends at most the
//! pages in flight and those acknowledged during the last save; exactly once, a crash leaves an
//! open transaction that the next start aborts.

mod acknowledge;
mod client_run;
pub(crate) mod in_flight;
pub mod page_reader;
mod pipeline;
pub mod progress;
pub(crate) mod queue_rows;
pub mod read_ahead;
mod report;
pub(crate) mod start_position;
mod sweep_step;
mod table_change;

pub use pipeline::Pipeline;
