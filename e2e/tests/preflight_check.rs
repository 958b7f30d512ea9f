//! `check` as a preflight: beside a producer and a group running on the same pipeline, it finds
//! each thing `run` would refuse (a wrong password, a missing grant, a missing column for a
//! schema field, no keyset index, an incompatible schema, the topic's partitions against the
//! settings, an output folder not writable, a member's lock held), exits 1 naming the fix, in
//! lines and in JSON, and exits 0 on the pipeline as it runs; settings that do not load exit 2.
//! The pipeline goes on undisturbed: no process stopped, none fenced, every row once.

use std::time::Duration;

use serde_json::Value;
use sluice_e2e::check_report::check_status;
use sluice_e2e::scenario::Scenario;
use sluice_e2e::wait::CATCH_UP;

const PRODUCTS: i32 = 300;

/// Runs `binary check --json` with `extra` arguments and `env`; its exit code and report.
fn check(scenario: &Scenario, binary: &str, extra: &[&str], env: &[(&str, &str)]) -> (i32, Value) {
    // After the subcommand, beside the scenario's own --set before it.
    let mut args = vec!["check", "--json"];
    args.extend_from_slice(extra);
    let output = scenario.output_of(binary, &args, env);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let report = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{binary} {args:?} printed no JSON report ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap_or(-1), report)
}

