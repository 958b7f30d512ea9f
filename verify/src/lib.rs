//! `sluice-verify`: reads the consumers' JSON files (and the dead-letter topic) and judges them
//! against the table, written apart from the pipeline's own code so that it can serve as the
//! oracle of every test that breaks the pipeline on purpose.
//!
//! What it checks, for the table as it is now:
//! - every line is one JSON object holding the key and the timestamp, and every file ends with
//!   a newline (otherwise the line is **torn**);
//! - no line appears twice (**duplicate**: the same product, timestamp and bytes);
//! - within one file, a product's versions only move forward in time (**backward**);
//! - every row's latest version has a line (**missing**, unless its key is in the dead-letter
//!   topic: **dead-lettered**), and that line is the row transformed (**wrong**);
//! - every product with lines is still in the table (**not in table**);
//! - given the load generator's journal (`--journal`), every committed update of a product
//!   from the first one seen on, once each and in commit order (`journal`).
//!
//! Each column is shown as the members' reader schema shows its field (`schema_in_use`), so
//! any table is judged, whatever its columns.

pub mod dead_letters;
pub mod error;
pub mod expected;
pub mod journal;
pub mod judge;
pub mod key_order;
pub mod line_hash;
pub mod lines;
pub mod read_back;
pub mod report;
pub mod schema_in_use;
pub mod table;

pub use error::VerifyError;
