//! `make test-cluster`: the pipeline on a three-broker Kafka cluster (`SLUICE_STACK_KAFKA_BROKERS=3`
//! `make up`), its topics created with three replicas and `min.insync.replicas` 2, while a
//! broker fails: the one leading the most partitions killed (`kill -9`) and started again, all
//! three restarted one after another, one down for 60 s. Updates flow throughout, and no
//! process is restarted by hand; `sluice-verify` judges the files: every row version once.
//!
//! The tests need the cluster, so they are ignored by a plain `cargo test`; `make test-cluster`
//! brings it up and runs them, and `make test` runs the first (`SLUICE_CLUSTER_SMOKE=1`, a
//! shorter load).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use sluice_e2e::load::{test_seed, Load};
use sluice_e2e::scenario::Scenario;
use sluice_e2e::wait::CATCH_UP;
use sluice_e2e::{service_pid, stack_ok};

const PRODUCTS: i32 = 10_000;
const BROKERS: [&str; 3] = ["kafka", "kafka2", "kafka3"];
const BOOTSTRAP: &str = "127.0.0.1:9092,127.0.0.1:9192,127.0.0.1:9292";

/// How long updates flow after a fault, before the pipeline is judged.
fn load_after_fault() -> Duration {
    if std::env::var_os("SLUICE_CLUSTER_SMOKE").is_some_and(|smoke| !smoke.is_empty()) {
        Duration::from_secs(5)
    } else {
        Duration::from_secs(20)
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the three-broker stack: run by `make test-cluster`"]
async fn the_broker_leading_the_most_partitions_killed_loses_nothing() {
    let mut run = ClusterRun::start("leader_killed").await;
    // The load runs a while before the fault: the scenario, as are the waits below (the load
    // under the fault, then after it).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let leaders = run.leaders();
    let busiest = leaders
        .iter()
        .max_by_key(|(_, partitions)| *partitions)
        .map(|(broker, _)| *broker)
        .expect("the topic has leaders");
    let service = BROKERS[busiest as usize - 1];
    println!("partition leaders by broker {leaders:?}: killing {service}");
    kill_broker(service);
    tokio::time::sleep(load_after_fault()).await;
    stack_ok(&["start", service]);
    tokio::time::sleep(load_after_fault()).await;
    run.judge().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the three-broker stack: run by `make test-cluster`"]
async fn a_rolling_restart_of_every_broker_loses_nothing() {
    let mut run = ClusterRun::start("rolling").await;
    for service in BROKERS {
        println!("restarting {service}");
        stack_ok(&["restart", service]);
        // A rolling restart's pace: the scenario.
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    tokio::time::sleep(load_after_fault()).await;
    run.judge().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the three-broker stack: run by `make test-cluster`"]
async fn a_broker_down_for_a_minute_stops_nothing() {
    let mut run = ClusterRun::start("one_down").await;
    stack_ok(&["stop", "kafka2"]);
    let stopped = Instant::now();
    let lines_before = run.scenario.lines().len();
    // A minute with a broker down: the scenario.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let lines_during = run.scenario.lines().len() - lines_before;
    println!("{lines_during} lines written in the minute kafka2 was down");
    assert!(
        lines_during >= 1_000,
        "the pipeline went on with two brokers of three (min.insync.replicas 2): only \
         {lines_during} lines in {:?}",
        stopped.elapsed()
    );
    stack_ok(&["start", "kafka2"]);
    run.judge().await;
}

/// A pipeline on the cluster with updates flowing.
struct ClusterRun {
    scenario: Scenario,
    load: Option<Load>,
    seed: u64,
}

impl ClusterRun {
    async fn start(tag: &str) -> Self {
        let seed = test_seed();
        println!("seed {seed}");
        let mut scenario = Scenario::new(tag, 6).await;
        scenario.with_setting(&format!("kafka.bootstrap_servers={BOOTSTRAP}"));
        let mut kafka = scenario.settings.kafka.clone();
        kafka.bootstrap_servers = BOOTSTRAP.to_owned();
        scenario.settings.kafka = kafka;
        scenario.insert_products(1..PRODUCTS + 1, None).await;
        scenario.start_consumers(3);
        scenario.start_producer();
        scenario.wait_caught_up(CATCH_UP).await;
        let load = Load::start(&scenario.pool, &scenario.names.table, PRODUCTS, seed);
        let run = Self {
            scenario,
            load: Some(load),
            seed,
        };
        run.assert_replicated();
        run
    }

    /// Every topic of the pipeline has three replicas and `min.insync.replicas` 2.
    fn assert_replicated(&self) {
        let names = &self.scenario.names;
        for topic in [&names.topic, &names.dlq_topic] {
            let described = sluice_e2e::kafka_tool(&[
                "topics",
                "--bootstrap-server",
                BOOTSTRAP,
                "--describe",
                "--topic",
                topic,
            ]);
            assert!(
                described.contains("ReplicationFactor: 3")
                    && described.contains("min.insync.replicas=2"),
                "topic {topic} is replicated:\n{described}"
            );
        }
    }

    /// How many partitions of the topic each broker leads.
    fn leaders(&self) -> BTreeMap<i32, usize> {
        let consumer: BaseConsumer =
            sluice_common::kafka::client_config(&self.scenario.settings.kafka)
                .create()
                .expect("a client");
        let metadata = consumer
            .fetch_metadata(Some(&self.scenario.names.topic), Duration::from_secs(10))
            .expect("metadata");
        let mut leaders = BTreeMap::new();
        for topic in metadata.topics() {
            for partition in topic.partitions() {
                *leaders.entry(partition.leader()).or_default() += 1;
            }
        }
        leaders
    }

    /// Stops the load, waits until the files hold the table, and has `sluice-verify` judge.
    async fn judge(&mut self) {
        let updates = match self.load.take() {
            Some(load) => load.stop().await,
            None => 0,
        };
        // Whatever a fault left stopped is up again.
        stack_ok(&["up"]);
        self.scenario.wait_caught_up(CATCH_UP).await;
        let codes = self.scenario.stop_all();
        assert!(
            codes.iter().all(|c| *c == Some(0)),
            "every process ran through the fault and stopped cleanly: {codes:?} (seed {})",
            self.seed
        );
        assert!(updates >= 2_000, "the load ran: {updates} updates");
        let (_, report) = self.scenario.verify();
        println!(
            "{updates} updates; sluice-verify: {} versions, missing {}, duplicate {}, torn {}",
            report["versions"],
            report["missing"]["count"],
            report["duplicate"]["count"],
            report["torn"]["count"]
        );
        self.scenario.assert_exactly_once(PRODUCTS as u64 + 1_000);
    }
}

fn kill_broker(service: &str) {
    let pid = service_pid(service).unwrap_or_else(|| panic!("{service} has no pid file"));
    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -9 {service} ({pid}): {status}");
}
