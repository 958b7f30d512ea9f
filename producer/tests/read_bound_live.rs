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
    sqlx::query(&format!("DROP TABLE {table}"))
        .execute(&pool)
        .await
        .expect("drop scratch table");
}
