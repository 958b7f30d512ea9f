//! The native Prometheus of the stack scrapes a running pipeline: through its HTTP API, every
//! metric family has series with the labels dashboards group by, and every query of the Grafana
//! dashboard and of the alert rules returns data.

use std::time::{Duration, Instant};

use serde_json::Value;
use sluice_e2e::prometheus::{query, series};
use sluice_e2e::scenario::Scenario;

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_scrapes_every_process_and_every_panel_and_alert_has_data() {
    let mut scenario = Scenario::new("prometheus", 6).await;
    scenario.on_scraped_ports();
    scenario.insert_products(1..2001, None).await;
    scenario.start_consumers(5);
    scenario.start_producer();
    scenario.wait_caught_up(Duration::from_secs(120)).await;

    let up = series(r#"up{job=~"sluice-.*"} == 1"#).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut up_count = up.len();
    while up_count < 6 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        up_count = query(r#"up{job=~"sluice-.*"} == 1"#).await.len();
    }
    assert_eq!(up_count, 6, "the producer and five consumers are scraped");

    for family in [
        "sluice_producer_rows_read_total",
        "sluice_producer_records_produced_total",
        "sluice_producer_watermark_lag_seconds",
        "sluice_producer_poll_duration_seconds_bucket",
        "sluice_producer_batch_rows_bucket",
        "sluice_producer_dlq_records_total",
        "sluice_producer_registry_requests_total",
        "sluice_build_info",
        "sluice_uptime_seconds",
    ] {
        series(family).await;
    }
    // Each member's first scrape after it wrote lines may take a few seconds.
    let members_with_lines = |lines: &[Value]| {
        lines
            .iter()
            .filter_map(|s| s["metric"]["member"].as_str().map(str::to_owned))
            .collect::<std::collections::BTreeSet<String>>()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut lines = series("sluice_consumer_lines_written_total").await;
    while members_with_lines(&lines).len() < 5 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        lines = query("sluice_consumer_lines_written_total").await;
    }
    let members = members_with_lines(&lines);
    assert_eq!(members.len(), 5, "lines per member: {members:?}");
    assert!(
        lines.iter().all(|s| s["metric"]["partition"].is_string()),
        "per partition"
    );
    for family in [
        "sluice_consumer_records_consumed_total",
        "sluice_consumer_lag_records",
        "sluice_consumer_commit_duration_seconds_bucket",
        "sluice_consumer_end_to_end_latency_seconds_bucket",
        "sluice_consumer_rebalances_total",
        "sluice_consumer_output_bytes_total",
        "sluice_consumer_dlq_records_total",
    ] {
        let found = series(family).await;
        assert!(
            found.iter().all(|s| s["metric"]["member"].is_string()),
            "{family} has member labels"
        );
    }
    // The consumers may be scraped with their lines before the producer's next scrape: wait for it.
    let rows: f64 = series("sluice_producer_rows_read_total >= 2000").await[0]["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or_default();
    assert!(rows >= 2000.0, "Prometheus saw the rows read: {rows}");

    // `make status` shows the same pipeline, read from the processes' endpoints and Kafka.
    let status = sluice_e2e::status::pipeline_status(&scenario);
    let members = status.member_lines();
    let status_text = &status.text;
    assert!(
        status_text.contains("records produced 2000"),
        "{status_text}"
    );
    assert!(status_text.contains("(lag "), "{status_text}");
    assert_eq!(members.len(), 5, "{status_text}");
    for line in &members {
        assert!(line.contains(" up "), "{line}");
    }
    assert_eq!(
        status.assigned_partitions(),
        (0..10).collect::<Vec<_>>(),
        "each partition owned by one member:\n{status_text}"
    );
    assert!(
        status_text.contains(&format!(
            "dead-letter topic {}: 0 records",
            scenario.names.dlq_topic
        )),
        "{status_text}"
    );

    // No panel may silently show "No data": every query of the dashboard returns series.
    for expr in dashboard_queries() {
        series(&expr).await;
    }
    // Every alert rule watches series that exist: each side of its `and`, threshold removed.
    for expr in alert_rule_queries() {
        series(&expr).await;
    }
    scenario.stop_all_cleanly();
}

fn dashboard_queries() -> Vec<String> {
    let text = std::fs::read_to_string(
        sluice_e2e::repo_root().join("docker/grafana/dashboards/sluice.json"),
    )
    .expect("dashboard");
    let dashboard: Value = serde_json::from_str(&text).expect("dashboard is JSON");
    let queries: Vec<String> = dashboard["panels"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|panel| panel["targets"].as_array().into_iter().flatten())
        .filter_map(|target| target["expr"].as_str().map(str::to_owned))
        .collect();
    assert!(
        queries.len() >= 10,
        "the dashboard has its queries: {queries:?}"
    );
    queries
}

/// `text` without the parentheses that wrap all of it, and without a leading `on (labels)`.
fn unwrapped(text: &str) -> &str {
    let mut text = text.trim();
    loop {
        if let Some(rest) = text.strip_prefix("on (") {
            text = rest.split_once(')').map_or(rest, |(_, after)| after).trim();
            continue;
        }
        let wrapped = text.starts_with('(')
            && text.ends_with(')')
            && closing_paren(text) == Some(text.len() - 1);
        if !wrapped {
            return text;
        }
        text = text[1..text.len() - 1].trim();
    }
}

/// Where the parenthesis that opens `text` closes.
fn closing_paren(text: &str) -> Option<usize> {
    let mut depth = 0;
    for (at, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(at);
                }
            }
            _ => {}
        }
    }
    None
}

/// The series each alert rule compares: `expr:` lines of the rules file, split at top-level
/// ` and `, each unwrapped of its parentheses and `on (…)` and with its trailing comparison
/// (`> 300`, `== 0`) removed.
fn alert_rule_queries() -> Vec<String> {
    let text =
        std::fs::read_to_string(sluice_e2e::repo_root().join("docker/prometheus/alerts.yml"))
            .expect("alert rules");
    let mut queries = Vec::new();
    for line in text.lines() {
        let Some(expr) = line.trim().strip_prefix("expr:") else {
            continue;
        };
        for part in expr.split(" and ") {
            let part = unwrapped(part);
            let cut = [" == ", " > ", " < ", " >= ", " <= ", " != "]
                .iter()
                .filter_map(|op| part.rfind(op))
                .max()
                .unwrap_or(part.len());
            queries.push(unwrapped(&part[..cut]).to_owned());
        }
    }
    assert_eq!(text.matches("- alert:").count(), 7, "seven alert rules");
    assert!(queries.len() >= 6, "{queries:?}");
    queries
}
