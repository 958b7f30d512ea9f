//! Against the local stack's MariaDB (`make up`): a snapshot started at a binary log position
//! sees what was committed before it, and the stream read from that position holds every
//! version committed after it once, in commit order, each transaction opened by its GTID and
//! closed by its commit, the watched table's rows decoded to the values a query gives, another
//! table's rows passed over; a stream restarted at a transaction's end goes on with the next.

use std::time::Duration;

use mysql_async::binlog::row::BinlogRow;
use sluice_common::mysql;
use sluice_common::settings::{MysqlSettings, Settings};
use sluice_producer::binlog::cells::{read_cell, RowShape};
use sluice_producer::binlog::connect;
use sluice_producer::binlog::position::{BinlogPosition, Gtid};
use sluice_producer::binlog::snapshot_start::start_snapshot;
use sluice_producer::binlog::stream::{
    ChangeStream, Operation, RowChange, StreamEvent, WatchedTable,
};
use sluice_producer::source::catalogue::{table_columns, TableColumn};
use sluice_producer::source::cell::Cell;
use sluice_producer::source::columns::ValueKind;
use sqlx::MySqlPool;

/// The stack's binlog user (stack/env.sh), granted REPLICATION SLAVE and BINLOG MONITOR.
fn binlog_login(settings: &MysqlSettings) -> MysqlSettings {
    MysqlSettings {
        user: "sluice_binlog".into(),
        password: "sluice_binlog".into(),
        ..settings.clone()
    }
}

/// A committed transaction of the watched table, as the stream showed it.
#[derive(Debug)]
struct Transaction {
    gtid: Gtid,
    rows: Vec<RowChange>,
    /// Where the stream goes on after its commit.
    end: BinlogPosition,
}

/// Reads the stream until `count` transactions that changed the watched table have committed;
/// other transactions (other tests write to the same server) are read past.
async fn transactions(stream: &mut ChangeStream, count: usize) -> Vec<Transaction> {
    let mut done = Vec::new();
    let mut open: Option<(Gtid, Vec<RowChange>)> = None;
    while done.len() < count {
        let event = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("a binlog event within 30 s (heartbeats come every second)")
            .expect("a readable binlog event");
        match event.event {
            StreamEvent::Begin(begin) => {
                assert!(open.is_none(), "a GTID event inside an open transaction");
                open = (!begin.standalone).then(|| (begin.gtid, Vec::new()));
            }
            StreamEvent::Rows(rows) => {
                let (_, changes) = open.as_mut().expect("rows inside a transaction");
                changes.extend(rows);
            }
            StreamEvent::Commit => {
                let (gtid, rows) = open.take().expect("a commit closes an open transaction");
                if !rows.is_empty() {
                    done.push(Transaction {
                        gtid,
                        rows,
                        end: event.next.clone(),
                    });
                }
            }
            StreamEvent::Statement { .. } | StreamEvent::Skipped => {}
        }
        assert_eq!(stream.position(), &event.next);
    }
    done
}

async fn open_stream(
    settings: &MysqlSettings,
    from: &BinlogPosition,
    table: &str,
    server_id: u32,
) -> ChangeStream {
    let conn = connect::connect(&binlog_login(settings))
        .await
        .expect("the binlog user logs in");
    let requested = connect::request_stream(conn, from, server_id)
        .await
        .expect("the server streams its binary log");
    ChangeStream::new(
        requested,
        from.clone(),
        WatchedTable {
            database: settings.database.clone(),
            table: table.to_string(),
        },
    )
}

async fn execute(pool: &MySqlPool, sql: &str) {
    sqlx::query(sql)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A value of a row image, read the way the plan reads that column.
fn cell<'r>(
    row: &'r BinlogRow,
    columns: &[TableColumn],
    name: &str,
    kind: ValueKind,
) -> Option<Cell<'r>> {
    let index = columns
        .iter()
        .position(|column| column.name == name)
        .expect("the column");
    read_cell(row.as_ref(index), kind).unwrap_or_else(|e| panic!("column {name}: {e}"))
}

