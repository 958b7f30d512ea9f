//! The stack's Prometheus as the tests read it: its query and alerts APIs.

use std::time::{Duration, Instant};

use serde_json::Value;

/// The stack's Prometheus (stack/config/prometheus.yml scrapes the producer on 9641 and
/// consumers on 9651 to 9655).
pub const URL: &str = "http://127.0.0.1:9090";

/// The series `promql` returns now.
pub async fn query(promql: &str) -> Vec<Value> {
    let url = reqwest::Url::parse_with_params(&format!("{URL}/api/v1/query"), [("query", promql)])
        .expect("query URL");
    let answer: Value = sluice_registry::http::get(url)
        .await
        .expect("Prometheus of the local stack (make up)")
        .json()
        .await
        .expect("JSON");
    answer["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Waits until `promql` returns series (Prometheus scrapes every 5 s); fails after 60 s.
pub async fn series(promql: &str) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let result = query(promql).await;
        if !result.is_empty() {
            return result;
        }
        assert!(
            Instant::now() < deadline,
            "no series for {promql} after 60 s"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The alerts Prometheus holds now, pending or firing.
pub async fn alerts() -> Vec<Value> {
    let answer: Value = sluice_registry::http::get(format!("{URL}/api/v1/alerts"))
        .await
        .expect("Prometheus of the local stack (make up)")
        .json()
        .await
        .expect("JSON");
    answer["data"]["alerts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}
