//! The secured stack (`make up SECURE=1`): Kafka's SASL_SSL listener (SCRAM users) and its SSL
//! listener that requires a client certificate, both behind ACLs, and MariaDB's user that may log
//! in over TLS only. Settings that point a scenario at them, and grants of exactly the ACLs
//! sluice lists for a scenario's settings (`sluice_common::acls`).

use std::path::PathBuf;

use sluice_common::acls::Acl;
use sluice_common::settings::Settings;

use crate::{kafka_tool, repo_root};

/// The SCRAM user of the secured listeners (stack/env.sh).
pub const SASL_USER: &str = "sluice";
/// Its password.
pub const SASL_PASSWORD: &str = "sluice-secret";
/// The principal of the stack's client certificate (CN=sluice-mtls).
pub const MTLS_PRINCIPAL: &str = "User:sluice-mtls";

fn plain_port() -> u16 {
    std::env::var("SLUICE_STACK_KAFKA_PORT")
        .ok()
        .and_then(|port| port.parse().ok())
        .unwrap_or(9092)
}

/// A file of the stack's certificates (`.stack/tls`): `ca.pem`, `client.pem`, `client.key`,
/// `untrusted-ca.pem`.
pub fn tls_file(name: &str) -> PathBuf {
    let state = std::env::var_os("SLUICE_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".stack"));
    state.join("tls").join(name)
}

/// Kafka over SASL_SSL with SCRAM-SHA-512, the brokers' certificate checked against `ca`.
pub fn sasl_ssl(ca: &str) -> Vec<String> {
    vec![
        format!("kafka.bootstrap_servers=127.0.0.1:{}", plain_port() + 2),
        "kafka.security_protocol=SASL_SSL".to_owned(),
        "kafka.sasl_mechanism=SCRAM-SHA-512".to_owned(),
        format!("kafka.sasl_username={SASL_USER}"),
        format!("kafka.sasl_password={SASL_PASSWORD}"),
        format!("kafka.ca_file={}", tls_file(ca).display()),
    ]
}

/// Kafka over SSL with the stack's client certificate (mTLS), no SASL.
pub fn mutual_tls() -> Vec<String> {
    vec![
        format!("kafka.bootstrap_servers=127.0.0.1:{}", plain_port() + 3),
        "kafka.security_protocol=SSL".to_owned(),
        format!("kafka.ca_file={}", tls_file("ca.pem").display()),
        format!(
            "kafka.certificate_file={}",
            tls_file("client.pem").display()
        ),
        format!("kafka.key_file={}", tls_file("client.key").display()),
    ]
}

/// MariaDB as the user created `REQUIRE SSL`, its certificate verified and naming the host.
pub fn mysql_verified_tls() -> Vec<String> {
    vec![
        "mysql.user=sluice_tls".to_owned(),
        "mysql.password=sluice_tls".to_owned(),
        "mysql.tls_mode=verify_identity".to_owned(),
        format!("mysql.ca_file={}", tls_file("ca.pem").display()),
    ]
}

/// Runs `kafka-acls` on the plain listener (a super user's) with `arguments`; fails the test
/// when it fails.
fn kafka_acls(arguments: &[String]) {
    let bootstrap = format!("127.0.0.1:{}", plain_port());
    let mut args = vec!["acls", "--bootstrap-server", bootstrap.as_str()];
    args.extend(arguments.iter().map(String::as_str));
    kafka_tool(&args);
}

/// Grants `principal` each of `acls`.
pub fn grant(principal: &str, acls: &[Acl]) {
    for acl in acls {
        kafka_acls(&acl.grant_arguments(principal));
    }
}

/// Takes `acl` back from `principal`.
pub fn revoke(principal: &str, acl: &Acl) {
    let mut arguments = acl.grant_arguments(principal);
    arguments[0] = "--remove".to_owned();
    arguments.push("--force".to_owned());
    kafka_acls(&arguments);
}

/// The ACLs a scenario's producer, members and `sluice-verify` need, each once.
pub fn pipeline_acls(settings: &Settings) -> Vec<Acl> {
    let mut all: Vec<Acl> = Vec::new();
    for acl in sluice_common::acls::producer(settings)
        .into_iter()
        .chain(sluice_common::acls::consumer(settings))
        .chain(sluice_common::acls::verify(settings))
    {
        if !all.contains(&acl) {
            all.push(acl);
        }
    }
    all
}