/// The `price` of a row image, if there is one.
fn price_of<'r>(image: Option<&'r BinlogRow>, columns: &[TableColumn]) -> Option<Cell<'r>> {
    image.and_then(|row| cell(row, columns, "price", ValueKind::Decimal(2)))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_and_the_stream_after_it_hold_every_version_once() {
    let settings = Settings::default();
    let pool = mysql::connect(&settings.mysql, 3)
        .await
        .expect("MariaDB of the local stack must be up: run `make up`");
    let table = format!("binlog_live_{}", std::process::id());
    let other = format!("{table}_other");
    execute(&pool, &format!("DROP TABLE IF EXISTS {table}, {other}")).await;
    execute(
        &pool,
        &format!(
            "CREATE TABLE {table} (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, \
             size ENUM('S','M','L') NULL, tags SET('a','b','c') NOT NULL DEFAULT '', \
             price DECIMAL(8,2) NOT NULL, at TIMESTAMP(6) NOT NULL, note TEXT NULL)"
        ),
    )
    .await;
    execute(&pool, &format!("CREATE TABLE {other} (id INT PRIMARY KEY)")).await;
    execute(
        &pool,
        &format!(
            "INSERT INTO {table} VALUES (1, 'before', 'S', '', 1.00, \
             '2026-12-06 10:00:00.000001', NULL)"
        ),
    )
    .await;

    let mut snapshot = pool.acquire().await.expect("a connection");
    let start = start_snapshot(&mut snapshot)
        .await
        .expect("MariaDB reports its snapshot's binlog position");

    execute(
        &pool,
        &format!(
            "INSERT INTO {table} VALUES (2, 'Käse', 'M', 'a,c', 12.50, \
             '2026-12-06 10:00:01.250000', 'new')"
        ),
    )
    .await;
    execute(&pool, &format!("INSERT INTO {other} VALUES (1)")).await;
    let mut both = pool.begin().await.expect("a transaction");
    for price in ["2.00", "3.00"] {
        sqlx::query(&format!("UPDATE {table} SET price = {price} WHERE id = 1"))
            .execute(&mut *both)
            .await
            .expect("update");
    }
    both.commit().await.expect("commit");
    execute(&pool, &format!("DELETE FROM {table} WHERE id = 2")).await;

    // The snapshot sees the table as it was at its position: row 1, first version, only.
    let seen: Vec<(i32, String)> = sqlx::query_as(&format!(
        "SELECT id, CAST(price AS CHAR) FROM {table} ORDER BY id"
    ))
    .fetch_all(&mut *snapshot)
    .await
    .expect("read inside the snapshot");
    assert_eq!(seen, [(1, "1.00".to_string())]);
    sqlx::query("COMMIT")
        .execute(&mut *snapshot)
        .await
        .expect("end the snapshot");

    let columns = table_columns(&pool, &settings.mysql.database, &table)
        .await
        .expect("the catalogue");
    let shape = RowShape::new(&columns);
    let server_id = 7_000 + std::process::id() % 1_000;
    let mut stream = open_stream(&settings.mysql, &start.position, &table, server_id).await;
    let mut seen = transactions(&mut stream, 3).await;

    let operations: Vec<Vec<Operation>> = seen
        .iter()
        .map(|t| t.rows.iter().map(|row| row.operation).collect())
        .collect();
    assert_eq!(
        operations,
        [
            vec![Operation::Insert],
            vec![Operation::Update, Operation::Update],
            vec![Operation::Delete]
        ],
        "every version after the snapshot once, in commit order, none from before it"
    );
    for pair in seen.windows(2) {
        assert_eq!(pair[0].gtid.domain, pair[1].gtid.domain);
        assert!(pair[0].gtid.sequence < pair[1].gtid.sequence, "{pair:?}");
    }
    if let Some(before) = start.gtids.iter().find(|g| g.domain == seen[0].gtid.domain) {
        assert!(
            before.sequence < seen[0].gtid.sequence,
            "{start:?} {seen:?}"
        );
    }

    // The insert's row, decoded to what a query gives.
    let insert = seen[0].rows[0].after.as_mut().expect("an insert's row");
    shape.normalize(insert, &columns).expect("normalized");
    assert_eq!(
        cell(insert, &columns, "id", ValueKind::Int),
        Some(Cell::Int(2))
    );
    assert_eq!(
        cell(insert, &columns, "name", ValueKind::Text),
        Some(Cell::Text("Käse"))
    );
    assert_eq!(
        cell(insert, &columns, "size", ValueKind::Text),
        Some(Cell::Text("M"))
    );
    assert_eq!(
        cell(insert, &columns, "tags", ValueKind::Set),
        Some(Cell::Set("a,c"))
    );
    assert_eq!(
        cell(insert, &columns, "price", ValueKind::Decimal(2)),
        Some(Cell::Decimal("12.50", 2))
    );
    let at =
        chrono::NaiveDateTime::parse_from_str("2026-12-06 10:00:01.25", "%Y-%m-%d %H:%M:%S%.f")
            .expect("a time")
            .and_utc();
    assert_eq!(
        cell(insert, &columns, "at", ValueKind::TimestampMicros),
        Some(Cell::Long(at.timestamp_micros()))
    );
    assert_eq!(
        cell(insert, &columns, "note", ValueKind::Text),
        Some(Cell::Text("new"))
    );

    // Both updates of one transaction, each with its before and after image.
    let prices: Vec<(Option<Cell<'_>>, Option<Cell<'_>>)> = seen[1]
        .rows
        .iter()
        .map(|row| {
            (
                price_of(row.before.as_ref(), &columns),
                price_of(row.after.as_ref(), &columns),
            )
        })
        .collect();
    assert_eq!(
        prices,
        [
            (
                Some(Cell::Decimal("1.00", 2)),
                Some(Cell::Decimal("2.00", 2))
            ),
            (
                Some(Cell::Decimal("2.00", 2)),
                Some(Cell::Decimal("3.00", 2))
            )
        ]
    );
    let deleted = seen[2].rows[0].before.as_ref().expect("a delete's row");
    assert_eq!(
        cell(deleted, &columns, "id", ValueKind::Int),
        Some(Cell::Int(2))
    );
    assert!(seen[2].rows[0].after.is_none());

    // Restarted at the end of the first transaction, the stream goes on with the second.
    drop(stream);
    let mut again = open_stream(&settings.mysql, &seen[0].end, &table, server_id).await;
    let resumed = transactions(&mut again, 1).await;
    assert_eq!(resumed[0].gtid, seen[1].gtid);
    assert_eq!(resumed[0].rows.len(), 2);

    execute(&pool, &format!("DROP TABLE {table}, {other}")).await;
}
