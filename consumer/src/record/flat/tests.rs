//! The flat path against the generic one: for schema pairs, steps and many random records,
//! every line the flat path writes is byte for byte the generic path's, with the same
//! `last_updated`; it declines what it cannot take, leaving the line untouched.

use apache_avro::types::Value;
use apache_avro::Schema;
use chrono::{DateTime, Utc};
use sluice_common::settings::{TransformOp, TransformSettings, TransformStepSettings};

use super::{FlatPlan, FlatWriter};
use crate::record::decode::resolving_reader;
use crate::record::decode::tests::encode;
use crate::record::json_line::write_fields;
use crate::record::render::last_updated;
use crate::record::transform::Transform;

fn schema(fields: &str) -> &'static Schema {
    let text = format!(r#"{{"type":"record","name":"product","fields":[{fields}]}}"#);
    Box::leak(Box::new(Schema::parse_str(&text).expect("schema")))
}

const PRODUCT: &str = r#"{"name":"id","type":"int"},{"name":"name","type":"string"},
    {"name":"category","type":["null","string"]},{"name":"price","type":"float"},
    {"name":"last_updated","type":"string"}"#;

/// Every flat kind, nullable both ways, for the wider pairs.
const WIDE: &str = r#"{"name":"id","type":"long"},
    {"name":"name","type":["string","null"]},{"name":"category","type":["null","string"]},
    {"name":"price","type":["null","double"]},{"name":"stock","type":"int"},
    {"name":"active","type":"boolean"},{"name":"blob","type":"bytes"},
    {"name":"day","type":{"type":"int","logicalType":"date"}},
    {"name":"at","type":{"type":"int","logicalType":"time-millis"}},
    {"name":"last_updated","type":{"type":"long","logicalType":"timestamp-micros"}},
    {"name":"gone","type":["null","long"]}"#;

/// `WIDE` read with promotions, a field left out and the fields in another order.
const WIDE_READER: &str = r#"{"name":"last_updated","type":{"type":"long","logicalType":"timestamp-micros"}},
    {"name":"price","type":["null","double"]},{"name":"id","type":["null","long"]},
    {"name":"stock","type":"double"},{"name":"blob","type":"string"},
    {"name":"name","type":["null","string"]},{"name":"category","type":["null","string"]},
    {"name":"active","type":"boolean"},
    {"name":"day","type":{"type":"int","logicalType":"date"}},
    {"name":"at","type":{"type":"int","logicalType":"time-millis"}}"#;

fn step(op: TransformOp, field: &str) -> TransformStepSettings {
    TransformStepSettings::new(op, field)
}

fn percent_off(field: &str, percent: f64, when: Option<(&str, &str)>) -> TransformStepSettings {
    let mut step = step(TransformOp::PercentOff, field);
    step.percent = Some(percent);
    if let Some((field, equals)) = when {
        step.when_field = Some(field.into());
        step.equals = Some(equals.into());
    }
    step
}

fn transform(steps: Vec<TransformStepSettings>) -> Transform {
    Transform::new(&TransformSettings { steps }, "id", "last_updated").expect("valid steps")
}

