//! The alert rules fire in the stack's Prometheus, seen through its API: a consumer stopped
//! makes `SluiceProcessDown` fire for its address after the rule's minute, and rows the producer
//! has to dead-letter make `SluiceDeadLetters` fire.

use std::time::{Duration, Instant};

use serde_json::Value;
use sluice_e2e::prometheus::alerts;
use sluice_e2e::scenario::Scenario;
use sluice_e2e::wait::until_async;

/// The rule's `for: 1m`, plus scrapes (5 s) and evaluations (15 s).
const DOWN_FIRES_WITHIN: Duration = Duration::from_secs(150);
/// No `for`: a scrape and an evaluation.
const DEAD_LETTERS_FIRE_WITHIN: Duration = Duration::from_secs(90);

/// The alerts named `name` whose labels include `labels`.
async fn alerts_named(name: &str, labels: &[(&str, &str)]) -> Vec<Value> {
    alerts()
        .await
        .into_iter()
        .filter(|alert| alert["labels"]["alertname"] == name)
        .filter(|alert| {
            labels
                .iter()
                .all(|(label, value)| alert["labels"][*label] == *value)
        })
        .collect()
}

/// Waits until `done` holds of the alerts named `name` with `labels`; fails after `patience`.
async fn wait_for(
    name: &str,
    labels: &[(&str, &str)],
    patience: Duration,
    what: &str,
    done: impl Fn(&[Value]) -> bool,
) {
    let last_seen = std::sync::Mutex::new(Vec::new());
    until_async(
        &format!("{name} {labels:?} {what}"),
        patience,
        || async {
            let found = alerts_named(name, labels).await;
            let holds = done(&found);
            *last_seen.lock().expect("not poisoned") = found;
            holds.then_some(())
        },
        || {
            format!(
                "alerts seen last: {:?}",
                last_seen.lock().expect("not poisoned")
            )
        },
    )
    .await;
}

fn firing(alerts: &[Value]) -> bool {
    alerts.iter().any(|alert| alert["state"] == "firing")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_consumer_fires_process_down_and_dead_letters_fire_theirs() {
    let mut scenario = Scenario::new("alerts", 6).await;
    scenario.on_scraped_ports();
    scenario.insert_products(1..1001, None).await;
    scenario.start_consumers(3);
    scenario.start_producer();
    scenario.wait_caught_up(Duration::from_secs(120)).await;

    // Up and scraped, consumer-3 has no alert; stopped, it fires after the rule's minute.
    let instance = [
        ("alertname", "SluiceProcessDown"),
        ("instance", "127.0.0.1:9653"),
    ];
    wait_for(
        "SluiceProcessDown",
        &instance,
        Duration::from_secs(60),
        "cleared while consumer-3 runs",
        |alerts| alerts.is_empty(),
    )
    .await;
    let dead_letters_before = dead_letter_value().await;
    let code = scenario.stop_consumer(3);
    assert_eq!(code, Some(0), "consumer-3 stopped cleanly");
    let stopped = Instant::now();
    wait_for(
        "SluiceProcessDown",
        &instance,
        DOWN_FIRES_WITHIN,
        "firing",
        firing,
    )
    .await;
    let waited = stopped.elapsed();
    assert!(
        waited >= Duration::from_secs(55),
        "fired after {waited:?}, before the rule's minute"
    );
    eprintln!("SluiceProcessDown fired for consumer-3 {waited:?} after it stopped");

    // Rows without a name cannot be encoded: the producer dead-letters them.
    let table = &scenario.names.table;
    for id in 5001..5006 {
        sqlx::query(&format!(
            "INSERT INTO `{table}` (id, name, category, price) VALUES (?, NULL, 'books', 1.0)"
        ))
        .bind(id)
        .execute(&scenario.pool)
        .await
        .expect("insert a row without a name");
    }
    wait_for(
        "SluiceDeadLetters",
        &[],
        DEAD_LETTERS_FIRE_WITHIN,
        "firing with more dead letters than before",
        |alerts| {
            alerts
                .iter()
                .any(|alert| alert["state"] == "firing" && alert_value(alert) > dead_letters_before)
        },
    )
    .await;
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
}

/// The value of the dead-letter alert's expression (dead letters in the last 10 minutes), 0
/// when it is not active.
async fn dead_letter_value() -> f64 {
    alerts_named("SluiceDeadLetters", &[])
        .await
        .iter()
        .map(alert_value)
        .fold(0.0, f64::max)
}

fn alert_value(alert: &Value) -> f64 {
    alert["value"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}
