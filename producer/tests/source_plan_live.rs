//! Against the local stack's MariaDB (`make up`): the producer's plan of a table comes from the
//! catalogue: the timestamp's precision, whether a first run reads in key order, the keyset
//! index; and a configured column the table lacks is refused by name before any row is read,
//! the timestamp column only where the source pages by it.

use apache_avro::Schema;
use sluice_common::mysql;
use sluice_common::settings::Settings;
use sluice_producer::source::plan::{SourcePlan, SourcePlanError, TimestampColumn};
use sluice_producer::source::writer_schema::WriterSchema;
use sluice_registry::SchemaFile;
use sqlx::MySqlPool;

const SCHEMA: &str = r#"{"type": "record", "name": "Item", "fields": [
    {"name": "id", "type": "int"}, {"name": "name", "type": "string"}]}"#;

/// Creates `definition` as a scratch table, plans it with `key` and the required `ts`, and
/// drops it.
async fn plan_of(
    pool: &MySqlPool,
    suffix: &str,
    definition: &str,
    key: &str,
) -> Result<SourcePlan, SourcePlanError> {
    plan_timed_by(
        pool,
        suffix,
        definition,
        key,
        TimestampColumn::Required("ts"),
    )
    .await
}

/// [`plan_of`] with the timestamp column as given.
async fn plan_timed_by(
    pool: &MySqlPool,
    suffix: &str,
    definition: &str,
    key: &str,
    timestamp: TimestampColumn<'_>,
) -> Result<SourcePlan, SourcePlanError> {
    let database = Settings::default().mysql.database;
    let table = format!("it_source_plan_{}_{suffix}", std::process::id());
    sqlx::query(&format!("CREATE TABLE {table} ({definition})"))
        .execute(pool)
        .await
        .expect("create scratch table");
    let schema = WriterSchema::File(SchemaFile {
        path: "test.avsc".into(),
        text: SCHEMA.to_owned(),
        schema: Schema::parse_str(SCHEMA).expect("schema"),
    });
    let plan = SourcePlan::discover(pool, &database, &table, &schema, key, timestamp, None).await;
    sqlx::query(&format!("DROP TABLE {table}"))
        .execute(pool)
        .await
        .expect("drop scratch table");
    plan
}

#[tokio::test]
async fn a_table_is_planned_from_its_catalogue() {
    let pool = mysql::connect(&Settings::default().mysql, 1)
        .await
        .expect("MariaDB of the local stack must be up: run `make up`");

    let seconds = plan_of(
        &pool,
        "seconds",
        "id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, ts TIMESTAMP(0) NOT NULL, INDEX by_ts (ts)",
        "id",
    )
    .await
    .expect("a table with every column");
    assert_eq!(seconds.timestamp_digits, 0);
    assert!(seconds.snapshot_by_key, "the key is the whole primary key");
    assert_eq!(seconds.keyset_index.as_deref(), Some("by_ts"));

    let millis = plan_of(
        &pool,
        "millis",
        "id INT, name VARCHAR(20) NOT NULL, ts TIMESTAMP(3) NOT NULL, UNIQUE KEY (id)",
        "id",
    )
    .await
    .expect("a table with every column");
    assert_eq!(millis.timestamp_digits, 3);
    assert!(
        !millis.snapshot_by_key,
        "the key is not the primary key (the table has none)"
    );
    assert_eq!(millis.keyset_index, None);

    // Keyed by several columns, no one of them orders the rows without ties: refused, naming
    // the key's columns.
    let composite = plan_of(
        &pool,
        "composite",
        "id INT, name VARCHAR(20) NOT NULL, ts TIMESTAMP(3) NOT NULL, PRIMARY KEY (id, name)",
        "id",
    )
    .await;
    match composite {
        Err(error @ SourcePlanError::CompositeKey { .. }) => assert!(
            error
                .to_string()
                .contains("composite primary key (id, name)"),
            "{error}"
        ),
        other => panic!("a composite primary key is refused, not {other:?}"),
    }

    // A key column of a type records are not keyed by: refused, naming its type.
    let decimal = plan_of(
        &pool,
        "decimal",
        "code DECIMAL(10,2) PRIMARY KEY, id INT NOT NULL, name VARCHAR(20) NOT NULL, \
         ts TIMESTAMP(6) NOT NULL",
        "code",
    )
    .await;
    match decimal {
        Err(error @ SourcePlanError::Key { .. }) => assert!(
            error.to_string().contains("`code` is DECIMAL(10,2)"),
            "{error}"
        ),
        other => panic!("a DECIMAL key is refused, not {other:?}"),
    }

    let missing = plan_of(
        &pool,
        "missing",
        "id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, ts TIMESTAMP(6) NOT NULL",
        "product_id",
    )
    .await
    .expect_err("the key column is not in the table");
    assert!(
        matches!(&missing, SourcePlanError::MissingColumn { column, .. } if column == "product_id"),
        "{missing}"
    );
    assert!(missing.to_string().contains("product_id"), "{missing}");

    // No timestamp column: refused where the source pages by it, read by key where it does not
    // (the binlog source).
    let untimed = "id INT PRIMARY KEY, name VARCHAR(20) NOT NULL";
    let polled = plan_of(&pool, "untimed", untimed, "id")
        .await
        .expect_err("the poller needs the timestamp column");
    assert!(
        matches!(&polled, SourcePlanError::MissingColumn { column, .. } if column == "ts"),
        "{polled}"
    );
    let streamed = plan_timed_by(
        &pool,
        "untimed",
        untimed,
        "id",
        TimestampColumn::IfPresent("ts"),
    )
    .await
    .expect("the binlog source reads a table without a timestamp column");
    assert_eq!(streamed.query.layout().timestamp, None);
    assert!(streamed.snapshot_by_key);
    assert!(
        !streamed.query.key_sql().contains("`ts`"),
        "{}",
        streamed.query.key_sql()
    );
    let timed = plan_timed_by(
        &pool,
        "timed",
        "id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, ts TIMESTAMP(6) NOT NULL",
        "id",
        TimestampColumn::IfPresent("ts"),
    )
    .await
    .expect("a table with every column");
    assert_eq!(timed.query.layout().timestamp, Some(2), "read where it is");
}
