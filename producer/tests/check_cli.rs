//! `sluice-producer check` as a user runs it: a bad configuration or an unreachable server ends
//! with one line on stderr that names the cause, and a non-zero exit.

use std::process::{Command, Output};

/// Runs `sluice-producer` from the repository root, where a user runs it: the shipped
/// `sluice.toml` and the schema file it names are there.
fn producer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice-producer"))
        .current_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .args(args)
        .env_remove("SLUICE_CONFIG")
        .output()
        .expect("run sluice-producer")
}

fn one_line_error(output: &Output) -> String {
    assert!(!output.status.success(), "must fail: {output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr)
        .trim_end()
        .to_owned();
    assert_eq!(stderr.lines().count(), 1, "one line, got: {stderr}");
    stderr
}

#[test]
fn unknown_key_in_a_file_names_key_and_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[kafka]\ntopik = \"x\"\n").expect("write config");
    let path = file.to_string_lossy().into_owned();
    let error = one_line_error(&producer(&["--config", &path, "check"]));
    assert!(error.contains("`kafka.topik`"), "{error}");
    assert!(error.contains("bad.toml"), "{error}");
}

#[test]
fn invalid_value_names_the_key() {
    let error = one_line_error(&producer(&["check", "--set", "mysql.port=not-a-port"]));
    assert!(error.contains("mysql.port"), "{error}");
}

#[test]
fn unreachable_mariadb_names_address_and_reason() {
    let error = one_line_error(&producer(&["check", "--set", "mysql.port=1"]));
    assert!(error.contains("127.0.0.1:1"), "{error}");
    assert!(error.contains("Connection refused"), "{error}");
}

#[test]
fn missing_table_is_named() {
    let error = one_line_error(&producer(&["check", "--set", "mysql.table=no_such_table"]));
    assert!(
        error.contains("`sluice.no_such_table` does not exist"),
        "{error}"
    );
}

#[test]
fn healthy_stack_passes_every_check() {
    let output = producer(&["check"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    for service in ["mysql", "kafka", "registry"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(service) && l.contains(" ok ")),
            "{service} not ok in:\n{stdout}"
        );
    }
}
