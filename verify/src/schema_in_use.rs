//! The schema the lines were written with, as the members are configured to read: the reader
//! schema file, or the latest version of the topic's subject. The table's values are shown as
//! that schema's fields show them (a `TIMESTAMP` as a `timestamp-millis` keeps three digits, a
//! `DECIMAL` is a string), so a table of any columns is judged.

use apache_avro::Schema;
use sluice_common::settings::{ReaderSchemaSource, Settings};
use sluice_registry::{RegistryClient, SchemaFile};

use crate::VerifyError;

/// The members' reader schema: the file's, or the subject's latest version.
pub async fn reader_schema(settings: &Settings) -> Result<Schema, VerifyError> {
    match settings.consumer.reader_schema_from {
        ReaderSchemaSource::File => {
            SchemaFile::load_or_built_in(&settings.consumer.reader_schema_file)
                .map(|file| file.schema)
                .map_err(|e| VerifyError::Schema(e.to_string()))
        }
        ReaderSchemaSource::Latest => {
            let subject = format!("{}-value", settings.kafka.topic);
            let client = RegistryClient::new(&settings.registry)
                .map_err(|e| VerifyError::Schema(e.to_string()))?;
            let latest = client.version(&subject, None).await.map_err(|e| {
                VerifyError::Schema(format!("the latest version of {subject}: {e}"))
            })?;
            Schema::parse_str(&latest.schema).map_err(|e| {
                VerifyError::Schema(format!(
                    "version {} of {subject} is not valid Avro: {e}",
                    latest.version
                ))
            })
        }
    }
}

/// The type of field `name` of `schema`, a nullable union's other branch for a nullable field;
/// `None` when the schema has no such field.
pub fn field_type<'s>(schema: &'s Schema, name: &str) -> Option<&'s Schema> {
    let Schema::Record(record) = schema else {
        return None;
    };
    let field = record.fields.iter().find(|f| f.name == name)?;
    Some(match &field.schema {
        Schema::Union(union) => union
            .variants()
            .iter()
            .find(|variant| **variant != Schema::Null)
            .unwrap_or(&field.schema),
        other => other,
    })
}