/// A small deterministic generator (splitmix64), so a failure replays.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn text(&mut self) -> String {
        const PIECES: [&str; 10] = [
            "books", "Toys", "straße", "ﬁsh", "\"q\"", "\n\t", "\u{1}", "€10", "", "x",
        ];
        (0..self.below(4))
            .map(|_| PIECES[self.below(PIECES.len() as u64) as usize])
            .collect()
    }

    fn float(&mut self) -> f32 {
        match self.below(8) {
            0 => f32::from_bits(self.next() as u32),
            1 => 0.0,
            _ => (self.below(100_000) as f32) / 100.0,
        }
    }

    /// A value of `schema` (flat kinds only).
    fn value(&mut self, schema: &Schema) -> Value {
        match schema {
            Schema::Union(union) => {
                let branch = self.below(union.variants().len() as u64) as usize;
                let inner = self.value(&union.variants()[branch]);
                Value::Union(branch as u32, Box::new(inner))
            }
            Schema::Null => Value::Null,
            Schema::Boolean => Value::Boolean(self.below(2) == 1),
            Schema::Int => Value::Int(self.next() as i32 >> self.below(31)),
            Schema::Long => Value::Long(self.next() as i64 >> self.below(63)),
            Schema::Float => Value::Float(self.float()),
            Schema::Double => Value::Double(f64::from(self.float()) * 3.0),
            Schema::String => Value::String(self.text()),
            Schema::Bytes => Value::Bytes(self.text().into_bytes()),
            Schema::Date => Value::Date(self.below(40_000) as i32 - 5_000),
            Schema::TimeMillis => Value::TimeMillis(self.below(86_400_000) as i32),
            Schema::TimestampMicros => {
                Value::TimestampMicros(1_795_510_530_000_000 + self.below(1 << 40) as i64)
            }
            other => panic!("no generator for {other:?}"),
        }
    }

    fn record(&mut self, schema: &Schema) -> Value {
        let Schema::Record(record) = schema else {
            panic!("not a record");
        };
        Value::Record(
            record
                .fields
                .iter()
                .map(|field| {
                    let value = if field.name == "last_updated" && field.schema == Schema::String {
                        let at =
                            DateTime::from_timestamp(1_795_510_530 + self.below(1 << 20) as i64, 0)
                                .expect("instant");
                        Value::String(at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
                    } else if field.name == "category" && self.below(3) == 0 {
                        Value::Union(1, Box::new(Value::String("Books".into())))
                    } else {
                        self.value(&field.schema)
                    };
                    (field.name.clone(), value)
                })
                .collect(),
        )
    }
}

type Line = (Vec<u8>, Option<DateTime<Utc>>);

/// The line as the generic path writes it: decode, transform, write.
fn generic(
    writer: &'static Schema,
    reader: &'static Schema,
    steps: &mut Transform,
    datum: &[u8],
) -> Option<Line> {
    let decoder = resolving_reader(writer, reader).expect("resolves");
    let mut rest = datum;
    let record = decoder.read_value(&mut rest).ok()?;
    if !rest.is_empty() {
        return None;
    }
    let updated = last_updated(&record);
    let transformed = steps.apply(record, reader).ok()?;
    let mut line = Vec::new();
    write_fields(&transformed.fields, transformed.schemas, &mut line).ok()?;
    Some((line, updated))
}

/// Writes `records` random records of `writer` read as `reader` both ways; returns how many
/// the flat path wrote (each the generic path's line).
fn compare(
    writer: &'static Schema,
    reader: &'static Schema,
    steps: Vec<TransformStepSettings>,
    records: usize,
) -> usize {
    let mut steps = transform(steps);
    let plan = FlatPlan::new(writer, reader, steps.plan_for(reader).expect("plan"))
        .expect("the pair is flat");
    let (mut flat, mut random, mut written) = (FlatWriter::default(), Random(7), 0);
    for n in 0..records {
        let datum = encode(writer, random.record(writer));
        let mut line = b"before\n".to_vec();
        match flat.write(&plan, &datum, &mut line) {
            Some(updated) => {
                let expected = generic(writer, reader, &mut steps, &datum);
                assert_eq!(
                    Some((line[7..].to_vec(), updated)),
                    expected,
                    "record {n}: {}",
                    String::from_utf8_lossy(&line)
                );
                written += 1;
            }
            None => assert_eq!(
                line, b"before\n",
                "record {n}: a declined line is untouched"
            ),
        }
    }
    written
}

#[test]
fn the_product_schema_with_the_shipped_steps_writes_the_generic_lines() {
    let product = schema(PRODUCT);
    let steps = vec![
        step(TransformOp::UpperCase, "category"),
        percent_off("price", 10.0, Some(("category", "books"))),
    ];
    assert!(compare(product, product, steps, 5_000) >= 4_900);
    assert_eq!(compare(product, product, Vec::new(), 1_000), 1_000);
}

