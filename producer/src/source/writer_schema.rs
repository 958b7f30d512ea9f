//! Where the records' schema comes from: a file (`producer.schema_from = "file"`), the same
//! whatever the table holds, or the table itself (`"table"`), built from its columns each time
//! they are read from the catalogue. Either way it resolves to a parsed schema with the text to
//! register and a name for messages.

use std::path::PathBuf;

use apache_avro::Schema;
use sluice_common::settings::{ChangeSource, ProducerSettings, WriterSchemaSource};
use sluice_registry::{SchemaFile, SchemaFileError};

use super::catalogue::TableColumn;
use super::derive::{derive_schema, DeriveError, DeriveOptions};

/// The configured source of the writer schema.
#[derive(Debug, Clone)]
pub enum WriterSchema {
    /// A schema file, parsed at start.
    File(SchemaFile),
    /// Built from the table's columns with these options.
    Table(DeriveOptions),
}

impl WriterSchema {
    /// The writer schema the settings configure; a file is read and parsed now.
    pub fn from_settings(producer: &ProducerSettings) -> Result<Self, SchemaFileError> {
        Ok(match producer.schema_from {
            WriterSchemaSource::File => {
                Self::File(SchemaFile::load_or_built_in(&producer.schema_file)?)
            }
            WriterSchemaSource::Table => Self::Table(DeriveOptions {
                record_name: producer.record_name.clone(),
                namespace: producer.record_namespace.clone(),
                include: producer.included_columns(),
                exclude: producer.excluded_columns(),
                // The binlog source orders changes by the binary log: only the key is needed.
                required: match producer.source {
                    ChangeSource::Timestamp => vec![
                        producer.key_column.clone(),
                        producer.timestamp_column.clone(),
                    ],
                    ChangeSource::Binlog => vec![producer.key_column.clone()],
                },
            }),
        })
    }

    /// Whether the schema is built from the table, and changes with it.
    pub fn follows_table(&self) -> bool {
        matches!(self, Self::Table(_))
    }

    /// How messages name the schema: the file's path, or what it is built from.
    pub fn describe(&self, qualified: &str) -> PathBuf {
        match self {
            Self::File(file) => file.path.clone(),
            Self::Table(_) => built_from(qualified),
        }
    }

    /// The schema for `table`'s (the table's bare name) current `columns`; its `path` names
    /// where it came from, `(built from the columns of <qualified>)` for a derived one.
    pub fn resolve(
        &self,
        table: &str,
        qualified: &str,
        columns: &[TableColumn],
    ) -> Result<SchemaFile, DeriveError> {
        match self {
            Self::File(file) => Ok(file.clone()),
            Self::Table(options) => {
                let text = derive_schema(table, columns, options)?;
                let schema =
                    Schema::parse_str(&text).map_err(|e| DeriveError::Invalid(e.to_string()))?;
                Ok(SchemaFile {
                    path: built_from(qualified),
                    text,
                    schema,
                })
            }
        }
    }
}

/// The name of a schema built from `qualified`'s columns.
fn built_from(qualified: &str) -> PathBuf {
    PathBuf::from(format!("(built from the columns of {qualified})"))
}
