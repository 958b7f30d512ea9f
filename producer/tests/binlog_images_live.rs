//! Against the local stack's MariaDB (`make up`): the row images `row_images` reads from the
//! server's own rows events of a table of every column type (signed and unsigned integers of
//! each width, floats, decimals, text and binary of each kind, ENUM, SET, JSON, BIT, dates,
//! times and timestamps of each precision, YEAR, NULL in every nullable column) hold the values
//! mysql_common's `RowsEventRows` gives, in the same places: inserts, updates (both images) and
//! deletes, in events of one row and of many. And unsigned integers, of which the table map
//! says nothing under MariaDB's default `binlog_row_metadata`, read as the table holds them once
//! the image is normalized, and an unsigned key as its value.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use mysql_async::binlog::events::{EventData, RowsEventData, TableMapEvent};
use mysql_async::binlog::row::BinlogRow;
use mysql_async::binlog::value::BinlogValue;
use mysql_async::{BinlogStream, Value};
use sluice_common::mysql;
use sluice_common::settings::{MysqlSettings, Settings};
use sluice_producer::binlog::cells::RowShape;
use sluice_producer::binlog::connect;
use sluice_producer::binlog::image::ImageLayout;
use sluice_producer::binlog::position::BinlogPosition;
use sluice_producer::binlog::row_images::row_images;
use sluice_producer::binlog::snapshot_start::start_snapshot;
use sluice_producer::source::catalogue::table_columns;
use sluice_producer::source::columns::ColumnPlan;
use sluice_producer::source::key::{Key, KeyKind};
use sqlx::MySqlPool;

const COLUMNS: &str = "
    id INT NOT NULL PRIMARY KEY,
    i8 TINYINT NULL, u8 TINYINT UNSIGNED NULL, i16 SMALLINT NULL, u16 SMALLINT UNSIGNED NULL,
    i24 MEDIUMINT NULL, u24 MEDIUMINT UNSIGNED NULL, u32 INT UNSIGNED NULL,
    i64 BIGINT NULL, u64 BIGINT UNSIGNED NULL,
    f FLOAT NULL, d DOUBLE NULL, small DECIMAL(5,2) NULL, wide DECIMAL(30,10) NULL,
    c CHAR(3) NULL, v VARCHAR(300) NULL, t TEXT NULL, b BLOB NULL, bin BINARY(4) NULL,
    vb VARBINARY(20) NULL, e ENUM('a','b c') NULL, s SET('x','y','z') NULL, j JSON NULL,
    bits BIT(13) NULL, day DATE NULL, dt0 DATETIME NULL, dt6 DATETIME(6) NULL,
    ts3 TIMESTAMP(3) NULL, tm TIME(4) NULL, y YEAR NULL";

/// Every column varied by `seq`, each nullable one NULL for some rows.
const VALUES: &str = "
    seq,
    IF(seq % 11 = 0, NULL, seq % 256 - 128), IF(seq % 12 = 0, NULL, 255 - seq % 256),
    -seq * 7, 65535 - seq, -seq * 1001, 16777215 - seq, 4294967295 - seq,
    IF(seq % 2 = 0, -1, 1) * seq * 1000000007, 18446744073709551615 - seq,
    seq / 3, IF(seq % 5 = 0, NULL, seq / 7), seq % 999 - 499.25, seq * 12345.0123456789,
    LEFT(CONCAT('k', seq), 3), REPEAT(CONCAT('Käse ', seq), 1 + seq % 20), IF(seq % 4 = 0, NULL, REPEAT('t', seq)),
    UNHEX(REPEAT('FE01', seq % 5)), UNHEX(LPAD(HEX(seq), 8, '0')), UNHEX(HEX(seq)),
    ELT(1 + seq % 2, 'a', 'b c'), ELT(1 + seq % 4, '', 'x', 'y,z', 'x,y,z'),
    IF(seq % 3 = 0, NULL, JSON_OBJECT('n', seq, 'a', JSON_ARRAY(seq, 'ü', NULL))),
    seq % 8192, DATE('1969-12-25') + INTERVAL seq DAY,
    TIMESTAMP('1999-12-31 23:59:59') + INTERVAL seq MINUTE,
    TIMESTAMP('2026-03-01 10:00:00.123456') + INTERVAL seq SECOND,
    FROM_UNIXTIME(1790000000 + seq) + INTERVAL 0.125 SECOND,
    SEC_TO_TIME(seq * 997 - 300000) + INTERVAL 250 MICROSECOND, 1901 + seq % 254";

