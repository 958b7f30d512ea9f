//! The Kubernetes manifests (deploy/kubernetes) hold together without a cluster: every
//! resource validates strictly (no unknown field) against the Kubernetes schemas that
//! kubernetes-validate bundles, the kustomization lists every file, and the ConfigMap's
//! sluice.toml loads with sluice's own loader, its ports the ones the pods expose, probe and
//! scrape.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use sluice_common::settings::{load, Layers};
use sluice_e2e::repo_root;

/// The oldest Kubernetes release the manifests are meant for, and the newest the validator
/// knows.
const KUBERNETES_VERSIONS: [&str; 2] = ["1.29.0", "1.37.0"];

fn folder() -> PathBuf {
    repo_root().join("deploy/kubernetes")
}

/// The virtual environment `stack/sluice-stack test-deps` installs kubernetes-validate in.
fn venv() -> PathBuf {
    sluice_e2e::test_tool_venv("kubernetes-validate", "kubernetes-validate")
}

/// The resource files the kustomization lists.
fn resources() -> Vec<String> {
    let text = std::fs::read_to_string(folder().join("kustomization.yaml")).expect("kustomization");
    let listed: Vec<String> = text
        .lines()
        .skip_while(|line| line.trim() != "resources:")
        .skip(1)
        .take_while(|line| line.trim_start().starts_with("- "))
        .map(|line| line.trim_start().trim_start_matches("- ").trim().to_owned())
        .collect();
    assert!(
        listed.len() >= 5,
        "the kustomization lists its resources: {listed:?}"
    );
    listed
}

/// Every document of every resource file, as JSON (through PyYAML, which the validator brings).
fn documents() -> Vec<Value> {
    let script = "import json, sys, yaml\nprint(json.dumps([d for f in sys.argv[1:] for d in yaml.safe_load_all(open(f)) if d]))";
    let output = Command::new(venv().join("bin/python"))
        .arg("-c")
        .arg(script)
        .args(resources().iter().map(|file| folder().join(file)))
        .output()
        .expect("run python");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("documents as JSON")
}

fn find<'a>(documents: &'a [Value], kind: &str, name: &str) -> &'a Value {
    documents
        .iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

#[test]
fn every_manifest_validates_strictly_and_the_kustomization_lists_them_all() {
    let mut files: Vec<String> = std::fs::read_dir(folder())
        .expect("deploy/kubernetes")
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml") && name != "kustomization.yaml")
        .collect();
    files.sort();
    let mut listed = resources();
    listed.sort();
    assert_eq!(files, listed, "the kustomization lists every manifest");

    for version in KUBERNETES_VERSIONS {
        let output = Command::new(venv().join("bin/kubernetes-validate"))
            .args(["--strict", "--kubernetes-version", version])
            .args(listed.iter().map(|file| folder().join(file)))
            .output()
            .expect("run kubernetes-validate");
        let report = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "Kubernetes {version}:\n{report}");
        let passed = report
            .lines()
            .filter(|l| l.contains(" passed for resource "))
            .count();
        assert_eq!(
            passed,
            documents().len(),
            "every resource passed against {version}:\n{report}"
        );
        assert!(!report.contains("WARN"), "{report}");
    }
}

#[test]
fn the_config_map_loads_with_sluice_and_matches_the_pods() {
    let documents = documents();
    let config_map = find(&documents, "ConfigMap", "sluice-config");
    let toml = config_map["data"]["sluice.toml"]
        .as_str()
        .expect("sluice.toml in the ConfigMap");
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("sluice.toml");
    std::fs::write(&path, toml).expect("write");

    // As a consumer pod sees it: its name is the member, the secret's files mounted (here
    // written into the temporary folder and pointed at by the variables that move them).
    let consumer = find(&documents, "StatefulSet", "sluice-consumer");
    let secret = find(&documents, "Secret", "sluice-passwords");
    let mut environment: HashMap<String, String> = HashMap::from([(
        "SLUICE__CONSUMER__MEMBER".into(),
        "sluice-consumer-0".into(),
    )]);
    let passwords_mount = mount(consumer, "passwords");
    for (key, variable) in [
        ("mysql-password", "SLUICE__MYSQL__PASSWORD_FILE"),
        ("kafka-sasl-password", "SLUICE__KAFKA__SASL_PASSWORD_FILE"),
        ("registry-password", "SLUICE__REGISTRY__PASSWORD_FILE"),
    ] {
        let named = format!("{passwords_mount}/{key}");
        assert!(
            toml.contains(&format!("\"{named}\"")),
            "the ConfigMap names the mounted {named}"
        );
        let file = dir.path().join(key);
        let value = secret["stringData"][key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} in the Secret"));
        std::fs::write(&file, value).expect("write");
        environment.insert(variable.into(), file.display().to_string());
    }
    let settings = load(&Layers {
        file: Some(path.clone()),
        environment: Some(environment),
        overrides: Vec::new(),
    })
    .unwrap_or_else(|e| panic!("the ConfigMap's sluice.toml does not load: {e}"));
    assert_eq!(settings.consumer.member, "sluice-consumer-0");
    assert_eq!(settings.mysql.password, "change-me", "read from its file");
    assert!(settings.producer.standby && settings.producer.exactly_once);
    assert_eq!(settings.metrics.host, "0.0.0.0");

    // Each pod exposes, probes and is scraped on the port its process serves on.
    let producer = find(&documents, "Deployment", "sluice-producer");
    for (workload, port) in [
        (producer, settings.metrics.producer_port),
        (consumer, settings.metrics.consumer_port),
    ] {
        let template = &workload["spec"]["template"];
        let container = &template["spec"]["containers"][0];
        assert_eq!(container["ports"][0]["containerPort"], port, "{workload:#}");
        assert_eq!(
            template["metadata"]["annotations"]["prometheus.io/port"],
            port.to_string()
        );
        assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/health");
        assert_eq!(
            container["livenessProbe"]["httpGet"]["path"],
            "/health/live"
        );
        assert_eq!(
            container["env"][0],
            serde_json::json!({"name": "SLUICE_CONFIG", "value": "/etc/sluice/sluice.toml"})
        );
        assert_eq!(template["spec"]["securityContext"]["runAsNonRoot"], true);
    }
    assert_eq!(
        producer["spec"]["replicas"], 2,
        "an active and a standby producer"
    );
    assert_eq!(
        consumer["spec"]["template"]["spec"]["containers"][0]["env"][1]["valueFrom"]["fieldRef"]
            ["fieldPath"],
        "metadata.name",
        "the pod's name is the member's"
    );
    let output_mount = mount(consumer, "output");
    assert!(
        settings.consumer.output_dir.starts_with(&output_mount),
        "the output folder {} is on the volume claim {output_mount}",
        settings.consumer.output_dir
    );
    for budget in ["sluice-consumer", "sluice-producer"] {
        find(&documents, "PodDisruptionBudget", budget);
    }
}

/// Where the first container of `workload` mounts the volume `name`.
fn mount(workload: &serde_json::Value, name: &str) -> String {
    workload["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|mount| mount["name"] == name)
        .and_then(|mount| mount["mountPath"].as_str())
        .unwrap_or_else(|| panic!("no volume {name} mounted in {workload:#}"))
        .to_owned()
}
