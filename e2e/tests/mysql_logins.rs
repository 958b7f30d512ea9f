//! Logging in to MariaDB as a user would configure it: passwords arrive byte for byte from the
//! environment and from a file (the stack's users `sluice_zero` / `007` and `sluice_odd` /
//! `p#ss= w0rd "x"`), and a login no wait can fix (a wrong password, an unknown database, a
//! user granted nothing) stops the producer within seconds, naming the fix, instead of being
//! retried for ever like a server that is down.

use std::time::{Duration, Instant};

use sluice_e2e::scenario::Scenario;
use sluice_e2e::wait::STOPS_WITHIN;

/// The stack's users with passwords a loader could mangle (stack/env.sh).
const LOGINS: [(&str, &str); 2] = [("sluice_zero", "007"), ("sluice_odd", "p#ss= w0rd \"x\"")];

#[tokio::test(flavor = "multi_thread")]
async fn passwords_arrive_intact_from_the_environment_and_from_a_file() {
    let scenario = Scenario::new("logins", 6).await;
    for (user, password) in LOGINS {
        let by_variable = [
            ("SLUICE__MYSQL__USER", user),
            ("SLUICE__MYSQL__PASSWORD", password),
        ];
        let log = format!("{user}-variable.log");
        let code = scenario.run_to_end_with("sluice-producer", &["check"], &by_variable, &log);
        assert_eq!(code, Some(0), "{user} by variable:\n{}", scenario.log(&log));
        assert!(
            scenario.log(&log).contains("mysql"),
            "{}",
            scenario.log(&log)
        );

        // As a mounted Secret, or a file an editor saved with a final line break.
        let file = scenario.names.dir.join(format!("{user}.password"));
        std::fs::write(&file, format!("{password}\n")).expect("write the password");
        let file = file.display().to_string();
        let by_file = [
            ("SLUICE__MYSQL__USER", user),
            ("SLUICE__MYSQL__PASSWORD_FILE", file.as_str()),
        ];
        let log = format!("{user}-file.log");
        let code = scenario.run_to_end_with("sluice-producer", &["check"], &by_file, &log);
        assert_eq!(code, Some(0), "{user} by file:\n{}", scenario.log(&log));
    }
}

/// Runs the producer with `env` and asserts it stops within `STOPS_WITHIN`, non-zero, its
/// log holding each of `words`.
fn assert_producer_stops(scenario: &Scenario, env: &[(&str, &str)], log: &str, words: &[&str]) {
    let started = Instant::now();
    let code = scenario.run_to_end_with("sluice-producer", &["run"], env, log);
    let text = scenario.log(log);
    assert!(
        code.is_some_and(|code| code != 0),
        "the producer did not stop with an error (exit {code:?}):\n{text}"
    );
    assert!(
        started.elapsed() <= STOPS_WITHIN,
        "it took {:?}:\n{text}",
        started.elapsed()
    );
    for word in words {
        assert!(
            text.contains(word),
            "its log does not say `{word}`:\n{text}"
        );
    }
    println!("{}", text.lines().last().unwrap_or_default());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_login_no_wait_can_fix_stops_the_producer_naming_the_fix() {
    let scenario = Scenario::new("refused_logins", 6).await;
    assert_producer_stops(
        &scenario,
        &[("SLUICE__MYSQL__PASSWORD", "not-the-password")],
        "wrong-password.log",
        &["Access denied", "check mysql.user and mysql.password"],
    );
    assert_producer_stops(
        &scenario,
        &[("SLUICE__MYSQL__DATABASE", "no_such_database")],
        "unknown-database.log",
        // MariaDB tells a user without rights on it that it is denied, not that it is missing.
        &["no_such_database", "check mysql.database"],
    );
    assert_producer_stops(
        &scenario,
        &[
            ("SLUICE__MYSQL__USER", "sluice_bare"),
            ("SLUICE__MYSQL__PASSWORD", "sluice_bare"),
        ],
        "no-grant.log",
        &["GRANT SELECT ON `sluice`.* TO 'sluice_bare'"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grant_taken_away_while_it_runs_stops_the_producer_naming_it() {
    let mut scenario = Scenario::new("revoked_grant", 6).await;
    scenario.insert_products(1..101, None).await;
    let user = format!("sluice_rv{}", std::process::id());
    let account = format!("'{user}'@'127.0.0.1'");
    let table = format!("`sluice`.`{}`", scenario.names.table);
    sluice_e2e::mysql_admin(&format!(
        "DROP USER IF EXISTS {account}; CREATE USER {account} IDENTIFIED BY 'revoked-pw';
         GRANT SELECT ON {table} TO {account}; GRANT PROCESS ON *.* TO {account};
         GRANT SELECT ON performance_schema.* TO {account};"
    ));
    scenario.start_producer_with(&[
        ("SLUICE__MYSQL__USER", user.as_str()),
        ("SLUICE__MYSQL__PASSWORD", "revoked-pw"),
    ]);
    scenario.start_consumers(1);
    scenario.wait_caught_up(Duration::from_secs(120)).await;
    // A table's grant is checked at each statement: the producer's next page is refused.
    sluice_e2e::mysql_admin(&format!("REVOKE SELECT ON {table} FROM {account};"));
    scenario
        .update_products(&(1..101).collect::<Vec<_>>(), 2)
        .await;
    let started = Instant::now();
    let code = scenario.wait_for_producer_exit(Duration::from_secs(30));
    let log = scenario.log("producer.log");
    sluice_e2e::mysql_admin(&format!("DROP USER IF EXISTS {account};"));
    assert!(
        code.is_some_and(|code| code != 0),
        "the producer did not stop (exit {code:?}):\n{log}"
    );
    assert!(
        started.elapsed() <= STOPS_WITHIN,
        "it took {:?}:\n{log}",
        started.elapsed()
    );
    assert!(
        log.contains(&format!(
            "GRANT SELECT ON `sluice`.`{}` TO '{user}'",
            scenario.names.table
        )),
        "its log does not name the grant:\n{log}"
    );
    println!("{}", log.lines().last().unwrap_or_default());
}
