use apache_avro::types::Value;
use apache_avro::Schema;
use sluice_common::settings::{TransformOp, TransformSettings, TransformStepSettings};

use super::*;
use crate::record::json_line::write_fields;

fn step(op: TransformOp, field: &str) -> TransformStepSettings {
    TransformStepSettings::new(op, field)
}

fn transform(steps: Vec<TransformStepSettings>) -> Transform {
    Transform::new(&TransformSettings { steps }, "id", "last_updated").expect("valid steps")
}

fn schema(fields: &str) -> &'static Schema {
    let text = format!(r#"{{"type":"record","name":"product","fields":[{fields}]}}"#);
    Box::leak(Box::new(Schema::parse_str(&text).expect("schema")))
}

fn product() -> &'static Schema {
    schema(
        r#"{"name":"id","type":"int"},{"name":"name","type":"string"},
           {"name":"category","type":["null","string"]},{"name":"price","type":"float"},
           {"name":"last_updated","type":"string"}"#,
    )
}

fn record(category: &str, price: f32) -> Value {
    Value::Record(vec![
        ("id".into(), Value::Int(1)),
        ("name".into(), Value::String("Lamp".into())),
        (
            "category".into(),
            Value::Union(1, Box::new(Value::String(category.into()))),
        ),
        ("price".into(), Value::Float(price)),
        ("last_updated".into(), Value::String("t".into())),
    ])
}

fn line(transform: &mut Transform, record: Value, reader: &'static Schema) -> String {
    let transformed = transform.apply(record, reader).expect("applies");
    let mut line = Vec::new();
    write_fields(&transformed.fields, transformed.schemas, &mut line).expect("writes");
    String::from_utf8(line).expect("utf8")
}

#[test]
fn the_product_example_upper_cases_and_discounts_electronics_only() {
    let mut shipped =
        Transform::new(&TransformSettings::product_example(), "id", "last_updated").expect("ok");
    assert_eq!(
        line(&mut shipped, record("electronics", 19.99), product()),
        "{\"id\":1,\"name\":\"Lamp\",\"category\":\"ELECTRONICS\",\"price\":17.99,\"last_updated\":\"t\"}\n"
    );
    assert_eq!(
        line(&mut shipped, record("Toys", 19.99), product()),
        "{\"id\":1,\"name\":\"Lamp\",\"category\":\"TOYS\",\"price\":19.99,\"last_updated\":\"t\"}\n"
    );
}

#[test]
fn no_steps_write_the_record_as_read() {
    assert_eq!(
        line(&mut Transform::default(), record("toys", 5.0), product()),
        "{\"id\":1,\"name\":\"Lamp\",\"category\":\"toys\",\"price\":5.0,\"last_updated\":\"t\"}\n"
    );
}

#[test]
fn renames_and_drops_reshape_the_line_and_later_steps_use_new_names() {
    let mut rename = step(TransformOp::Rename, "category");
    rename.to = Some("section".into());
    let mut off = step(TransformOp::PercentOff, "price");
    off.percent = Some(50.0);
    off.when_field = Some("section".into());
    off.equals = Some("TOYS".into());
    let mut steps = transform(vec![
        rename,
        step(TransformOp::Drop, "name"),
        step(TransformOp::UpperCase, "section"),
        off,
    ]);
    assert_eq!(
        line(&mut steps, record("toys", 10.0), product()),
        "{\"id\":1,\"section\":\"TOYS\",\"price\":5.0,\"last_updated\":\"t\"}\n"
    );
}

#[test]
fn a_masked_field_holds_the_hash_of_its_text() {
    let mut steps = transform(vec![step(TransformOp::Mask, "name")]);
    let written = line(&mut steps, record("toys", 1.0), product());
    let parsed: serde_json::Value = serde_json::from_str(&written).expect("json");
    assert_eq!(
        parsed["name"],
        field_ops::Masker::new(None).hash(b"Lamp"),
        "{written}"
    );
}

#[test]
fn a_decimal_is_discounted_at_its_scale_and_written_with_it() {
    let reader = schema(
        r#"{"name":"id","type":"int"},
           {"name":"cost","type":["null",{"type":"bytes","logicalType":"decimal","precision":9,"scale":3}]}"#,
    );
    let mut off = step(TransformOp::PercentOff, "cost");
    off.percent = Some(10.0);
    let mut rename = step(TransformOp::Rename, "cost");
    rename.to = Some("net".into());
    let mut steps = transform(vec![off, rename]);
    // 12.345 × 0.9 = 11.1105 → 11.111
    let record = Value::Record(vec![
        ("id".into(), Value::Int(1)),
        (
            "cost".into(),
            Value::Union(1, Box::new(Value::Decimal(vec![0x30, 0x39].into()))),
        ),
    ]);
    assert_eq!(
        line(&mut steps, record, reader),
        "{\"id\":1,\"net\":\"11.111\"}\n"
    );
}

#[test]
fn a_pinned_schema_refuses_a_step_on_a_missing_or_mistyped_field_by_its_index() {
    let steps = transform(vec![
        step(TransformOp::UpperCase, "category"),
        step(TransformOp::UpperCase, "categry"),
    ]);
    let error = steps
        .check(product())
        .expect_err("no such field")
        .to_string();
    assert_eq!(
        error,
        "transform.steps[1] (upper_case of `categry`): the reader schema has no field `categry` \
         at this step (it has id, name, category, price, last_updated)"
    );
    let steps = transform(vec![step(TransformOp::UpperCase, "price")]);
    let error = steps.check(product()).expect_err("not text").to_string();
    assert!(error.contains("`price` is not text"), "{error}");
    let mut off = step(TransformOp::PercentOff, "name");
    off.percent = Some(5.0);
    let error = transform(vec![off])
        .check(product())
        .expect_err("not a number");
    assert!(
        error.to_string().contains("`name` is not a number"),
        "{error}"
    );
    let mut rename = step(TransformOp::Rename, "name");
    rename.to = Some("price".into());
    let error = transform(vec![rename]).check(product()).expect_err("taken");
    assert!(
        error
            .to_string()
            .contains("a field `price` is there already"),
        "{error}"
    );
    let dropped_then_used = transform(vec![
        step(TransformOp::Drop, "name"),
        step(TransformOp::Mask, "name"),
    ]);
    assert!(dropped_then_used.check(product()).is_err());
}

#[test]
fn a_followed_schema_without_the_field_skips_the_step() {
    let mut steps = transform(vec![
        step(TransformOp::UpperCase, "category"),
        step(TransformOp::Drop, "colour"),
    ]);
    let skipped = steps.skipped_on(product()).expect("fits otherwise");
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert!(
        skipped[0].starts_with(
            "transform.steps[1] (drop of `colour`): the reader schema has no field `colour`"
        ),
        "{skipped:?}"
    );
    assert_eq!(
        line(&mut steps, record("toys", 2.5), product()),
        "{\"id\":1,\"name\":\"Lamp\",\"category\":\"TOYS\",\"price\":2.5,\"last_updated\":\"t\"}\n"
    );
}

#[test]
fn a_value_that_cannot_take_its_step_is_an_error_naming_the_step() {
    let mut off = step(TransformOp::PercentOff, "price");
    off.percent = Some(10.0);
    let mut steps = transform(vec![off]);
    let error = steps
        .apply(record("x", f32::NAN), product())
        .expect_err("not a price")
        .to_string();
    assert_eq!(
        error,
        "transform.steps[0] on `price`: price NaN is not a finite number"
    );
}
