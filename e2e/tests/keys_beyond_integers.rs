//! Tables keyed by a string under a case-insensitive, PAD SPACE collation, by a binary UUID and by
//! unsigned integers (`BIGINT UNSIGNED`, `INT UNSIGNED`) run through the pipeline with the schema built from their columns: rows
//! are updated, deleted outright (found by the sweep every second) and inserted again. The
//! collation takes `apple`, `APPLE` and `apple ` for one key and orders keys unlike their bytes;
//! a key changed only in case or trailing spaces is a new key on the topic and in the files, so
//! its old key gets exactly one delete. `sluice-verify` passes, and the topic holds a tombstone
//! for exactly the keys deleted: no spurious delete.

use std::collections::BTreeSet;
use std::time::Duration;

use rdkafka::message::Message as _;
use sluice_common::kafka::topic_reader::read_to_end;
use sluice_e2e::scenario::{tail, Scenario};
use sluice_e2e::wait::{self, CATCH_UP};

/// A scenario whose table is made by `create` (`{table}` filled in), with the schema built from
/// its columns, its key column `key`, the sweep every second.
async fn scenario(tag: &str, key: &str, create: &str) -> Scenario {
    let mut scenario = Scenario::new(tag, 6).await;
    let table = scenario.names.table.clone();
    for statement in [
        format!("DROP TABLE `{table}`"),
        create.replace("{table}", &table),
    ] {
        sqlx::query(&statement)
            .execute(&scenario.pool)
            .await
            .expect("the table");
    }
    scenario.with_setting("producer.schema_from=table");
    scenario.with_setting("consumer.reader_schema_from=latest");
    scenario.with_setting(&format!("producer.key_column={key}"));
    scenario.with_setting("producer.delete_sweep_interval_secs=1");
    scenario.settings = scenario.settings_now();
    scenario
}

/// The table of the story, keyed by the column `definition` (name and type): the columns of
/// `product` besides, and the keyset index.
fn keyed_by(definition: &str) -> String {
    let key = definition.split(' ').next().unwrap_or_default();
    format!(
        "CREATE TABLE `{{table}}` (
            {definition} NOT NULL PRIMARY KEY,
            name VARCHAR(50) NOT NULL,
            category VARCHAR(30) NOT NULL,
            price FLOAT NOT NULL,
            last_updated TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
                ON UPDATE CURRENT_TIMESTAMP(6),
            KEY by_change (last_updated, {key})
        ) DEFAULT CHARSET utf8mb4"
    )
}

