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
    for service in ["mysql", "kafka", "schema-registry", "prometheus"] {
        assert!(
            services.lines().any(|s| s == service),
            "{service} missing: {services}"
        );
    }
    let resolved = compose(&["config"]);
    let resolved = String::from_utf8_lossy(&resolved.stdout);
    for port in ["3306", "9092", "8081", "9090"] {
        assert!(
            resolved.contains(&format!("- 127.0.0.1:{port}:{port}/tcp")),
            "port {port} must be published on 127.0.0.1 only:\n{resolved}"
        );
    }
}
