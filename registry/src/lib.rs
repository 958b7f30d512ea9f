//! Speaks the Confluent Schema Registry REST API, as served by Confluent's registry and by
//! Apicurio's `/apis/ccompat/v7`, so producers and consumers can share schemas by id.

mod client;
mod error;
mod probe;
mod schema_file;

pub use client::{CompatibilityLevel, RegistryClient, SchemaId};
pub use error::RegistryError;
pub use probe::probe_registry;
pub use schema_file::{SchemaFile, SchemaFileError};
