//! Every process serves Prometheus metrics and a readiness probe: scraped here from a running
//! pipeline, the metric families a dashboard needs are present with their labels.

use std::time::Duration;

use sluice_e2e::scenario::Scenario;
use sluice_e2e::wait;

async fn get(url: &str) -> (u16, String) {
    let response = sluice_registry::http::get(url)
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// Samples of `family` in the text format: lines starting with its name.
fn samples<'a>(metrics: &'a str, family: &str) -> Vec<&'a str> {
    metrics
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            line.starts_with(family) && line[family.len()..].starts_with(['{', ' ', '_'])
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn producer_and_consumers_serve_metrics_and_health() {
    let mut scenario = Scenario::new("metrics", 6).await;
    scenario.insert_products(1..1001, None).await;
    scenario.start_consumers(2);
    scenario.start_producer();
    scenario.wait_caught_up(Duration::from_secs(120)).await;

    let producer = scenario.wait_for_metrics_url("producer.log").await;
    let (status, health) = get(&format!("{producer}/health")).await;
    assert_eq!((status, health.trim()), (200, "ready"));
    let (status, live) = get(&format!("{producer}/health/live")).await;
    assert_eq!((status, live.trim()), (200, "live"));
    let (status, text) = get(&format!("{producer}/metrics")).await;
    assert_eq!(status, 200);
    for family in [
        "sluice_producer_rows_read_total",
        "sluice_producer_records_produced_total",
        "sluice_producer_produce_errors_total",
        "sluice_producer_batches_total",
        "sluice_producer_batch_rows",
        "sluice_producer_poll_duration_seconds",
        "sluice_producer_watermark_timestamp_seconds",
        "sluice_producer_watermark_lag_seconds",
        "sluice_producer_dlq_records_total",
        "sluice_producer_registry_requests_total",
        "sluice_build_info",
        "sluice_uptime_seconds",
        "sluice_errors_total",
        "process_start_time_seconds",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
    ] {
        assert!(
            !samples(&text, family).is_empty(),
            "{family} missing from the producer:\n{text}"
        );
    }
    assert!(
        text.contains("sluice_producer_rows_read_total 1000"),
        "counts the rows: {text}"
    );
    assert!(text.contains(r#"sluice_producer_registry_requests_total{outcome="ok"} 1"#));
    assert!(text.contains(r#"sluice_build_info{process="producer",version=""#));

    for member in ["consumer-1", "consumer-2"] {
        let url = scenario
            .wait_for_metrics_url(&format!("{member}.log"))
            .await;
        let (status, _) = get(&format!("{url}/health")).await;
        assert_eq!(status, 200, "{member} is assigned partitions, so ready");
        // The lag gauge is fed by librdkafka's statistics, every 5 s: wait for the first.
        let metrics = format!("{url}/metrics");
        let text = wait::until_async(
            "the first lag sample",
            Duration::from_secs(20),
            || async {
                let (_, text) = get(&metrics).await;
                (!samples(&text, "sluice_consumer_lag_records").is_empty()).then_some(text)
            },
            || format!("{member} serves no sluice_consumer_lag_records"),
        )
        .await;
        for family in [
            "sluice_consumer_records_consumed_total",
            "sluice_consumer_lines_written_total",
            "sluice_consumer_dlq_records_total",
            "sluice_consumer_commit_duration_seconds",
            "sluice_consumer_lag_records",
            "sluice_consumer_rebalances_total",
            "sluice_consumer_output_bytes_total",
            "sluice_consumer_end_to_end_latency_seconds",
            "sluice_consumer_assigned_partitions",
            "sluice_uptime_seconds",
            "sluice_errors_total",
        ] {
            let found = samples(&text, family);
            assert!(!found.is_empty(), "{family} missing from {member}:\n{text}");
            assert!(
                found
                    .iter()
                    .all(|s| s.contains(&format!(r#"member="{member}""#))),
                "{family} without its member label: {found:?}"
            );
        }
        assert!(
            samples(&text, "sluice_consumer_lines_written_total")
                .iter()
                .any(|s| s.contains("partition=\"")),
            "lines are counted per partition"
        );
    }
    // Caught up and idle, the lag stays near the commit lag (2 s) instead of growing with the
    // time since the last change: a quiet table is not a stalled pipeline. Six quiet seconds
    // are the scenario.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (_, text) = get(&format!("{producer}/metrics")).await;
    let lag: f64 = samples(&text, "sluice_producer_watermark_lag_seconds")
        .first()
        .and_then(|line| line.split_whitespace().last())
        .and_then(|value| value.parse().ok())
        .expect("a lag sample");
    assert!(
        (0.0..5.0).contains(&lag),
        "idle lag should be about the commit lag, got {lag}s"
    );

    let (status, _) = get(&format!("{producer}/nope")).await;
    assert_eq!(status, 404);
    scenario.stop_all_cleanly();
}