#[test]
fn renames_drops_and_repeated_steps_write_the_generic_lines() {
    let product = schema(PRODUCT);
    let mut rename = step(TransformOp::Rename, "name");
    rename.to = Some("title".into());
    let steps = vec![
        percent_off("price", 12.5, None),
        rename,
        step(TransformOp::UpperCase, "title"),
        step(TransformOp::Drop, "category"),
        percent_off("price", 3.0, Some(("title", "TOYS"))),
        step(TransformOp::UpperCase, "title"),
    ];
    assert!(compare(product, product, steps, 5_000) >= 4_900);
}

#[test]
fn promoted_reordered_nullable_and_logical_fields_write_the_generic_lines() {
    let (writer, reader) = (schema(WIDE), schema(WIDE_READER));
    let steps = vec![
        step(TransformOp::UpperCase, "name"),
        percent_off("stock", 50.0, Some(("category", "books"))),
        percent_off("price", 20.0, None),
    ];
    assert!(compare(writer, reader, steps, 5_000) >= 4_500);
    assert!(compare(writer, writer, Vec::new(), 2_000) >= 1_900);
}

#[test]
fn pairs_it_cannot_take_are_left_to_the_generic_path() {
    let product = schema(PRODUCT);
    let plan = |writer, reader: &'static Schema, steps| {
        let mut steps = transform(steps);
        FlatPlan::new(writer, reader, steps.plan_for(reader).expect("plan")).is_some()
    };
    let with_default = schema(&format!(
        r#"{PRODUCT},{{"name":"stock","type":"int","default":0}}"#
    ));
    assert!(!plan(product, with_default, Vec::new()), "a default");
    assert!(
        !plan(product, product, vec![step(TransformOp::Mask, "name")]),
        "a mask"
    );
    let decimal = schema(
        r#"{"name":"id","type":"int"},
           {"name":"price","type":{"type":"bytes","logicalType":"decimal","precision":5,"scale":2}}"#,
    );
    assert!(!plan(decimal, decimal, Vec::new()), "a decimal");
    let nullable_id = schema(r#"{"name":"id","type":["null","int"]}"#);
    let plain_id = schema(r#"{"name":"id","type":"int"}"#);
    assert!(
        !plan(nullable_id, plain_id, Vec::new()),
        "a union read as a plain type"
    );
    assert!(plan(plain_id, nullable_id, Vec::new()));
}

#[test]
fn malformed_datums_are_left_to_the_generic_path_untouched() {
    let product = schema(PRODUCT);
    let mut steps = transform(Vec::new());
    let plan =
        FlatPlan::new(product, product, steps.plan_for(product).expect("plan")).expect("flat");
    let datum = encode(
        product,
        Value::Record(vec![
            ("id".into(), Value::Int(1)),
            ("name".into(), Value::String("Lamp".into())),
            ("category".into(), Value::Union(0, Box::new(Value::Null))),
            ("price".into(), Value::Float(1.5)),
            ("last_updated".into(), Value::String("t".into())),
        ]),
    );
    let mut flat = FlatWriter::default();
    let mut bad_text = datum.clone();
    bad_text[2] = 0xff; // the first byte of the name, after the id and its length
    let mut bad_branch = encode(
        schema(r#"{"name":"id","type":"int"}"#),
        Value::Record(vec![("id".into(), Value::Int(1))]),
    );
    bad_branch.extend_from_slice(&[2, b'a', 9]);
    for (what, bytes) in [
        ("truncated", &datum[..datum.len() - 1]),
        ("trailing bytes", &[datum.as_slice(), &[0]].concat()[..]),
        ("invalid UTF-8", &bad_text[..]),
        ("a union branch out of range", &bad_branch[..]),
        ("empty", &[][..]),
    ] {
        let mut line = b"kept".to_vec();
        assert_eq!(flat.write(&plan, bytes, &mut line), None, "{what}");
        assert_eq!(line, b"kept", "{what}");
    }
}
