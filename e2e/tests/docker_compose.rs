//! The Docker stack cannot run here (no engine), but its file must stay valid: Debian's
//! `docker-compose config` parses and resolves it without an engine.

use std::process::Command;

use sluice_e2e::repo_root;

fn compose(args: &[&str]) -> std::process::Output {
    let root = repo_root();
    Command::new("docker-compose")
        .arg("-f")
        .arg(root.join("docker/docker-compose.yml"))
        .args(args)
        .output()
        .expect("docker-compose must be installed (`make test` installs it)")
}

#[test]
fn compose_file_is_valid() {
    let output = compose(&["config", "-q"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn compose_file_has_every_service_on_loopback_ports() {
    let services = compose(&["config", "--services"]);
    let services = String::from_utf8_lossy(&services.stdout);
    for service in [
        "mysql",
        "kafka",
        "schema-registry",
        "producer",
        "consumer-1",
        "consumer-5",
        "prometheus",
        "grafana",
    ] {
        assert!(
            services.lines().any(|s| s == service),
            "{service} missing: {services}"
        );
    }
    let resolved = compose(&["config"]);
    let resolved = String::from_utf8_lossy(&resolved.stdout);
    for port in ["3306", "9092", "8081", "9090", "3000"] {
        assert!(
            resolved.contains(&format!("- 127.0.0.1:{port}:{port}/tcp")),
            "port {port} must be published on 127.0.0.1 only:\n{resolved}"
        );
    }
}

/// Grafana gets its data source and the dashboard from the files in `docker/grafana`.
#[test]
fn grafana_is_provisioned_with_the_dashboard_and_prometheus() {
    let resolved = compose(&["config"]);
    let resolved = String::from_utf8_lossy(&resolved.stdout);
    assert!(
        resolved.contains("grafana/provisioning:/etc/grafana/provisioning"),
        "{resolved}"
    );
    assert!(
        resolved.contains("grafana/dashboards:/var/lib/grafana/dashboards"),
        "{resolved}"
    );
    let root = repo_root();
    let datasource = std::fs::read_to_string(
        root.join("docker/grafana/provisioning/datasources/prometheus.yml"),
    )
    .expect("data source");
    // The dashboard's `datasource` variable offers this one first: a Prometheus, the default.
    assert!(
        datasource.contains("type: prometheus")
            && datasource.contains("isDefault: true")
            && datasource.contains("http://prometheus:9090")
    );
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("docker/grafana/dashboards/sluice.json"))
            .expect("dashboard"),
    )
    .expect("dashboard is JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels
        .iter()
        .all(|p| p["datasource"]["uid"] == "${datasource}"
            && p["targets"].as_array().is_some_and(|t| !t.is_empty())));
}

/// The text of `service`'s block in the resolved compose file: its name's line and the lines
/// indented under it.
fn service_block<'a>(resolved: &'a str, service: &str) -> &'a str {
    let header = format!("\n  {service}:\n");
    let start = resolved
        .find(&header)
        .unwrap_or_else(|| panic!("service {service} missing:\n{resolved}"))
        + 1;
    let body = start + header.len() - 1;
    let mut end = resolved.len();
    let mut offset = body;
    for line in resolved[body..].split_inclusive('\n') {
        if !line.starts_with("   ") {
            end = offset;
            break;
        }
        offset += line.len();
    }
    &resolved[start..end]
}

/// The tables come from the stack's migrations, applied by `sluice-migrate` from the image (the
/// command the native stack and the tests run) once MySQL answers, and the producer starts only
/// after it succeeded. MySQL's first start grants the producer what it needs to see open
/// transactions, as the native stack does: without them it reads with only the commit lag for
/// protection.
#[test]
fn migrations_run_before_the_producer_and_mysql_gets_the_transaction_grants() {
    let resolved = compose(&["config"]);
    let resolved = String::from_utf8_lossy(&resolved.stdout);
    let migrate = service_block(&resolved, "migrate");
    assert!(migrate.contains("- sluice-migrate"), "{migrate}");
    assert!(
        migrate.contains("mysql:\n        condition: service_healthy"),
        "{migrate}"
    );
    let producer = service_block(&resolved, "producer");
    assert!(
        producer.contains("migrate:\n        condition: service_completed_successfully"),
        "{producer}"
    );
    let build = std::fs::read_to_string(repo_root().join("stack/build-image")).expect("script");
    assert!(
        build
            .lines()
            .any(|line| line.starts_with("BINARIES=") && line.contains("sluice-migrate")),
        "the image carries sluice-migrate:\n{build}"
    );
    assert!(
        resolved.contains("docker/mysql/initdb.d:/docker-entrypoint-initdb.d:ro"),
        "{resolved}"
    );
    let init = repo_root().join("docker/mysql/initdb.d");
    // The grants script renders the shared grants file for the image's user on any host, as
    // the entrypoint (MYSQL_USER set, the stack's sql folder mounted) runs it.
    assert!(
        resolved.contains("stack/sql:/sluice/sql:ro"),
        "the shared grants are mounted:\n{resolved}"
    );
    let grants_script = init.join("20-grants.sh");
    let script = std::fs::read_to_string(&grants_script).expect("grants script");
    let rendered = Command::new("bash")
        .arg("-c")
        .arg(
            script
                .replace(
                    "/sluice/sql/",
                    &format!("{}/stack/sql/", repo_root().display()),
                )
                .replace("| docker_process_sql", ""),
        )
        .env("MYSQL_USER", "sluice")
        .output()
        .expect("bash");
    assert!(
        rendered.status.success(),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let grants = String::from_utf8_lossy(&rendered.stdout).into_owned();
    for grant in [
        "GRANT PROCESS ON *.* TO 'sluice'@'%';",
        "GRANT SELECT ON performance_schema.* TO 'sluice'@'%';",
    ] {
        assert!(grants.contains(grant), "{grant} missing:\n{grants}");
    }
    assert!(
        resolved.contains("MYSQL_USER: sluice"),
        "the grants name the compose file's MySQL user:\n{resolved}"
    );
}

/// The pipeline runs from the sluice image (`make image`), each process pointed at the compose
/// services, each consumer its own member, their files on a volume.
#[test]
fn the_pipeline_runs_from_the_sluice_image_against_the_compose_services() {
    let resolved = compose(&["config"]);
    let resolved = String::from_utf8_lossy(&resolved.stdout);
    assert_eq!(
        resolved.matches("image: localhost/sluice:latest").count(),
        7,
        "the migrations, the producer and five consumers use the image:\n{resolved}"
    );
    // The migrations need only MySQL.
    for (setting, users) in [
        ("SLUICE__MYSQL__HOST: mysql", 7),
        ("SLUICE__KAFKA__BOOTSTRAP_SERVERS: kafka:19092", 6),
        ("SLUICE__REGISTRY__URL: http://schema-registry:8081", 6),
    ] {
        assert_eq!(
            resolved.matches(setting).count(),
            users,
            "{setting}:\n{resolved}"
        );
    }
    for member in 1..=5 {
        assert!(
            resolved.contains(&format!(
                "- sluice-consumer\n      - --member\n      - '{member}'"
            )) || resolved.contains(&format!(
                "- sluice-consumer\n    - --member\n    - '{member}'"
            )),
            "consumer-{member} runs as member {member}:\n{resolved}"
        );
    }
}
