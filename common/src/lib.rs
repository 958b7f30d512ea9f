//! What every sluice process shares: one typed configuration and the connections built from it.
//!
//! The producer, the consumers and the tests all read the same [`settings::Settings`], so a
//! value set once in `sluice.toml`, the environment or on the command line means the same thing
//! to each of them.

pub mod acls;
pub mod dead_letter;
pub mod deletes;
pub mod durable_file;
pub mod events;
pub mod exit;
pub mod fault;
pub mod kafka;
pub mod logging;
pub mod mysql;
pub mod observe;
pub mod preflight;
pub mod retry;
pub mod settings;
pub mod shutdown;
