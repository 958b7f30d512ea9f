//! Rows to Confluent wire-format records: magic byte 0, the 4-byte big-endian schema id, then
//! the Avro binary datum. The schema is parsed and resolved once; each row only encodes.

use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use apache_avro::Schema;
use schema_registry_converter::schema_registry_common::get_payload;
use sluice_registry::SchemaId;

/// Encodes records of one writer schema under its registered id.
pub struct RecordEncoder {
    writer: GenericDatumWriter<'static>,
    schema_id: SchemaId,
}

impl RecordEncoder {
    /// An encoder for `schema`, registered as `schema_id`. The schema lives as long as the
    /// process: one per producer, so it is kept rather than re-resolved for each row.
    pub fn new(schema: Schema, schema_id: SchemaId) -> Result<Self, apache_avro::Error> {
        let schema: &'static Schema = Box::leak(Box::new(schema));
        let writer = GenericDatumWriter::builder(schema).build()?;
        Ok(Self { writer, schema_id })
    }

    /// The registry id written in front of every record.
    pub fn schema_id(&self) -> SchemaId {
        self.schema_id
    }

    /// One record's bytes as Kafka carries them.
    pub fn encode(&self, record: Value) -> Result<Vec<u8>, apache_avro::Error> {
        let datum = self.writer.write_value_to_vec(record)?;
        Ok(get_payload(self.schema_id, datum))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apache_avro::reader::datum::GenericDatumReader;

    #[test]
    fn records_carry_the_confluent_header_and_decode_back() {
        let schema = Schema::parse_str(include_str!("../../schemas/product.avsc")).expect("schema");
        let encoder = RecordEncoder::new(schema.clone(), 0x0102_0304).expect("encoder");
        let record = Value::Record(vec![
            ("id".into(), Value::Int(7)),
            ("name".into(), Value::String("Lamp".into())),
            ("category".into(), Value::String("home".into())),
            ("price".into(), Value::Float(19.99)),
            (
                "last_updated".into(),
                Value::String("2026-11-24T10:15:30.123456Z".into()),
            ),
        ]);
        let bytes = encoder.encode(record.clone()).expect("encodes");
        assert_eq!(&bytes[..5], &[0, 1, 2, 3, 4]);
        let reader = GenericDatumReader::builder(&schema)
            .build()
            .expect("reader");
        let decoded = reader.read_value(&mut &bytes[5..]).expect("decodes");
        assert_eq!(decoded, record);
    }

    #[test]
    fn a_record_that_does_not_fit_the_schema_is_an_error() {
        let schema = Schema::parse_str(include_str!("../../schemas/product.avsc")).expect("schema");
        let encoder = RecordEncoder::new(schema, 1).expect("encoder");
        let wrong = Value::Record(vec![("id".into(), Value::String("seven".into()))]);
        assert!(encoder.encode(wrong).is_err());
    }
}
