//! Resolving readers: writer schemas read into reader schemas.

use super::*;
use apache_avro::writer::datum::GenericDatumWriter;

fn leak(text: &str) -> &'static Schema {
    Box::leak(Box::new(Schema::parse_str(text).expect("schema")))
}

/// `value`, a value of `schema`, as Avro binary.
pub(crate) fn encode(schema: &Schema, value: Value) -> Vec<u8> {
    GenericDatumWriter::builder(schema)
        .build()
        .expect("writer")
        .write_value_to_vec(value)
        .expect("encodes")
}

#[test]
fn not_found_is_believed_once_the_registry_serves_what_it_has() {
    let now = Duration::ZERO;
    assert!(believe_not_found(Probe::KnownIdServed, now));
    assert!(!believe_not_found(
        Probe::KnownIdMissing,
        NOT_FOUND_PATIENCE * 10
    ));
    assert!(!believe_not_found(
        Probe::Unreachable,
        NOT_FOUND_PATIENCE * 10
    ));
    assert!(believe_not_found(Probe::SubjectServed, now));
    assert!(!believe_not_found(Probe::SubjectMissing, now));
    assert!(believe_not_found(Probe::SubjectMissing, NOT_FOUND_PATIENCE));
}

#[test]
fn the_same_schema_reads_without_resolution_and_an_older_one_is_resolved() {
    let v2 = leak(
        r#"{"type":"record","name":"P","doc":"reader","fields":[{"name":"id","type":"int"},
            {"name":"stock","type":"int","default":5}]}"#,
    );
    // The same schema but for documentation: canonical forms are equal.
    let v2_writer = leak(
        r#"{"type":"record","name":"P","fields":[{"name":"id","type":"int"},
            {"name":"stock","type":"int","default":5}]}"#,
    );
    let v1 = leak(r#"{"type":"record","name":"P","fields":[{"name":"id","type":"int"}]}"#);
    let record = |stock| {
        Value::Record(vec![
            ("id".into(), Value::Int(7)),
            ("stock".into(), Value::Int(stock)),
        ])
    };

    let bytes = encode(v2_writer, record(9));
    let reader = resolving_reader(v2_writer, v2).expect("reader");
    assert_eq!(
        reader.read_value(&mut &bytes[..]).expect("reads"),
        record(9)
    );

    let old = encode(v1, Value::Record(vec![("id".into(), Value::Int(7))]));
    let reader = resolving_reader(v1, v2).expect("reader");
    assert_eq!(reader.read_value(&mut &old[..]).expect("reads"), record(5));
}