async fn run(scenario: &Scenario, statements: &[String]) {
    for statement in statements {
        sqlx::query(statement)
            .execute(&scenario.pool)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
}

/// Several statements in one transaction: the table never shows a state between them.
async fn atomically(scenario: &Scenario, statements: &[String]) {
    let mut transaction = scenario.pool.begin().await.expect("begin");
    for statement in statements {
        sqlx::query(statement)
            .execute(&mut *transaction)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    transaction.commit().await.expect("commit");
}

/// The record keys of the topic's tombstones.
fn tombstones(scenario: &Scenario) -> BTreeSet<Vec<u8>> {
    let mut keys = BTreeSet::new();
    read_to_end(
        &scenario.settings.kafka,
        &scenario.names.topic,
        Duration::from_secs(30),
        |message| {
            if message.payload().is_none() {
                keys.insert(message.key().unwrap_or_default().to_vec());
            }
        },
    )
    .expect("the records topic read");
    keys
}

/// Waits until `sluice-verify` passes with `deleted` products deleted and at least `lines`
/// lines, then checks the topic's tombstones are exactly `expected` and stops cleanly.
async fn assert_deletes_exactly(
    scenario: &mut Scenario,
    deleted: u64,
    lines: u64,
    expected: &BTreeSet<Vec<u8>>,
) {
    let report = wait::until(
        &format!("sluice-verify to pass with {deleted} products deleted"),
        CATCH_UP,
        || {
            let (code, report) = scenario.verify();
            (code == 0 && report["deleted"]["count"].as_u64() == Some(deleted)).then_some(report)
        },
        || {
            format!(
                "{:#}\nproducer log:\n{}\n{}",
                scenario.verify().1,
                tail(&scenario.log("producer.log"), 15),
                tail(&scenario.log("consumer-1.log"), 5)
            )
        },
    )
    .await;
    assert!(
        report["versions"].as_u64() >= Some(lines),
        "enough lines flowed: {report:#}"
    );
    // A sweep or two more: a spurious delete would have shown by then.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let found = tombstones(scenario);
    let shown = |keys: &BTreeSet<Vec<u8>>| -> Vec<String> {
        keys.iter()
            .map(|k| format!("{:?}", String::from_utf8_lossy(k)))
            .collect()
    };
    assert_eq!(
        found,
        *expected,
        "tombstones {:?}, expected {:?}",
        shown(&found),
        shown(expected)
    );
    scenario.assert_exactly_once(lines);
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn string_keys_under_a_case_insensitive_pad_space_collation() {
    let mut scenario = scenario(
        "text_keys",
        "code",
        &keyed_by("code VARCHAR(40) COLLATE utf8mb4_unicode_ci"),
    )
    .await;
    let table = scenario.names.table.clone();
    // 3 000 keys in three cases, so the collation's order (which ignores case) and the bytes'
    // (capitals first) disagree all along; and keys the story changes.
    run(
        &scenario,
        &[
            format!(
                "INSERT INTO `{table}` (code, name, category, price)
                 SELECT ELT(1 + seq % 3, CONCAT('sku-', seq), CONCAT('SKU-', seq), CONCAT('Sku-', seq)),
                        CONCAT('product ', seq), ELT(1 + seq % 2, 'books', 'electronics'), seq / 4
                 FROM seq_1_to_3000"
            ),
            format!(
                "INSERT INTO `{table}` (code, name, category, price) VALUES
                 ('apple', 'a', 'fruit', 1), ('banana', 'b', 'fruit', 2), ('cherry', 'c', 'fruit', 3),
                 ('Éclair', 'e', 'cake', 4), ('', 'empty', 'odd', 5), (' lead', 'l', 'odd', 6)"
            ),
        ],
    )
    .await;
    scenario.start_consumers(2);
    scenario.start_producer();
    scenario.wait_then_assert_exactly_once(3006, CATCH_UP).await;

    // Updates; 270 rows deleted outright; `apple` replaced by `APPLE` and `cherry` deleted and
    // inserted again, each in one transaction (no sweep sees the table without the row);
    // `banana`'s key given a trailing space; `Éclair` deleted, then inserted again after a
    // sweep has published its delete.
    run(
        &scenario,
        &[
            format!("UPDATE `{table}` SET price = price + 1 WHERE name LIKE 'product %5'"),
            format!("DELETE FROM `{table}` WHERE name LIKE 'product %7' AND name NOT LIKE 'product %77'"),
            format!("UPDATE `{table}` SET code = 'banana ' WHERE code = 'banana'"),
            format!("DELETE FROM `{table}` WHERE code = 'Éclair'"),
        ],
    )
    .await;
    atomically(
        &scenario,
        &[
            format!("DELETE FROM `{table}` WHERE code = 'apple'"),
            format!("INSERT INTO `{table}` (code, name, category, price) VALUES ('APPLE', 'A', 'fruit', 9)"),
        ],
    )
    .await;
    atomically(
        &scenario,
        &[
            format!("DELETE FROM `{table}` WHERE code = 'cherry'"),
            format!("INSERT INTO `{table}` (code, name, category, price) VALUES ('cherry', 'c2', 'fruit', 8)"),
        ],
    )
    .await;
    let deleted: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(n AS CHAR) FROM (SELECT seq AS n FROM seq_1_to_3000) s
         WHERE CONCAT('product ', n) LIKE 'product %7' AND CONCAT('product ', n) NOT LIKE 'product %77'"
    )
    .fetch_all(&scenario.pool)
    .await
    .expect("the numbers deleted");
    let mut expected: BTreeSet<Vec<u8>> = deleted
        .iter()
        .map(|n| {
            let n: u32 = n.parse().expect("a number");
            let prefix = ["sku-", "SKU-", "Sku-"][(n % 3) as usize];
            format!("{prefix}{n}").into_bytes()
        })
        .collect();
    expected.extend([
        b"apple".to_vec(),
        b"banana".to_vec(),
        "Éclair".as_bytes().to_vec(),
    ]);
    // `Éclair` comes back once its delete is out.
    wait::until(
        "the delete of Éclair",
        CATCH_UP,
        || {
            tombstones(&scenario)
                .contains("Éclair".as_bytes())
                .then_some(())
        },
        || tail(&scenario.log("producer.log"), 10),
    )
    .await;
    run(
        &scenario,
        &[format!(
            "INSERT INTO `{table}` (code, name, category, price) VALUES ('ÉCLAIR', 'E', 'cake', 7)"
        )],
    )
    .await;
    // Deleted in the end: the 270 rows, `apple`, `banana`, `Éclair` (now `ÉCLAIR`).
    let count = expected.len() as u64;
    assert_deletes_exactly(&mut scenario, count, 3006 + 300, &expected).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn binary_uuid_keys() {
    let mut scenario = scenario("binary_keys", "id", &keyed_by("id BINARY(16)")).await;
    let table = scenario.names.table.clone();
    // Keys: an MD5 of the row's number (16 bytes, any byte, 0x00 and 0xff among them), and
    // the smallest and largest 16 bytes.
    run(
        &scenario,
        &[
            format!(
                "INSERT INTO `{table}` (id, name, category, price)
                 SELECT UNHEX(MD5(seq)), CONCAT('product ', seq), 'books', seq FROM seq_1_to_2000"
            ),
            format!(
                "INSERT INTO `{table}` (id, name, category, price) VALUES
                 (UNHEX(REPEAT('00', 16)), 'zero', 'odd', 0), (UNHEX(REPEAT('ff', 16)), 'ones', 'odd', 1)"
            ),
        ],
    )
    .await;
    scenario.start_consumers(2);
    scenario.start_producer();
    scenario.wait_then_assert_exactly_once(2002, CATCH_UP).await;
    run(
        &scenario,
        &[
            format!("UPDATE `{table}` SET price = price * 2 WHERE name LIKE '%3'"),
            format!("DELETE FROM `{table}` WHERE name LIKE '%9' OR name = 'zero'"),
        ],
    )
    .await;
    atomically(
        &scenario,
        &[
            format!("DELETE FROM `{table}` WHERE id = UNHEX(REPEAT('ff', 16))"),
            format!(
                "INSERT INTO `{table}` (id, name, category, price) VALUES (UNHEX(REPEAT('ff', 16)), 'ones again', 'odd', 2)"
            ),
        ],
    )
    .await;
    let expected: BTreeSet<Vec<u8>> = sqlx::query_scalar::<_, Vec<u8>>(
        "SELECT UNHEX(MD5(seq)) FROM seq_1_to_2000 WHERE CONCAT('product ', seq) LIKE '%9'
         UNION ALL SELECT UNHEX(REPEAT('00', 16))",
    )
    .fetch_all(&scenario.pool)
    .await
    .expect("the keys deleted")
    .into_iter()
    .collect();
    let count = expected.len() as u64;
    assert_deletes_exactly(&mut scenario, count, 2002 + 200, &expected).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unsigned_keys_up_to_the_largest() {
    // Half the keys above 2⁶³, where a signed key would turn negative, up to 2⁶⁴ − 1.
    unsigned_keys("unsigned_keys", "BIGINT UNSIGNED", "18446744073709551615").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn narrower_unsigned_keys_up_to_their_largest() {
    unsigned_keys("int_unsigned_keys", "INT UNSIGNED", "4294967295").await;
}

/// A table keyed by `column_type`, half its keys counted down from `largest`: 2 000 rows, the
/// largest key and the rows of names ending in 1 deleted.
async fn unsigned_keys(tag: &str, column_type: &str, largest: &str) {
    let definition = format!("id {column_type}");
    let mut scenario = scenario(tag, "id", &keyed_by(&definition)).await;
    let table = scenario.names.table.clone();
    let key = format!("IF(seq % 2 = 0, seq, {largest} - seq + 1)");
    run(
        &scenario,
        &[format!(
            "INSERT INTO `{table}` (id, name, category, price)
             SELECT {key}, CONCAT('product ', seq), 'books', seq FROM seq_1_to_2000"
        )],
    )
    .await;
    scenario.start_consumers(2);
    scenario.start_producer();
    scenario.wait_then_assert_exactly_once(2000, CATCH_UP).await;
    run(
        &scenario,
        &[format!(
            "DELETE FROM `{table}` WHERE name LIKE '%1' OR id = {largest}"
        )],
    )
    .await;
    let expected: BTreeSet<Vec<u8>> = sqlx::query_scalar::<_, String>(&format!(
        "SELECT CAST({key} AS CHAR) FROM seq_1_to_2000 WHERE CONCAT('product ', seq) LIKE '%1'"
    ))
    .fetch_all(&scenario.pool)
    .await
    .expect("the keys deleted")
    .into_iter()
    .map(String::into_bytes)
    .collect();
    let count = expected.len() as u64;
    assert_deletes_exactly(&mut scenario, count, 2000, &expected).await;
}
