//! Reading a quantile of the consumers' end-to-end latency histogram back from Prometheus, over
//! exactly the window of a measurement, to check it against what the benchmark saw itself.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

const HISTOGRAM: &str =
    "sluice_consumer_end_to_end_latency_seconds_bucket{job=\"sluice-consumer\"}";

/// The `q` quantile in milliseconds of what the consumers observed between `from` and `to`:
/// the bucket counts at `to` minus those at `from`, so nothing observed before counts.
pub async fn latency_quantile_ms(
    prometheus: &str,
    q: f64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> anyhow::Result<f64> {
    let window = (to - from).num_milliseconds().max(1);
    let query = format!(
        "histogram_quantile({q}, sum by (le) ({HISTOGRAM}) - sum by (le) ({HISTOGRAM} offset {window}ms))"
    );
    let url = reqwest::Url::parse_with_params(
        &format!("{prometheus}/api/v1/query"),
        &[
            ("query", query.as_str()),
            (
                "time",
                &format!("{:.3}", to.timestamp_millis() as f64 / 1000.0),
            ),
        ],
    )?;
    let answer: serde_json::Value = sluice_registry::http::get(url.clone())
        .await
        .with_context(|| format!("Prometheus at {prometheus} (make up starts it)"))?
        .json()
        .await?;
    let value = answer["data"]["result"][0]["value"][1]
        .as_str()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .with_context(|| format!("no latency quantile from Prometheus for {query}: {answer}"))?;
    Ok(value * 1000.0)
}
