//! Speaks the Confluent Schema Registry REST API, as served by Confluent's registry and by
//! Apicurio's `/apis/ccompat/v7`, so producers and consumers can share schemas by id.

mod client;
mod endpoints;
mod error;
mod explain;
pub mod http;
mod probe;
mod schema_file;
mod wire_format;

pub use client::{CompatibilityLevel, RegistryClient, SchemaId};
pub use endpoints::{CompatibilityVerdict, SubjectVersion};
pub use error::RegistryError;
pub use explain::{explain_incompatibility, why_refused};
pub use probe::{registry_check, schema_check};
pub use schema_file::{SchemaFile, SchemaFileError};
pub use wire_format::{WireFormat, WireFormatError, HEADER_LEN, MAGIC_BYTE};
