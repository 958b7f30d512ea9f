use serde_json::json;
use sluice_common::settings::{TransformOp, TransformSettings, TransformStepSettings};

use super::*;

fn row(category: &str, price: f64) -> Map<String, Value> {
    match json!({"id": 1, "name": "Lamp", "category": category, "price": price}) {
        Value::Object(map) => map,
        _ => unreachable!("an object"),
    }
}

fn step(op: TransformOp, field: &str) -> TransformStepSettings {
    TransformStepSettings::new(op, field)
}

fn discounts(discounts: &[(&str, f64)]) -> Expectation {
    let mut steps = vec![step(TransformOp::UpperCase, "category")];
    for (category, percent) in discounts {
        let mut off = step(TransformOp::PercentOff, "price");
        off.percent = Some(*percent);
        off.when_field = Some("category".into());
        off.equals = Some((*category).into());
        steps.push(off);
    }
    Expectation::new(&TransformSettings { steps }, "id", "last_updated").expect("valid")
}

#[test]
fn category_upper_cased_and_discount_rounded_half_away_to_cents() {
    let expect = discounts(&[("books", 10.0), ("toys", 12.5)]);
    let line = expect.line_of(&row("Books", 19.99));
    assert_eq!(line["category"], "BOOKS");
    assert_eq!(line["price"], json!(17.99));
    // 299.5 × 0.9 = 269.55 exactly; 0.05 × 0.875 = 0.04375 → 0.04.
    assert_eq!(expect.line_of(&row("books", 299.5))["price"], json!(269.55));
    assert_eq!(expect.line_of(&row("toys", 0.05))["price"], json!(0.04));
    // 0.1 × 0.875 = 0.0875 → 0.09, half away from zero.
    assert_eq!(expect.line_of(&row("TOYS", 0.1))["price"], json!(0.09));
    assert_eq!(expect.line_of(&row("toys", -0.1))["price"], json!(-0.09));
    // Prices of more than two decimals round as a whole: 19.999 × 0.9 = 17.9991 → 18.
    assert_eq!(expect.line_of(&row("books", 19.999))["price"], json!(18.0));
}

#[test]
fn other_categories_keep_their_price() {
    let expect = discounts(&[("books", 10.0)]);
    let line = expect.line_of(&row("garden", 19.99));
    assert_eq!(line["category"], "GARDEN");
    assert_eq!(line["price"], json!(19.99));
}

#[test]
fn the_product_example_is_the_shipped_lines() {
    let expect = Expectation::new(&TransformSettings::product_example(), "id", "last_updated")
        .expect("valid");
    assert_eq!(
        expect.line_of(&row("Electronics", 19.99))["price"],
        json!(17.99)
    );
    assert_eq!(expect.line_of(&row("toys", 19.99))["category"], "TOYS");
}

#[test]
fn renames_drops_and_masks_say_what_the_line_holds_and_lacks() {
    let mut rename = step(TransformOp::Rename, "category");
    rename.to = Some("section".into());
    let settings = TransformSettings {
        steps: vec![
            rename,
            step(TransformOp::Drop, "price"),
            step(TransformOp::Mask, "name"),
        ],
    };
    let expect = Expectation::new(&settings, "id", "last_updated").expect("valid");
    let line = expect.line_of(&row("toys", 1.0));
    assert_eq!(line.get("section"), Some(&json!("toys")));
    assert_eq!(line.get("category"), None);
    assert_eq!(line.get("price"), None);
    // SHA-256 of "Lamp", as `sha256sum` gives it.
    assert_eq!(
        line["name"],
        "bc294628171a12e7bc7ad6ca19d8e7956f9106628eb927e52fe92a6c31742e31"
    );
    assert_eq!(expect.absent(), ["category", "price"]);
}

#[test]
fn a_keyed_mask_differs_from_the_plain_hash() {
    // RFC 4231's test case 2.
    assert_eq!(
        hash(Some(b"Jefe"), b"what do ya want for nothing?"),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    assert_eq!(
        hash(None, b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn numbers_compare_as_numbers() {
    assert!(same_value(&json!(18), &json!(18.0)));
    assert!(same_value(&json!(7), &json!(7)));
    assert!(!same_value(&json!(17.99), &json!(17.98)));
    assert!(!same_value(&json!("7"), &json!(7)));
}