const ROWS: u32 = 120;

async fn execute(pool: &MySqlPool, sql: &str) {
    sqlx::query(sql)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn binlog_login(settings: &MysqlSettings) -> MysqlSettings {
    MysqlSettings {
        user: "sluice_binlog".into(),
        password: "sluice_binlog".into(),
        ..settings.clone()
    }
}

/// The values of an image, place by place.
fn values(image: &Option<BinlogRow>) -> Option<Vec<String>> {
    image.as_ref().map(|row| {
        (0..row.len())
            .map(|place| format!("{:?}", row.as_ref(place)))
            .collect()
    })
}

/// The binary log from `start`, read by the stack's binlog user.
async fn stream_from(settings: &Settings, start: &BinlogPosition, server_id: u32) -> BinlogStream {
    let conn = connect::connect(&binlog_login(&settings.mysql))
        .await
        .expect("the binlog user logs in");
    connect::request_stream(conn, start, server_id + std::process::id() % 1000)
        .await
        .expect("the server streams its binary log")
        .events
}

/// The next rows event of `table` in `events`, with its table map.
async fn next_rows_event(
    events: &mut BinlogStream,
    table: &str,
) -> (RowsEventData<'static>, TableMapEvent<'static>) {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(30), events.next())
            .await
            .expect("an event within 30 s")
            .expect("the stream goes on")
            .expect("a readable event");
        let Ok(Some(EventData::RowsEvent(rows))) = event.read_data() else {
            continue;
        };
        let table_map = events.get_tme(rows.table_id()).expect("its table map");
        if table_map.table_name() == table {
            return (rows.into_owned(), table_map.clone().into_owned());
        }
    }
}

/// A new table `{tag}_{pid}` of `columns` (dropped first if left over), and the binary log's
/// position once it exists: its rows events come after.
async fn new_table(tag: &str, columns: &str) -> (Settings, MySqlPool, String, BinlogPosition) {
    let settings = Settings::default();
    let pool = mysql::connect(&settings.mysql, 2)
        .await
        .expect("MariaDB of the local stack must be up: run `make up`");
    let table = format!("{tag}_{}", std::process::id());
    execute(&pool, &format!("DROP TABLE IF EXISTS {table}")).await;
    execute(&pool, &format!("CREATE TABLE {table} ({columns})")).await;
    let mut snapshot = pool.acquire().await.expect("a connection");
    let start = start_snapshot(&mut snapshot)
        .await
        .expect("MariaDB reports its binlog position");
    drop(snapshot.detach());
    (settings, pool, table, start.position)
}

