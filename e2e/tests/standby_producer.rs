//! A standby producer (`producer.standby`): two producers of one pipeline, one publishing and
//! one waiting. The active one killed (`kill -9`), the standby takes over within 10 s; the
//! active one paused (`SIGSTOP`) past the lock's session timeout, the other takes over, and the
//! paused one, resumed, is fenced and stops. Updates flow throughout; `sluice-verify` judges
//! the files: every row version once.

use std::time::{Duration, Instant};

use sluice_e2e::load::{test_seed, Load};
use sluice_e2e::scenario::{tail, Scenario};
use sluice_e2e::wait::CATCH_UP;

const PRODUCTS: i32 = 10_000;
/// How soon a standby must take over from a producer killed.
const TAKE_OVER: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread")]
async fn a_standby_takes_over_and_a_producer_that_comes_back_is_fenced() {
    let seed = test_seed();
    eprintln!("seed {seed}");
    let mut scenario = Scenario::new("standby", 6).await;
    scenario.with_setting("producer.standby=true");
    scenario.insert_products(1..PRODUCTS + 1, None).await;
    scenario.start_consumers(3);
    scenario.start_producer();
    scenario
        .wait_for_log("producer.log", "active:", 1, CATCH_UP)
        .await;
    let mut second = scenario.spawn_producer("second-producer.log");
    scenario
        .wait_for_log("second-producer.log", "standing by", 1, CATCH_UP)
        .await;
    // The first holds on: the second waits. A window in which nothing may happen, so a
    // sleep: no condition marks its end.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        !scenario.log("second-producer.log").contains("active:"),
        "two producers active at once:\n{}",
        scenario.log("second-producer.log")
    );
    assert_eq!(
        active_gauge(&scenario, "second-producer.log").await,
        Some(0.0)
    );
    assert_eq!(active_gauge(&scenario, "producer.log").await, Some(1.0));
    // Standing by is the standby's work: it answers ready, as the active one does (a
    // Kubernetes rollout of the two completes), and both are live.
    for log in ["producer.log", "second-producer.log"] {
        for (path, answer) in [("/health", "ready"), ("/health/live", "live")] {
            assert_eq!(
                health(&scenario, log, path).await,
                Some((200, answer.to_owned())),
                "{log} {path}"
            );
        }
    }
    let load = Load::start(&scenario.pool, &scenario.names.table, PRODUCTS, seed);
    load.wait_for(1_000).await;

    // The active producer killed: the standby takes over.
    scenario.kill_producer();
    let killed = Instant::now();
    scenario
        .wait_for_log("second-producer.log", "active:", 1, TAKE_OVER * 3)
        .await;
    let took = killed.elapsed();
    eprintln!("the standby took over {took:?} after the kill");
    assert!(took <= TAKE_OVER, "took over after {took:?}");
    assert_eq!(
        active_gauge(&scenario, "second-producer.log").await,
        Some(1.0)
    );

    // The first comes back as the standby; the second, paused past the session timeout, loses
    // the lock to it, and once resumed finds itself fenced and stops.
    scenario.start_producer();
    scenario
        .wait_for_log("producer.log", "standing by", 2, CATCH_UP)
        .await;
    // The new standby has joined the lock's group by the time the load has moved on.
    load.wait_for(2_000).await;
    second
        .signal("STOP")
        .expect("kill -STOP the second producer");
    let paused = Instant::now();
    scenario
        .wait_for_log("producer.log", "active:", 2, TAKE_OVER * 3)
        .await;
    eprintln!(
        "the standby took over {:?} after the pause",
        paused.elapsed()
    );
    // The paused one stays paused a while after the take-over, as a real stall would.
    tokio::time::sleep(Duration::from_secs(3)).await;
    second
        .signal("CONT")
        .expect("kill -CONT the second producer");
    let code = second.exit_code_within(CATCH_UP);
    let second_log = scenario.log("second-producer.log");
    assert!(
        code.is_some_and(|code| code != 0),
        "the producer that lost its turn stops, with an error ({code:?}):\n{}",
        tail(&second_log, 20)
    );
    assert!(
        second_log.contains("another producer took over publishing"),
        "and says why:\n{}",
        tail(&second_log, 20)
    );

    let updates = load.stop().await;
    scenario.wait_caught_up(CATCH_UP).await;
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
    assert!(updates >= 2_000, "the load ran: {updates} updates");
    scenario.assert_exactly_once(PRODUCTS as u64 + 2_000);
    eprintln!("{updates} updates, every row version once");
}

/// The status and body of `path` served by the process logging to `log`.
async fn health(scenario: &Scenario, log: &str, path: &str) -> Option<(u16, String)> {
    let url = scenario.metrics_url(log)?;
    let response = sluice_registry::http::get(format!("{url}{path}"))
        .await
        .ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().await.ok()?.trim().to_owned()))
}

/// The `sluice_producer_active` gauge of the producer logging to `log`.
async fn active_gauge(scenario: &Scenario, log: &str) -> Option<f64> {
    scenario.metric(log, "sluice_producer_active").await
}