/// Asserts `check` exits 1 with `area`/`name` failed and a fix given.
fn assert_finds(report: (i32, Value), area: &str, name: &str) {
    let (code, report) = report;
    let (status, line) = check_status(&report, area, name);
    assert_eq!(status, "failed", "{area}/{name}: {line}");
    assert!(line.contains("\"fix\""), "a fix is given: {line}");
    assert_eq!(code, 1, "exit 1 when something would fail: {report:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn check_finds_what_run_would_refuse_beside_a_running_pipeline_and_disturbs_it_not() {
    let mut scenario = Scenario::new("preflight", 6).await;
    scenario.insert_products(1..PRODUCTS + 1, None).await;
    scenario.start_producer();
    scenario.start_consumers(2);
    scenario.wait_caught_up(CATCH_UP).await;

    // The running pipeline's own settings pass (member 3 is not running).
    let (code, report) = check(&scenario, "sluice-producer", &[], &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(check_status(&report, "mysql", "keyset index").0, "ok");
    assert_eq!(check_status(&report, "registry", "schema").0, "ok");
    let (code, report) = check(&scenario, "sluice-consumer", &["--member", "3"], &[]);
    assert_eq!(code, 0, "{report:#}");

    // What run would refuse.
    assert_finds(
        check(
            &scenario,
            "sluice-producer",
            &[],
            &[("SLUICE__MYSQL__PASSWORD", "wrong")],
        ),
        "mysql",
        "login",
    );
    let bare = [
        ("SLUICE__MYSQL__USER", "sluice_bare"),
        ("SLUICE__MYSQL__PASSWORD", "sluice_bare"),
    ];
    let (code, report) = check(&scenario, "sluice-producer", &[], &bare);
    assert!(
        check_status(&report, "mysql", "login")
            .1
            .contains("GRANT SELECT ON"),
        "{report:#}"
    );
    assert_finds((code, report), "mysql", "login");

    let folder = scenario.names.dir.clone();
    let with_stock = folder.join("with-stock.avsc");
    std::fs::write(
        &with_stock,
        r#"{"type": "record", "name": "Product", "fields": [
            {"name": "id", "type": "int"}, {"name": "name", "type": "string"},
            {"name": "category", "type": "string"}, {"name": "price", "type": "float"},
            {"name": "last_updated", "type": "string"}, {"name": "stock", "type": "int"}]}"#,
    )
    .expect("write a schema");
    let set_schema = format!("producer.schema_file={}", with_stock.display());
    let report = check(&scenario, "sluice-producer", &["--set", &set_schema], &[]);
    assert_finds(report.clone(), "mysql", "column plan");
    assert_finds(report, "registry", "schema");

    // A schema built from a table with a column the type map refuses names it, and the way out.
    let spatial = format!("{}_spatial", scenario.names.table);
    for statement in [
        format!("CREATE TABLE `{spatial}` LIKE `{}`", scenario.names.table),
        format!("ALTER TABLE `{spatial}` ADD COLUMN spot POINT NULL"),
    ] {
        sqlx::query(&statement)
            .execute(&scenario.pool)
            .await
            .expect("a table with a spatial column");
    }
    let from_table = [
        "--set",
        "producer.schema_from=table",
        "--set",
        &format!("mysql.table={spatial}"),
    ];
    let (code, report) = check(&scenario, "sluice-producer", &from_table, &[]);
    let (_, line) = check_status(&report, "mysql", "column plan");
    for needed in ["`spot`", "point", "exclude_columns"] {
        assert!(line.contains(needed), "{needed} in {line}");
    }
    assert_finds((code, report), "mysql", "column plan");
    let leaving_it_out = [&from_table[..], &["--set", "producer.exclude_columns=spot"]].concat();
    let (_, report) = check(&scenario, "sluice-producer", &leaving_it_out, &[]);
    assert_eq!(
        check_status(&report, "mysql", "column plan").0,
        "ok",
        "{report:#}"
    );
    sqlx::query(&format!("DROP TABLE `{spatial}`"))
        .execute(&scenario.pool)
        .await
        .expect("drop the spatial table");

    let unindexed = format!("{}_unindexed", scenario.names.table);
    sqlx::query(&format!(
        "CREATE TABLE `{unindexed}` LIKE `{}`",
        scenario.names.table
    ))
    .execute(&scenario.pool)
    .await
    .expect("a copy of the table");
    sqlx::query(&format!(
        "DROP INDEX product_last_updated_id ON `{unindexed}`"
    ))
    .execute(&scenario.pool)
    .await
    .expect("drop its keyset index");
    let set_table = format!("mysql.table={unindexed}");
    let (code, report) = check(&scenario, "sluice-producer", &["--set", &set_table], &[]);
    assert!(
        check_status(&report, "mysql", "keyset index")
            .1
            .contains("CREATE INDEX"),
        "{report:#}"
    );
    assert_finds((code, report), "mysql", "keyset index");

    assert_finds(
        check(
            &scenario,
            "sluice-producer",
            &["--set", "kafka.partitions=7"],
            &[],
        ),
        "kafka",
        "topic",
    );
    assert_finds(
        check(&scenario, "sluice-consumer", &["--member", "1"], &[]),
        "output",
        "member lock",
    );
    // A folder under /proc cannot be made, not even by root.
    assert_finds(
        check(
            &scenario,
            "sluice-consumer",
            &[
                "--member",
                "3",
                "--set",
                "consumer.output_dir=/proc/sluice-out",
            ],
            &[],
        ),
        "output",
        "folder",
    );

    // In lines, as a user reads it, with the first failure on stderr.
    let output = scenario.output_of(
        "sluice-producer",
        &["--set", "kafka.partitions=7", "check"],
        &[],
    );
    let lines = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(1), "{lines}");
    let topic_line = lines
        .lines()
        .find(|line| line.starts_with("kafka") && line.contains(" topic "))
        .unwrap_or_else(|| panic!("no topic line:\n{lines}"));
    assert!(
        topic_line.contains("FAILED") && topic_line.contains("fix: set kafka.partitions = 10"),
        "{topic_line}"
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("kafka check failed: topic"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Settings that do not load: exit 2.
    let output = scenario.output_of("sluice-producer", &["--set", "mysql.prot=1", "check"], &[]);
    assert_eq!(output.status.code(), Some(2));

    // Undisturbed: rows changed after the checks arrive once, no process stopped or fenced.
    scenario
        .update_products(&(1..PRODUCTS + 1).collect::<Vec<_>>(), 2)
        .await;
    scenario.wait_caught_up(CATCH_UP).await;
    assert_eq!(
        scenario.wait_for_producer_exit(Duration::ZERO),
        None,
        "the producer still runs"
    );
    for member in 1..=2 {
        assert!(
            scenario
                .wait_for_consumer_exit(member, Duration::ZERO)
                .is_none(),
            "member {member} still runs"
        );
    }
    assert!(
        !scenario.log("producer.log").contains("fenced"),
        "{}",
        scenario.log("producer.log")
    );
    scenario.stop_all_cleanly();
    scenario.assert_exactly_once(PRODUCTS as u64);
}