#[tokio::test(flavor = "multi_thread")]
async fn row_images_hold_the_values_mysql_common_reads_for_every_column_type() {
    let (settings, pool, table, start) = new_table("binlog_images", COLUMNS).await;
    execute(
        &pool,
        &format!(
            "INSERT INTO {table} VALUES ({})",
            VALUES.replace("seq", "1")
        ),
    )
    .await;
    execute(
        &pool,
        &format!(
            "INSERT INTO {table} SELECT {VALUES} \
             FROM (SELECT CAST(seq AS SIGNED) AS seq FROM seq_2_to_{ROWS}) AS signed_seq"
        ),
    )
    .await;
    execute(
        &pool,
        &format!(
            "UPDATE {table} SET v = CONCAT(v, '!'), u64 = u64 DIV 2, j = NULL, tm = '-838:59:59', \
             dt6 = dt6 + INTERVAL 1 MICROSECOND, i8 = NULL"
        ),
    )
    .await;
    execute(&pool, &format!("UPDATE {table} SET e = NULL WHERE id = 7")).await;
    execute(&pool, &format!("DELETE FROM {table} WHERE id % 3 = 0")).await;
    let expected = 2 * ROWS + 1 + ROWS / 3;

    let mut events = stream_from(&settings, &start, 4_000_000).await;
    let no_columns: Arc<[_]> = Arc::from(Vec::new());
    let (mut compared, mut events_read) = (0u32, 0);
    while compared < expected {
        let (rows, table_map) = next_rows_event(&mut events, &table).await;
        let table_map = &table_map;
        events_read += 1;
        let lean = row_images(&rows, table_map, &no_columns).expect("row_images reads the event");
        let reference: Vec<_> = rows
            .rows(table_map)
            .collect::<Result<_, _>>()
            .expect("mysql_common reads the event");
        assert_eq!(lean.len(), reference.len(), "rows in the event");
        for ((before, after), (expected_before, expected_after)) in lean.iter().zip(&reference) {
            assert_eq!(values(before), values(expected_before), "before image");
            assert_eq!(values(after), values(expected_after), "after image");
            assert!(before.is_some() || after.is_some());
            compared += 1;
        }
    }
    assert_eq!(compared, expected, "every row change compared once");
    assert!(
        events_read >= 5,
        "one-row and many-row events: {events_read}"
    );
    execute(&pool, &format!("DROP TABLE {table}")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unsigned_integers_read_as_the_table_holds_them() {
    let (settings, pool, table, start) = new_table(
        "binlog_unsigned",
        "id INT UNSIGNED PRIMARY KEY, u8 TINYINT UNSIGNED, u16 SMALLINT UNSIGNED, \
         u24 MEDIUMINT UNSIGNED, u32 INT UNSIGNED, u64 BIGINT UNSIGNED, small INT UNSIGNED, \
         signed_max BIGINT",
    )
    .await;
    execute(
        &pool,
        &format!(
            "INSERT INTO {table} VALUES (4294967295, 255, 65535, 16777215, 4294967295, \
             18446744073709551615, 7, -9223372036854775808)"
        ),
    )
    .await;
    let columns = table_columns(&pool, &settings.mysql.database, &table)
        .await
        .expect("the table's columns");

    let mut events = stream_from(&settings, &start, 4_001_000).await;
    let (rows, table_map) = next_rows_event(&mut events, &table).await;
    let no_columns: Arc<[_]> = Arc::from(Vec::new());
    let mut images = row_images(&rows, &table_map, &no_columns).expect("readable");
    let mut image = images.remove(0).1.expect("an insert's image");
    let layout = ImageLayout::new(
        &columns,
        &ColumnPlan {
            fields: Vec::new(),
            columns: Vec::new(),
        },
        "id",
        KeyKind::Unsigned,
        None,
        "last_updated",
    )
    .expect("a layout");
    assert_eq!(layout.key(&image), Ok(Key::Unsigned(4_294_967_295)));
    RowShape::new(&columns)
        .normalize(&mut image, &columns)
        .expect("normalizes");
    // Whichever way the server's metadata let mysql_common read them, as numbers.
    let read: Vec<Option<i128>> = (0..image.len())
        .map(|place| match image.as_ref(place) {
            Some(BinlogValue::Value(Value::Int(v))) => Some(i128::from(*v)),
            Some(BinlogValue::Value(Value::UInt(v))) => Some(i128::from(*v)),
            _ => None,
        })
        .collect();
    assert_eq!(
        read,
        [
            4_294_967_295,
            255,
            65_535,
            16_777_215,
            4_294_967_295,
            i128::from(u64::MAX),
            7,
            i128::from(i64::MIN),
        ]
        .map(Some)
    );
    execute(&pool, &format!("DROP TABLE {table}")).await;
}
