//! A table unlike `product`, with a column of nearly every type the type map covers, runs
//! through its own topic and group with the schema built from its columns
//! (`producer.schema_from = "table"`) and members that read into the subject's latest version
//! (`consumer.reader_schema_from = "latest"`): the registered schema has the types the map
//! promises, one row's line is exactly what the documentation says it is, and `sluice-verify`
//! passes on every row.

use serde_json::{json, Value};
use sluice_e2e::scenario::Scenario;
use sluice_e2e::wait::CATCH_UP;
use sluice_registry::RegistryClient;

const TABLE: &str = "
    id INT NOT NULL PRIMARY KEY,
    code BIGINT UNSIGNED NOT NULL,
    amount DECIMAL(12,3) NOT NULL DEFAULT 0.000,
    ratio DOUBLE NULL,
    happened DATETIME(3) NOT NULL,
    seen TIMESTAMP NULL,
    doc JSON NULL,
    size ENUM('s', 'm', 'l xl') NOT NULL DEFAULT 's',
    tags SET('red', 'green', 'blue') NOT NULL DEFAULT '',
    flags BIT(10) NOT NULL DEFAULT b'0',
    active BIT(1) NOT NULL DEFAULT b'1',
    payload BLOB NULL,
    day DATE NULL,
    span TIME(6) NULL,
    tiny TINYINT UNSIGNED NOT NULL DEFAULT 0,
    note VARCHAR(50) NULL,
    doubled DECIMAL(14,3) AS (amount * 2) VIRTUAL,
    last_updated TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
        ON UPDATE CURRENT_TIMESTAMP(6),
    KEY by_change (last_updated, id)";

/// Rows 1 … `ROWS`, every column varied by the id, every nullable one NULL for some.
const ROWS: i32 = 600;

async fn fill(scenario: &Scenario) {
    let table = &scenario.names.table;
    sqlx::query(&format!(
        "INSERT INTO `{table}` (id, code, amount, ratio, happened, seen, doc, size, tags, flags,
                                active, payload, day, span, tiny, note)
         SELECT seq,
                IF(seq = 1, 18446744073709551615, seq * 1000003),
                IF(seq % 2 = 0, -1, 1) * CAST(seq AS SIGNED) * 1.125,
                IF(seq % 5 = 0, NULL, seq / 7),
                TIMESTAMP('2026-03-01 10:00:00.123') + INTERVAL seq MINUTE,
                IF(seq % 3 = 0, NULL, FROM_UNIXTIME(1790000000 + seq)),
                IF(seq % 4 = 0, NULL, JSON_OBJECT('n', seq, 'name', CONCAT('ü', seq))),
                ELT(1 + seq % 3, 's', 'm', 'l xl'),
                ELT(1 + seq % 4, '', 'red', 'green,blue', 'red,green,blue'),
                seq % 1024,
                seq % 2,
                IF(seq % 6 = 0, NULL, UNHEX(REPEAT(LPAD(HEX(seq % 256), 2, '0'), 1 + seq % 90))),
                IF(seq % 7 = 0, NULL, DATE('1969-12-25') + INTERVAL seq DAY),
                IF(seq % 8 = 0, NULL, SEC_TO_TIME(CAST(seq AS SIGNED) * 997 - 300000) + INTERVAL 250 MICROSECOND),
                seq % 256,
                IF(seq % 9 = 0, NULL, CONCAT('note ', seq, ' \"quoted\"'))
         FROM seq_1_to_{ROWS}"
    ))
    .execute(&scenario.pool)
    .await
    .expect("fill the table");
}

/// The registered schema's field `name`.
fn field<'a>(schema: &'a Value, name: &str) -> &'a Value {
    schema["fields"]
        .as_array()
        .and_then(|fields| fields.iter().find(|f| f["name"] == name))
        .unwrap_or_else(|| panic!("no field {name} in {schema}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_table_of_every_type_flows_with_the_schema_built_from_its_columns() {
    let mut scenario = Scenario::new("derived", 6).await;
    let table = scenario.names.table.clone();
    for statement in [
        format!("DROP TABLE `{table}`"),
        format!("CREATE TABLE `{table}` ({TABLE})"),
    ] {
        sqlx::query(&statement)
            .execute(&scenario.pool)
            .await
            .expect("the table unlike product");
    }
    fill(&scenario).await;
    scenario.with_setting("producer.schema_from=table");
    scenario.with_setting("consumer.reader_schema_from=latest");
    scenario.start_producer();
    scenario.start_consumers(2);
    scenario
        .wait_then_assert_exactly_once(ROWS as u64, CATCH_UP)
        .await;

    let registry = RegistryClient::new(&scenario.settings.registry).expect("client");
    let latest = registry
        .version(&format!("{}-value", scenario.names.topic), None)
        .await
        .expect("the schema is registered");
    let schema: Value = serde_json::from_str(&latest.schema).expect("JSON");
    assert_eq!(schema["name"], json!(table));
    assert_eq!(
        field(&schema, "code")["type"],
        json!({"type": "bytes", "logicalType": "decimal", "precision": 20, "scale": 0})
    );
    assert_eq!(
        field(&schema, "amount")["type"],
        json!({"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 3})
    );
    assert_eq!(field(&schema, "amount")["default"], json!("\u{0}"));
    assert_eq!(
        field(&schema, "happened")["type"],
        json!({"type": "long", "logicalType": "local-timestamp-millis"})
    );
    assert_eq!(
        field(&schema, "seen")["type"],
        json!(["null", {"type": "long", "logicalType": "timestamp-millis"}])
    );
    assert_eq!(field(&schema, "seen")["default"], Value::Null);
    assert_eq!(field(&schema, "size")["default"], json!("s"));
    assert_eq!(field(&schema, "tags")["default"], json!([]));
    assert_eq!(field(&schema, "active")["type"], json!("boolean"));
    assert_eq!(field(&schema, "active")["default"], json!(true));
    assert_eq!(field(&schema, "flags")["type"], json!("bytes"));
    assert_eq!(field(&schema, "tiny")["type"], json!("int"));

    // Row 2 as the documentation says a line shows it: 2 × 1.125 negated (even), 2 ÷ 7 as
    // MariaDB divides (nine digits), 1 790 000 002 s after the epoch, three bytes of 0x02,
    // 2 × 997 − 300 000 s plus 250 µs.
    let lines = scenario.latest_lines();
    let line = lines.get(&2).expect("row 2 has a line");
    assert_eq!(
        line,
        &json!({
            "id": 2,
            "code": "2000006",
            "amount": "-2.250",
            "ratio": 0.285714285,
            "happened": "2026-03-01T10:02:00.123",
            "seen": "2026-09-21T14:13:22.000Z",
            "doc": "{\"n\": 2, \"name\": \"ü2\"}",
            "size": "l xl",
            "tags": ["green", "blue"],
            "flags": "AAI=",
            "active": false,
            "payload": "AgIC",
            "day": "1969-12-27",
            "span": "-82:46:45.999750",
            "tiny": 2,
            "note": "note 2 \"quoted\"",
            "doubled": "-4.500",
            "last_updated": line["last_updated"],
        }),
        "row 2's line"
    );
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
}
