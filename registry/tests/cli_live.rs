//! `sluice-registry` against the live registry of the local stack (`make up`), as a user types it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice-registry"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .env_remove("SLUICE_CONFIG")
        .output()
        .expect("run sluice-registry")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn unique_subject(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("cli-{tag}-{}-{nanos}-value", std::process::id())
}

/// A schema file in a temp folder, from the v1 product schema with one field's JSON replaced.
fn variant(dir: &Path, name: &str, from: &str, to: &str) -> PathBuf {
    let v1 = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/product.avsc"),
    )
    .expect("v1 schema");
    assert!(v1.contains(from), "{from} not in v1");
    let path = dir.join(name);
    std::fs::write(&path, v1.replace(from, to)).expect("write variant");
    path
}

#[test]
fn register_show_versions_and_subjects() {
    let subject = unique_subject("basic");
    let first = cli(&["register", "schemas/product.avsc", "--subject", &subject]);
    assert!(first.status.success(), "{first:?}");
    assert!(
        stdout(&first).contains(&format!("under {subject}: schema id ")),
        "{}",
        stdout(&first)
    );

    let again = cli(&[
        "--json",
        "register",
        "schemas/product.avsc",
        "--subject",
        &subject,
    ]);
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).expect("json");
    let v2 = cli(&[
        "--json",
        "register",
        "schemas/product.v2.avsc",
        "--subject",
        &subject,
    ]);
    assert!(v2.status.success(), "v2 is a compatible evolution: {v2:?}");
    let v2: serde_json::Value = serde_json::from_slice(&v2.stdout).expect("json");
    assert_ne!(v2["id"], again["id"]);

    assert_eq!(stdout(&cli(&["versions", &subject])).trim(), "1\n2");
    let versions: Vec<u32> =
        serde_json::from_slice(&cli(&["--json", "versions", &subject]).stdout).expect("json");
    assert_eq!(versions, [1, 2]);

    let latest: serde_json::Value =
        serde_json::from_slice(&cli(&["--json", "show", &subject]).stdout).expect("json");
    assert_eq!(latest["version"], 2);
    assert_eq!(latest["id"], v2["id"]);
    assert!(latest["schema"]
        .as_str()
        .expect("schema")
        .contains("\"stock\""));
    let first_version = stdout(&cli(&["show", &subject, "1"]));
    assert!(
        first_version.starts_with(&format!(
            "subject {subject} version 1 (schema id {})",
            again["id"]
        )),
        "{first_version}"
    );
    assert!(!first_version.contains("stock"));

    let subjects: Vec<String> =
        serde_json::from_slice(&cli(&["--json", "subjects"]).stdout).expect("json");
    assert!(subjects.contains(&subject));
}

#[test]
fn check_says_yes_to_a_compatible_schema_and_why_not_to_others() {
    let dir = tempfile::tempdir().expect("dir");
    let subject = unique_subject("check");
    assert!(
        cli(&["register", "schemas/product.avsc", "--subject", &subject])
            .status
            .success()
    );

    let ok = cli(&["check", "schemas/product.v2.avsc", "--subject", &subject]);
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");
    assert!(stdout(&ok).starts_with("compatible:"));

    let type_changed = variant(
        dir.path(),
        "price-as-string.avsc",
        r#""name": "price", "type": "float""#,
        r#""name": "price", "type": "string""#,
    );
    let refused = cli(&[
        "check",
        &type_changed.to_string_lossy(),
        "--subject",
        &subject,
    ]);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(
        stdout(&refused).contains("INCOMPATIBLE"),
        "{}",
        stdout(&refused)
    );
    assert!(
        stdout(&refused).contains("price"),
        "names the field: {}",
        stdout(&refused)
    );

    let added_without_default = variant(
        dir.path(),
        "stock-without-default.avsc",
        r#"{"name": "last_updated", "type": "string"}"#,
        r#"{"name": "last_updated", "type": "string"}, {"name": "stock", "type": "int"}"#,
    );
    let refused = cli(&[
        "--json",
        "check",
        &added_without_default.to_string_lossy(),
        "--subject",
        &subject,
    ]);
    assert_eq!(refused.status.code(), Some(1));
    let verdict: serde_json::Value = serde_json::from_slice(&refused.stdout).expect("json");
    assert_eq!(verdict["compatible"], false);
    assert!(
        verdict["reasons"][0]
            .as_str()
            .expect("reason")
            .contains("stock"),
        "{verdict}"
    );

    let register = cli(&[
        "register",
        &type_changed.to_string_lossy(),
        "--subject",
        &subject,
    ]);
    assert_eq!(register.status.code(), Some(1));
    assert!(
        stdout(&register).starts_with("REFUSED:"),
        "{}",
        stdout(&register)
    );
}

#[test]
fn compat_get_and_set_a_subject_level() {
    let dir = tempfile::tempdir().expect("dir");
    let subject = unique_subject("compat");
    assert!(
        cli(&["register", "schemas/product.avsc", "--subject", &subject])
            .status
            .success()
    );
    let set = cli(&["compat", "set", "full", "--subject", &subject]);
    assert!(set.status.success(), "{set:?}");
    let got: serde_json::Value =
        serde_json::from_slice(&cli(&["--json", "compat", "get", "--subject", &subject]).stdout)
            .expect("json");
    assert_eq!(got["compatibility"], "FULL");
    assert_eq!(got["from"], "subject");

    // Under FULL, removing a field that has no default breaks existing readers.
    let removed = variant(
        dir.path(),
        "no-category.avsc",
        r#"{"name": "category", "type": "string"},"#,
        "",
    );
    let refused = cli(&["check", &removed.to_string_lossy(), "--subject", &subject]);
    assert_eq!(refused.status.code(), Some(1), "{}", stdout(&refused));

    let bad_level = cli(&["compat", "set", "sideways", "--subject", &subject]);
    assert_eq!(bad_level.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_level.stderr).contains("unknown compatibility level"));
}

#[test]
fn the_default_subject_follows_the_configured_topic() {
    let topic = unique_subject("topic")
        .trim_end_matches("-value")
        .to_owned();
    let output = cli(&[
        "--set",
        &format!("kafka.topic={topic}"),
        "register",
        "schemas/product.avsc",
    ]);
    assert!(
        stdout(&output).contains(&format!("under {topic}-value")),
        "{output:?}"
    );
}
