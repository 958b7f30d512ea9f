//! Against the local stack's MariaDB (`make up`): the read bound stops before a row of a
//! transaction still open, and with performance_schema (which the stack turns on) it stops
//! right before the transaction's start rather than a second or two earlier.

use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};
use sluice_common::mysql;
use sluice_common::settings::Settings;
use sluice_producer::source::read_bound::{ReadBound, TransactionView};

const NO_LAG: Duration = Duration::ZERO;

async fn bound(pool: &sqlx::MySqlPool, view: TransactionView) -> NaiveDateTime {
    let (bound, now) = ReadBound::with_view(view, NO_LAG)
        .current(pool)
        .await
        .unwrap_or_else(|e| panic!("the {view:?} bound query failed: {e}"));
    assert!(bound <= now, "{view:?}: bound {bound} after now {now}");
    bound
}

/// One test, so no other transaction of this binary holds the bound back meanwhile.
#[tokio::test(flavor = "multi_thread")]
async fn an_open_transaction_holds_the_bound_back_to_its_start() {
    let settings = Settings::default();
    let pool = mysql::connect(&settings.mysql, 3)
        .await
        .expect("MariaDB of the local stack must be up: run `make up`");
    assert_eq!(
        ReadBound::new(&pool, NO_LAG).await.view(),
        TransactionView::Precise,
        "the stack's MariaDB runs with performance_schema's transaction events"
    );
    // Each query runs, the lag-only one too (it once lacked a column).
    for view in [
        TransactionView::Precise,
        TransactionView::WholeSeconds,
        TransactionView::None,
    ] {
        bound(&pool, view).await;
    }

    let table = format!("it_read_bound_{}", std::process::id());
    sqlx::query(&format!(
        "CREATE TABLE {table} (id INT PRIMARY KEY, \
         at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))"
    ))
    .execute(&pool)
    .await
    .expect("create scratch table");

    let mut open = pool.begin().await.expect("begin");
    sqlx::query(&format!("INSERT INTO {table} (id) VALUES (1)"))
        .execute(&mut *open)
        .await
        .expect("insert");
    let written: NaiveDateTime =
        sqlx::query_scalar(&format!("SELECT CAST(at AS DATETIME(6)) FROM {table}"))
            .fetch_one(&mut *open)
            .await
            .expect("own row");
    tokio::time::sleep(Duration::from_millis(400)).await;

    let precise = bound(&pool, TransactionView::Precise).await;
    let whole_seconds = bound(&pool, TransactionView::WholeSeconds).await;
    assert!(
        precise < written,
        "the precise bound {precise} must stop before the open row at {written}"
    );
    assert!(
        written - precise < TimeDelta::milliseconds(100),
        "the precise bound {precise} must stop just before the open row at {written}, not 400 ms or more"
    );
    assert!(
        whole_seconds <= written - TimeDelta::seconds(1),
        "the whole-second bound {whole_seconds} keeps a second's margin before {written}"
    );

    open.commit().await.expect("commit");
    let after = bound(&pool, TransactionView::Precise).await;
    assert!(
        after > written,
        "once committed, the row at {written} is below the bound {after}"
    );

    // A whole-second column stamps a row with its second cut short: up to a second before the
    // transaction that wrote it began, so a bound just before that start is past the row.
    let coarse = format!("{table}_whole_seconds");
    sqlx::query(&format!(
        "CREATE TABLE {coarse} (id INT PRIMARY KEY, \
         at TIMESTAMP(0) NOT NULL DEFAULT CURRENT_TIMESTAMP(0))"
    ))
    .execute(&pool)
    .await
    .expect("create whole-second table");
    // Begin well inside a second, so the cut is large.
    let into_second: i64 = sqlx::query_scalar("SELECT CAST(MICROSECOND(NOW(6)) AS SIGNED)")
        .fetch_one(&pool)
        .await
        .expect("clock");
    let wait = (1_300_000 - into_second) % 1_000_000;
    tokio::time::sleep(Duration::from_micros(wait.unsigned_abs())).await;
    let mut open = pool.begin().await.expect("begin");
    sqlx::query(&format!("INSERT INTO {coarse} (id) VALUES (1)"))
        .execute(&mut *open)
        .await
        .expect("insert");
    let stamped: NaiveDateTime =
        sqlx::query_scalar(&format!("SELECT CAST(at AS DATETIME(6)) FROM {coarse}"))
            .fetch_one(&mut *open)
            .await
            .expect("own row");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let to_the_microsecond = bound(&pool, TransactionView::Precise).await;
    let (to_the_second, _) = ReadBound::with_view(TransactionView::Precise, NO_LAG)
        .for_fractional_digits(0)
        .current(&pool)
        .await
        .expect("bound for a whole-second column");
    open.commit().await.expect("commit");
    sqlx::query(&format!("DROP TABLE {coarse}"))
        .execute(&pool)
        .await
        .expect("drop whole-second table");
    assert!(
        to_the_microsecond > stamped,
        "the open row, stamped {stamped}, lies before its transaction's start (bound \
         {to_the_microsecond}), so this case tells the bounds apart"
    );
    assert!(
        to_the_second < stamped,
        "the bound for a whole-second column {to_the_second} must stop before the open row \
         stamped {stamped}"
    );

    // A writing statement that waits for a table's lock longer than a second is in none of
    // InnoDB's lists, yet the row it writes once it has the lock carries its start.
    let mut locker = pool.acquire().await.expect("connection");
    sqlx::query(&format!("LOCK TABLES {table} READ"))
        .execute(&mut *locker)
        .await
        .expect("lock the table");
    let mut waiting = pool.acquire().await.expect("connection");
    let insert = format!("INSERT INTO {table} (id) VALUES (2)");
    let writer = tokio::spawn(async move {
        sqlx::query(&insert)
            .execute(&mut *waiting)
            .await
            .expect("insert after the lock")
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let during_wait = bound(&pool, TransactionView::Precise).await;
    sqlx::query("UNLOCK TABLES")
        .execute(&mut *locker)
        .await
        .expect("unlock");
    drop(locker);
    writer.await.expect("writer");
    let waited: NaiveDateTime = sqlx::query_scalar(&format!(
        "SELECT CAST(at AS DATETIME(6)) FROM {table} WHERE id = 2"
    ))
    .fetch_one(&pool)
    .await
    .expect("the waiting statement's row");
    assert!(
        during_wait < waited,
        "the precise bound {during_wait}, taken 1.5 s into the wait, must stop before the \
         waiting statement's row at {waited}"
    );

    sqlx::query(&format!("DROP TABLE {table}"))
        .execute(&pool)
        .await
        .expect("drop scratch table");
}
