//! The pipeline on the secured stack (`make up SECURE=1`; `make test-secure` brings it up and
//! runs these): Kafka over SASL_SSL with SCRAM-SHA-512, or over mTLS, the principal holding
//! exactly the ACLs `sluice_common::acls` lists for the scenario and nothing more, and MariaDB
//! over TLS whose certificate is verified, as a user created `REQUIRE SSL`. `sluice-verify` runs
//! over the same connections; the producer and a member are killed (`kill -9`) once under load.
//! The binlog source's replication stream logs in over the same verified TLS.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sluice_common::acls::{Acl, Resource};
use sluice_e2e::load::{test_seed, Load};
use sluice_e2e::scenario::Scenario;
use sluice_e2e::secured::{self, MTLS_PRINCIPAL, SASL_USER};
use sluice_e2e::status::pipeline_status;
use sluice_e2e::versions::{failing, names_in_order};
use sluice_e2e::wait::CATCH_UP;
use sluice_e2e::wait::STOPS_WITHIN;

const PRODUCTS: i32 = 2_000;

static ONE_PIPELINE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Seconds of load: `SLUICE_SECURE_LOAD_SECONDS`, else 60.
fn load_seconds() -> u64 {
    std::env::var("SLUICE_SECURE_LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the secured stack: make test-secure"]
async fn over_sasl_ssl_with_only_its_acls_and_verified_mysql_tls_every_row_arrives_once() {
    let _serial = ONE_PIPELINE.lock().await;
    let mut scenario = Scenario::new("secure_sasl", 6).await;
    for setting in secured::sasl_ssl("ca.pem")
        .into_iter()
        .chain(secured::mysql_verified_tls())
    {
        scenario.with_setting(&setting);
    }
    let settings = scenario.settings_now();
    secured::grant(
        &format!("User:{SASL_USER}"),
        &secured::pipeline_acls(&settings),
    );
    scenario.insert_products(1..PRODUCTS + 1, None).await;
    scenario.start_producer();
    scenario.start_consumers(5);
    let load = Load::start(&scenario.pool, &scenario.names.table, PRODUCTS, test_seed());
    // Killed mid-transaction and started again, both sides log in anew and go on exactly once.
    let third = Duration::from_secs(load_seconds() / 3);
    tokio::time::sleep(third).await;
    scenario.kill_producer();
    scenario.kill_consumer(3);
    tokio::time::sleep(Duration::from_secs(2)).await;
    scenario.start_producer();
    scenario.restart_consumer(3, &[]);
    tokio::time::sleep(Duration::from_secs(load_seconds()) - third).await;
    let updates = load.stop().await;
    println!("{updates} updates under load over SASL_SSL, the producer and a member killed once");
    assert!(
        updates >= 1_000,
        "too few updates to mean something: {updates}"
    );
    scenario.wait_caught_up(CATCH_UP).await;
    assert_status_shows(&scenario, 5);
    scenario.stop_all_cleanly();
    scenario.assert_exactly_once(PRODUCTS as u64);
    // The listed ACLs are all it needs: no request of any process was refused.
    for log in [
        "producer.log",
        "consumer-1.log",
        "consumer-5.log",
        "verify.log",
    ] {
        let text = scenario.log(log);
        assert!(
            !text.contains("AuthorizationFailed"),
            "{log}: a request was refused:\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the secured stack: make test-secure"]
async fn over_mutual_tls_with_only_its_acls_every_row_arrives_once() {
    let _serial = ONE_PIPELINE.lock().await;
    let mut scenario = Scenario::new("secure_mtls", 6).await;
    for setting in secured::mutual_tls()
        .into_iter()
        .chain(secured::mysql_verified_tls())
    {
        scenario.with_setting(&setting);
    }
    let settings = scenario.settings_now();
    secured::grant(MTLS_PRINCIPAL, &secured::pipeline_acls(&settings));
    scenario.insert_products(1..501, None).await;
    scenario.start_producer();
    scenario.start_consumers(2);
    scenario.wait_caught_up(CATCH_UP).await;
    assert_status_shows(&scenario, 2);
    scenario.stop_all_cleanly();
    scenario.assert_exactly_once(500);
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the secured stack: make test-secure"]
async fn from_the_binlog_over_verified_mysql_tls_every_version_arrives_once() {
    let _serial = ONE_PIPELINE.lock().await;
    let mut scenario = Scenario::new("secure_binlog", 6).await;
    // The replication stream logs in as the TLS-only user, its certificate verified.
    for setting in secured::mutual_tls()
        .into_iter()
        .chain(secured::mysql_verified_tls())
    {
        scenario.with_setting(&setting);
    }
    scenario.with_setting("producer.source=binlog");
    let settings = scenario.settings_now();
    secured::grant(MTLS_PRINCIPAL, &secured::pipeline_acls(&settings));
    let table = scenario.names.table.clone();
    scenario.insert_products(1..501, None).await;
    scenario.start_producer();
    scenario.start_consumers(2);
    scenario.wait_caught_up(CATCH_UP).await;
    let mut versions: HashMap<i64, Vec<String>> = (1..=500)
        .map(|id| (id, vec![format!("Item {id}")]))
        .collect();
    for round in 1..=4 {
        sqlx::query(&format!(
            "UPDATE `{table}` SET name = CONCAT('r{round}-', id)"
        ))
        .execute(&scenario.pool)
        .await
        .expect("update");
        for (id, names) in versions.iter_mut() {
            names.push(format!("r{round}-{id}"));
        }
        if round == 2 {
            // Killed and started again: it logs in anew over TLS and goes on exactly once.
            scenario.kill_producer();
            scenario.start_producer();
        }
    }
    scenario.wait_until_verified(CATCH_UP).await;
    let seen = names_in_order(scenario.lines());
    let (count, examples) = failing(&seen, &versions, |seen, versions| seen == versions, 3);
    assert_eq!(count, 0, "each version once, in order: {examples:?}");
    scenario.stop_all_cleanly();
    scenario.assert_exactly_once(2_500);
}

/// `make status`, given the scenario's secured settings as a user gives them to the binaries,
/// reads the group and the dead-letter topic from Kafka over the same connection: `members`
/// members up holding the topic's ten partitions, and the producer up.
fn assert_status_shows(scenario: &Scenario, members: usize) {
    let status = pipeline_status(scenario);
    let text = &status.text;
    println!("{text}");
    assert!(
        text.contains(&format!(
            "group {}: {members} members in Kafka",
            scenario.names.group
        )),
        "{text}"
    );
    let lines = status.member_lines();
    assert_eq!(lines.len(), members, "{text}");
    assert!(lines.iter().all(|line| line.contains(" up ")), "{text}");
    assert_eq!(
        status.assigned_partitions(),
        (0..10).collect::<Vec<_>>(),
        "{text}"
    );
    assert!(text.contains("records produced "), "{text}");
    assert!(
        text.contains(&format!(
            "dead-letter topic {}: 0 records",
            scenario.names.dlq_topic
        )),
        "{text}"
    );
}

/// Runs `sluice-producer check` on a new scenario with `settings`; its exit code and log.
async fn check_with(settings: &[String], log: &str) -> (Option<i32>, String) {
    let mut scenario = Scenario::new("secure_check", 6).await;
    for setting in settings {
        scenario.with_setting(setting);
    }
    scenario.with_setting("kafka.request_timeout_secs=3");
    let code = scenario.run_to_end("sluice-producer", &["check"], log);
    (code, scenario.log(log))
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the secured stack: make test-secure"]
async fn check_names_an_untrusted_certificate_and_a_refused_login() {
    let (code, log) = check_with(&secured::sasl_ssl("untrusted-ca.pem"), "untrusted.log").await;
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains("kafka check failed") && log.contains("certificate verify failed"),
        "{log}"
    );

    let mut wrong_password = secured::sasl_ssl("ca.pem");
    wrong_password.push("kafka.sasl_password=not-the-password".to_owned());
    let (code, log) = check_with(&wrong_password, "login.log").await;
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains("SASL authentication error") && log.contains("SCRAM-SHA-512"),
        "{log}"
    );
}

/// A scenario on SASL_SSL whose principal holds every ACL the pipeline needs but those `left_out`
/// picks, and MariaDB over verified TLS.
async fn scenario_lacking(tag: &str, left_out: impl Fn(&Acl) -> bool) -> (Scenario, Vec<Acl>) {
    let scenario = secured_scenario(tag).await;
    let (lacking, granted): (Vec<Acl>, Vec<Acl>) = secured::pipeline_acls(&scenario.settings_now())
        .into_iter()
        .partition(|acl| left_out(acl));
    assert!(!lacking.is_empty(), "the test leaves out no ACL");
    secured::grant(&format!("User:{SASL_USER}"), &granted);
    (scenario, lacking)
}

/// A scenario on SASL_SSL and MariaDB over verified TLS, with 100 products, no ACL granted yet.
async fn secured_scenario(tag: &str) -> Scenario {
    let mut scenario = Scenario::new(tag, 6).await;
    for setting in secured::sasl_ssl("ca.pem")
        .into_iter()
        .chain(secured::mysql_verified_tls())
    {
        scenario.with_setting(&setting);
    }
    scenario.insert_products(1..101, None).await;
    scenario
}

/// Starts the producer and asserts it stops within `STOPS_WITHIN`, non-zero, its log naming `line`.
fn assert_producer_stops_naming(scenario: &mut Scenario, line: &str) {
    scenario.start_producer();
    let started = Instant::now();
    let code = scenario.wait_for_producer_exit(STOPS_WITHIN + Duration::from_secs(5));
    let log = scenario.log("producer.log");
    assert!(
        code.is_some_and(|code| code != 0),
        "the producer did not stop with an error (exit {code:?}):\n{log}"
    );
    assert!(
        started.elapsed() <= STOPS_WITHIN,
        "it took {:?}:\n{log}",
        started.elapsed()
    );
    assert!(log.contains(line), "its log does not name `{line}`:\n{log}");
}

/// Starts member 1 and asserts it stops within `STOPS_WITHIN`, non-zero, its log naming `line`.
fn assert_member_stops_naming(scenario: &mut Scenario, line: &str) {
    scenario.start_consumers(1);
    let started = Instant::now();
    let status = scenario.wait_for_consumer_exit(1, STOPS_WITHIN + Duration::from_secs(5));
    let log = scenario.log("consumer-1.log");
    assert!(
        status.is_some_and(|status| !status.success()),
        "the member did not stop with an error ({status:?}):\n{log}"
    );
    assert!(
        started.elapsed() <= STOPS_WITHIN,
        "it took {:?}:\n{log}",
        started.elapsed()
    );
    assert!(log.contains(line), "its log does not name `{line}`:\n{log}");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the secured stack: make test-secure"]
async fn without_its_acl_on_the_topic_each_process_stops_naming_it() {
    let _serial = ONE_PIPELINE.lock().await;
    let (mut scenario, lacking) = scenario_lacking("acl_topic", |acl| {
        acl.resource == Resource::Topic && acl.name.starts_with("e2e-") && !acl.name.contains('.')
    })
    .await;
    assert_eq!(
        lacking.len(),
        2,
        "the producer's and the members' ACL on the topic"
    );
    let topic = scenario.names.topic.clone();
    assert_producer_stops_naming(
        &mut scenario,
        &format!(
            "this principal needs TOPIC `{topic}`: Create, Describe, DescribeConfigs, Write, Read"
        ),
    );
    assert_member_stops_naming(
        &mut scenario,
        &format!("this principal needs TOPIC `{topic}`: Describe, Read"),
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the secured stack: make test-secure"]
async fn without_its_acl_on_the_transactional_id_each_process_stops_naming_it() {
    let _serial = ONE_PIPELINE.lock().await;
    let (mut scenario, _) =
        scenario_lacking("acl_txn", |acl| acl.resource == Resource::TransactionalId).await;
    let settings = scenario.settings_now();
    let producer_id = settings
        .producer
        .transactional_id_for(&settings.kafka.topic);
    assert_producer_stops_naming(
        &mut scenario,
        &format!("this principal needs TRANSACTIONAL_ID `{producer_id}`: Describe, Write"),
    );
    assert_member_stops_naming(
        &mut scenario,
        &format!(
            "this principal needs TRANSACTIONAL_ID `{}` (prefixed): Describe, Write",
            settings.consumer.transactional_id_prefix()
        ),
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the secured stack: make test-secure"]
async fn with_an_untrusted_ca_each_process_stops_naming_the_certificate() {
    let _serial = ONE_PIPELINE.lock().await;
    let mut scenario = Scenario::new("untrusted_run", 6).await;
    for setting in secured::sasl_ssl("untrusted-ca.pem")
        .into_iter()
        .chain(secured::mysql_verified_tls())
    {
        scenario.with_setting(&setting);
    }
    scenario.insert_products(1..101, None).await;
    assert_producer_stops_naming(&mut scenario, "certificate verify failed");
    assert_member_stops_naming(&mut scenario, "certificate verify failed");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the secured stack: make test-secure"]
async fn with_a_wrong_password_each_process_stops_naming_the_login() {
    let _serial = ONE_PIPELINE.lock().await;
    let mut scenario = Scenario::new("wrong_password_run", 6).await;
    for setting in secured::sasl_ssl("ca.pem")
        .into_iter()
        .chain(secured::mysql_verified_tls())
    {
        scenario.with_setting(&setting);
    }
    scenario.with_setting("kafka.sasl_password=not-the-password");
    scenario.insert_products(1..101, None).await;
    assert_producer_stops_naming(&mut scenario, "invalid credentials");
    assert_member_stops_naming(&mut scenario, "invalid credentials");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the secured stack: make test-secure"]
async fn with_its_write_acl_revoked_while_it_runs_the_producer_stops_naming_it() {
    let _serial = ONE_PIPELINE.lock().await;
    let mut scenario = secured_scenario("acl_revoked").await;
    let principal = format!("User:{SASL_USER}");
    secured::grant(
        &principal,
        &secured::pipeline_acls(&scenario.settings_now()),
    );
    scenario.start_producer();
    scenario.start_consumers(1);
    scenario.wait_caught_up(CATCH_UP).await;
    let settings = scenario.settings_now();
    let topic_acl = sluice_common::acls::producer(&settings)
        .into_iter()
        .find(|acl| acl.resource == Resource::Topic && acl.name == scenario.names.topic)
        .expect("the producer's ACL on the topic");
    secured::revoke(&principal, &topic_acl);
    // Rows changed after the revocation: publishing them is refused.
    scenario
        .update_products(&(1..101).collect::<Vec<_>>(), 2)
        .await;
    let started = Instant::now();
    let code = scenario.wait_for_producer_exit(Duration::from_secs(60));
    let log = scenario.log("producer.log");
    assert!(
        code.is_some_and(|code| code != 0),
        "the producer did not stop with an error (exit {code:?}):\n{log}"
    );
    println!(
        "the producer stopped {:?} after the rows changed: {}",
        started.elapsed(),
        log.lines().last().unwrap_or("")
    );
    assert!(
        log.contains(&format!(
            "this principal needs TOPIC `{}`",
            scenario.names.topic
        )) || log.contains(&format!("each of TOPIC `{}`", scenario.names.topic)),
        "its log does not name the topic's ACL:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the secured stack: make test-secure"]
async fn sluice_verify_without_its_acl_cannot_judge_and_names_it() {
    let _serial = ONE_PIPELINE.lock().await;
    let scenario = secured_scenario("verify_acl").await;
    // Its folder exists (empty: nothing ran), so that the topic is what it stops at.
    std::fs::create_dir_all(scenario.names.out_dir()).expect("the output folder");
    let code = scenario.run_to_end("sluice-verify", &[], "verify.log");
    let log = scenario.log("verify.log");
    assert_eq!(code, Some(2), "sluice-verify cannot judge:\n{log}");
    assert!(
        log.contains(&format!(
            "this principal needs TOPIC `{}`: Describe, Read",
            scenario.names.dlq_topic
        )),
        "its log does not name its ACL on the dead-letter topic:\n{log}"
    );
}
