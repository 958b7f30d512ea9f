//! What a user sees when `sluice-verify` cannot judge: a one-line cause and exit status 2,
//! never a verdict.

use std::process::Command;

fn verify(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sluice-verify"))
        .env_remove("SLUICE_CONFIG")
        .args(args)
        .output()
        .expect("run sluice-verify")
}

#[test]
fn a_missing_output_folder_is_named_and_exits_2() {
    let dir = tempfile::tempdir().expect("dir");
    let missing = dir.path().join("nowhere");
    let output = verify(&[
        "--output-dir",
        missing.to_str().expect("utf-8 path"),
        "--no-dead-letters",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot read the output folder") && stderr.contains("nowhere"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "no verdict is printed");
}

#[test]
fn an_unreachable_database_is_named_and_exits_2() {
    let dir = tempfile::tempdir().expect("dir");
    let output = verify(&[
        "--output-dir",
        dir.path().to_str().expect("utf-8 path"),
        "--no-dead-letters",
        "--set",
        "mysql.port=1",
        "--set",
        "mysql.connect_timeout_secs=2",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot connect to MySQL at 127.0.0.1:1"),
        "{stderr}"
    );
}
