//! One source transaction of many rows through the binlog source, exactly once: published in
//! several Kafka transactions with the producer's memory bounded, and after a `kill -9` inside
//! it, every row once. `make test` runs it on 200 000 rows; `make test-binlog-large` on a
//! million (`SLUICE_BINLOG_TRANSACTION_ROWS`), on release builds.

use sluice_e2e::scenario::{tail, Scenario};
use sluice_e2e::wait::{until_async, CATCH_UP};

/// The producer's peak resident memory, at most.
const RSS_LIMIT_MIB: f64 = 64.0;

/// Rows in the one transaction.
fn rows() -> i64 {
    std::env::var("SLUICE_BINLOG_TRANSACTION_ROWS")
        .ok()
        .and_then(|rows| rows.parse().ok())
        .unwrap_or(200_000)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transaction_of_many_rows_is_published_once_in_bounded_memory_through_a_kill() {
    let rows = rows();
    let mut scenario = Scenario::new("binlog_large", 6).await;
    scenario.with_setting("producer.source=binlog");
    scenario.with_setting("mysql.user=sluice_binlog");
    scenario.with_setting("mysql.password=sluice_binlog");
    // 500-row pages: a Kafka transaction (128 pages at most) holds 64 000 rows, so the source
    // transaction takes several, and the kill lands between two of them.
    scenario.with_setting("producer.batch_size=500");
    scenario.start_consumers(1);
    scenario.start_producer();
    scenario
        .wait_for_log("producer.log", "streaming the changes", 1, CATCH_UP)
        .await;

    let table = scenario.names.table.clone();
    sqlx::query(&format!(
        "INSERT INTO `{table}` (id, name, category, price) \
         SELECT seq, CONCAT('Item ', seq), 'toys', 1.5 FROM seq_1_to_{rows}"
    ))
    .execute(&scenario.pool)
    .await
    .expect("one transaction of many rows");

    // Killed once a first Kafka transaction of it is committed (its lines are in the files).
    until_async(
        "the first lines of the transaction in the files",
        CATCH_UP,
        || async {
            let written = scenario
                .metric("consumer-1.log", "sluice_consumer_lines_written_total")
                .await
                .unwrap_or_default();
            (written > 0.0).then_some(())
        },
        || tail(&scenario.log("producer.log"), 10),
    )
    .await;
    let first_peak = scenario
        .producer_peak_rss_mib()
        .expect("the producer's memory");
    scenario.kill_producer();
    scenario.start_producer();
    scenario
        .wait_for_log("producer.log", "changes published)", 1, CATCH_UP)
        .await;

    scenario
        .wait_then_assert_exactly_once(rows as u64, CATCH_UP)
        .await;
    let second_peak = scenario
        .producer_peak_rss_mib()
        .expect("the producer's memory");
    for peak in [first_peak, second_peak] {
        assert!(
            peak <= RSS_LIMIT_MIB,
            "the producer's peak RSS {peak:.1} MiB, at most {RSS_LIMIT_MIB} MiB"
        );
    }
    eprintln!("peak RSS: {first_peak:.1} MiB before the kill, {second_peak:.1} MiB after");
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
}
