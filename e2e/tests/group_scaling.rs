//! Members come and go while updates flow: a group of 5 grows to 10, each member then owning
//! one of the topic's 10 partitions, and shrinks to 3. The five that join run as if on other
//! hosts: each in a folder holding only its config and its output, serving metrics on an
//! address of its own; `make status` (stack/pipeline-status) finds all ten through the group.
//! Partitions move between members at each step; `sluice-verify` judges the files of every
//! folder together: every row version once, nothing torn.

use std::collections::BTreeSet;
use std::time::Duration;

use sluice_e2e::load::{test_seed, Load};
use sluice_e2e::scenario::{tail, Scenario};
use sluice_e2e::wait::{self, until_async, CATCH_UP};

const PRODUCTS: i32 = 10_000;

#[tokio::test(flavor = "multi_thread")]
async fn a_group_grown_to_ten_and_shrunk_to_three_loses_and_repeats_nothing() {
    let seed = test_seed();
    eprintln!("seed {seed}");
    let mut scenario = Scenario::new("scaling", 6).await;
    scenario.insert_products(1..PRODUCTS + 1, None).await;
    scenario.start_consumers(5);
    scenario.start_producer();
    scenario.wait_caught_up(CATCH_UP).await;
    let load = Load::start(&scenario.pool, &scenario.names.table, PRODUCTS, seed);

    for member in 6..=10 {
        scenario.start_consumer_on_host(&format!("host-{member}"), &format!("127.0.0.{member}"));
    }
    // Ten members, ten partitions: one each.
    wait::until_async(
        "the partitions to spread over ten members",
        Duration::from_secs(60),
        || async {
            let mut owned = Vec::new();
            for member in 1..=10 {
                owned.push(assigned(&scenario, member).await);
            }
            owned.iter().all(|count| *count == Some(1)).then_some(())
        },
        || tail(&scenario.log("consumer-10.log"), 10),
    )
    .await;
    status_shows_every_member(&scenario, 10);
    for member in 6..=10 {
        let folder = scenario.dir.path().join(format!("hosts/host-{member}"));
        let mut held: Vec<String> = std::fs::read_dir(&folder)
            .expect("host folder")
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        held.sort();
        assert_eq!(held, ["out", "sluice.toml"], "what host-{member} holds");
    }
    let lines_at_ten = scenario.lines().len();
    // The ten members write on.
    wait::until(
        "lines written by the ten members",
        CATCH_UP,
        || (scenario.lines().len() > lines_at_ten).then_some(()),
        || scenario.log("consumer-10.log"),
    )
    .await;

    for member in (4..=10).rev() {
        let code = scenario.stop_consumer(member);
        assert_eq!(code, Some(0), "consumer-{member} stopped cleanly");
    }
    // The three left read on under the load.
    let lines_at_three = scenario.lines().len();
    load.wait_for(3_000).await;
    let updates = load.stop().await;
    scenario.wait_caught_up(CATCH_UP).await;
    let owned: Vec<_> = {
        let mut owned = Vec::new();
        for member in 1..=3 {
            owned.push(assigned(&scenario, member).await);
        }
        owned
    };
    assert_eq!(
        owned.iter().flatten().sum::<i64>(),
        10,
        "three members own every partition: {owned:?}"
    );
    // The lag gauge of each remaining member covers its own partitions alone: none of the
    // partitions it gave away while the group was larger (statistics come every 5 s).
    let last_seen = std::sync::Mutex::new(Vec::new());
    let lagging = until_async(
        "each member's lag samples to cover its own partitions alone",
        Duration::from_secs(20),
        || async {
            let mut lagging = Vec::new();
            for member in 1..=3 {
                let owned =
                    partitions_in(&scenario, member, "sluice_consumer_assigned_partitions").await;
                let lag = partitions_in(&scenario, member, "sluice_consumer_lag_records").await;
                lagging.push((member, owned, lag));
            }
            let exact = lagging.iter().all(|(_, owned, lag)| owned == lag);
            *last_seen.lock().expect("not poisoned") = lagging.clone();
            exact.then_some(lagging)
        },
        || {
            format!(
                "lag samples other than the owned partitions (member, owned, lag): {:?}",
                last_seen.lock().expect("not poisoned")
            )
        },
    )
    .await;
    let covered: usize = lagging.iter().map(|(_, owned, _)| owned.len()).sum();
    assert_eq!(covered, 10, "{lagging:?}");
    let codes = scenario.stop_all();
    assert!(codes.iter().all(|c| *c == Some(0)), "{codes:?}");
    assert!(updates >= 2_000, "the load ran: {updates} updates");
    assert!(
        scenario.lines().len() > lines_at_three,
        "lines were written after the group shrank"
    );
    scenario.assert_exactly_once(PRODUCTS as u64 + 1_000);
    eprintln!("{updates} updates through 5 → 10 → 3 members, every row version once");
}

