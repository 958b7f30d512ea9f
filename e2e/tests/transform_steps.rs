//! Transform steps from the configuration, on a table with more than the product's columns: a
//! field dropped, one masked under a key from a file, one renamed and then upper-cased under
//! its new name, a percentage off a float only for one value of the renamed field, and one off
//! a decimal always. The lines hold exactly what docs/configuration.md says (one row checked by
//! hand, the hash by `openssl dgst -sha256 -hmac`), and `sluice-verify`, which takes the steps
//! on the table's rows with code of its own, passes on every row. A step that cannot work on a
//! pinned reader schema fails `check` and stops a member at start, naming the step; the retired
//! `[[transform.discounts]]` is refused with the steps that replace it.

use serde_json::{json, Value};
use sluice_e2e::scenario::Scenario;
use sluice_e2e::wait::CATCH_UP;

const ROWS: i32 = 400;

/// `key_file` is written into the steps where `{key_file}` stands.
const STEPS: &str = r#"
[[transform.steps]]
op = "drop"
field = "name"

[[transform.steps]]
op = "mask"
field = "email"
key_file = "{key_file}"

[[transform.steps]]
op = "rename"
field = "category"
to = "section"

[[transform.steps]]
op = "upper_case"
field = "section"

[[transform.steps]]
op = "percent_off"
field = "price"
percent = 25
when_field = "section"
equals = "Toys"

[[transform.steps]]
op = "percent_off"
field = "cost"
percent = 10
"#;

#[tokio::test(flavor = "multi_thread")]
async fn configured_steps_shape_every_line_as_documented_and_verify_agrees() {
    let mut scenario = Scenario::new("steps", 6).await;
    let table = scenario.names.table.clone();
    sqlx::query(&format!(
        "ALTER TABLE `{table}` ADD COLUMN email VARCHAR(100) NULL, \
         ADD COLUMN cost DECIMAL(10,2) NOT NULL DEFAULT 0"
    ))
    .execute(&scenario.pool)
    .await
    .expect("add the columns");
    scenario.insert_products(1..ROWS + 1, None).await;
    sqlx::query(&format!(
        "UPDATE `{table}` SET email = IF(id % 5 = 0, NULL, CONCAT('buyer', id, '@shop.example')), \
         cost = id * 1.25"
    ))
    .execute(&scenario.pool)
    .await
    .expect("fill the columns");
    let key_file = scenario.dir.path().join("mask.key");
    std::fs::write(&key_file, "k3y\n").expect("the mask key");
    scenario.with_transform_steps(&STEPS.replace("{key_file}", &key_file.display().to_string()));
    scenario.with_setting("producer.schema_from=table");
    scenario.with_setting("consumer.reader_schema_from=latest");
    scenario.start_producer();
    scenario.start_consumers(2);
    scenario
        .wait_then_assert_exactly_once(ROWS as u64, CATCH_UP)
        .await;

    let lines = scenario.latest_lines();
    let line = |id: i32| {
        let mut line = lines
            .get(&id)
            .cloned()
            .unwrap_or_else(|| panic!("row {id} has a line"));
        line["last_updated"] = json!("…");
        line
    };
    // Row 2: category `toys` (25 % off 1.74 = 1.305 → 1.31), cost 2.50 less 10 % = 2.25, and
    // `printf buyer2@shop.example | openssl dgst -sha256 -hmac k3y`.
    assert_eq!(
        line(2),
        json!({
            "id": 2,
            "section": "TOYS",
            "price": 1.31,
            "last_updated": "…",
            "email": "d8558769b54ce652ca2d9983b809e187265dd7921ba3012e3977cc9b687656ae",
            "cost": "2.25",
        })
    );
    // Row 5: `electronics` keeps its price (2.85); a NULL e-mail stays null.
    assert_eq!(
        line(5),
        json!({
            "id": 5,
            "section": "ELECTRONICS",
            "price": 2.85,
            "last_updated": "…",
            "email": null,
            "cost": "5.63",
        })
    );
    let with_old_names: Vec<&Value> = lines
        .values()
        .filter(|line| line.get("name").is_some() || line.get("category").is_some())
        .collect();
    assert!(
        with_old_names.is_empty(),
        "dropped or renamed fields: {with_old_names:?}"
    );
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_step_that_cannot_work_is_refused_at_start_by_its_index() {
    let mut scenario = Scenario::new("steps-refused", 6).await;
    scenario.with_transform_steps(
        "[[transform.steps]]\nop = \"upper_case\"\nfield = \"category\"\n\n\
         [[transform.steps]]\nop = \"percent_off\"\nfield = \"categry\"\npercent = 5\n",
    );
    let output = scenario.output_of("sluice-consumer", &["check"], &[]);
    let lines = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(1), "{lines}");
    let step_line = lines
        .lines()
        .find(|line| line.contains("transform steps"))
        .unwrap_or_else(|| panic!("no transform steps line:\n{lines}"));
    assert!(
        step_line.contains("FAILED")
            && step_line.contains("transform.steps[1] (percent_off of `categry`)")
            && step_line.contains("it has id, name, category, price, last_updated"),
        "{step_line}"
    );
    let code = scenario.run_to_end("sluice-consumer", &["--member", "1"], "refused.log");
    assert_ne!(code, Some(0), "the member must not start");
    assert_ne!(code, None, "the member stops by itself");
    assert!(
        scenario
            .log("refused.log")
            .contains("transform.steps[1] (percent_off of `categry`)"),
        "{}",
        scenario.log("refused.log")
    );

    // The retired discounts: refused before anything, with the steps that replace them.
    scenario.with_transform_steps("[[transform.discounts]]\ncategory = \"toys\"\npercent = 5\n");
    let output = scenario.output_of("sluice-consumer", &["check"], &[]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            r#"{ op = "percent_off", field = "price", percent = 5.0, when_field = "category", equals = "toys" }"#
        ),
        "{stderr}"
    );
}