/// Runs `stack/pipeline-status` as `make status` does, pointed at the scenario's group, and
/// checks that it lists members 1 to `count` as up at the metrics address each one logged
/// (members 6 and up on their own 127.0.0.N), their partitions together the topic's ten.
fn status_shows_every_member(scenario: &Scenario, count: usize) {
    let text = sluice_e2e::status::pipeline_status(scenario).text;
    eprintln!("{text}");
    let mut partitions = Vec::new();
    for member in 1..=count {
        let url = scenario
            .metrics_url(&format!("consumer-{member}.log"))
            .unwrap_or_else(|| panic!("consumer-{member} logged no metrics address"));
        if member > 5 {
            assert!(
                url.starts_with(&format!("http://127.0.0.{member}:")),
                "consumer-{member} serves on its own address: {url}"
            );
        }
        let line = text
            .lines()
            .find(|line| {
                let mut words = line.split_whitespace();
                words.next() == Some(&format!("consumer-{member}")[..])
                    && words.next() == Some(&url[..])
            })
            .unwrap_or_else(|| panic!("no line for consumer-{member} at {url}:\n{text}"));
        assert!(line.contains(" up "), "consumer-{member} up: {line}");
        let owned = line
            .split("partitions [")
            .nth(1)
            .and_then(|rest| rest.split(']').next())
            .unwrap_or_else(|| panic!("no partitions in {line}"));
        partitions.extend(
            owned
                .split(',')
                .filter(|p| !p.is_empty())
                .map(str::to_owned),
        );
    }
    partitions.sort_by_key(|p| p.parse::<u32>().unwrap_or(u32::MAX));
    let expected: Vec<String> = (0..10).map(|p| p.to_string()).collect();
    assert_eq!(partitions, expected, "the members' partitions:\n{text}");
    assert!(
        text.contains(&format!(
            "group {}: {count} members in Kafka",
            scenario.names.group
        )),
        "{text}"
    );
}

/// The `partition` labels of the samples of `family` that member `member` serves (for the
/// assignment gauge, those at 1).
async fn partitions_in(scenario: &Scenario, member: usize, family: &str) -> BTreeSet<u32> {
    let Some(url) = scenario.metrics_url(&format!("consumer-{member}.log")) else {
        return BTreeSet::new();
    };
    let Ok(response) = sluice_registry::http::get(format!("{url}/metrics")).await else {
        return BTreeSet::new();
    };
    let text = response.text().await.unwrap_or_default();
    text.lines()
        .filter(|line| line.starts_with(&format!("{family}{{")))
        .filter(|line| family != "sluice_consumer_assigned_partitions" || line.ends_with(" 1"))
        .filter_map(|line| {
            let rest = line.split("partition=\"").nth(1)?;
            rest.split('"').next()?.parse().ok()
        })
        .collect()
}

/// How many partitions member `member` says it owns (`sluice_consumer_assigned_partitions`).
async fn assigned(scenario: &Scenario, member: usize) -> Option<i64> {
    let log = format!("consumer-{member}.log");
    let owned = scenario
        .metric(&log, "sluice_consumer_assigned_partitions")
        .await?;
    Some(owned as i64)
}
