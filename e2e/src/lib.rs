//! Helpers the end-to-end tests share: where the repository is, how to drive the stack the way
//! a user does (`stack/sluice-stack`), and [`scenario::Scenario`], a pipeline under test.

pub mod check_report;
pub mod churn;
pub mod console_page;
pub mod expected;
pub mod journaled_load;
pub mod load;
pub mod murmur2;
pub mod process;
pub mod product_table;
pub mod prometheus;
pub mod query_plan;
pub mod record_headers;
pub mod scenario;
pub mod secured;
pub mod settings_reference;
pub mod status;
pub mod versions;
pub mod wait;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root, where the Makefile and the stack scripts live.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// The virtual environment `stack/sluice-stack test-deps` (run by `make test`) installs the
/// PyPI tool `name` in, under the stack's download cache; fails the test when `program` is not
/// in it.
pub fn test_tool_venv(name: &str, program: &str) -> PathBuf {
    let cache = std::env::var_os("SLUICE_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("sluice")))
        .or_else(|| std::env::var_os("HOME").map(|d| PathBuf::from(d).join(".cache/sluice")))
        .expect("a cache folder");
    let venv = cache.join(name);
    assert!(
        venv.join("bin").join(program).exists(),
        "{name} is missing from {}: run stack/sluice-stack test-deps (make test does)",
        venv.display()
    );
    venv
}

/// Runs `stack/sluice-stack <args>` from the repository root and returns what it printed.
pub fn stack(args: &[&str]) -> Output {
    let root = repo_root();
    Command::new(root.join("stack/sluice-stack"))
        .args(args)
        .current_dir(&root)
        .output()
        .unwrap_or_else(|e| panic!("cannot run stack/sluice-stack {args:?}: {e}"))
}

/// Runs `sql` as MariaDB's root (`stack/sluice-stack mysql-admin`): grants, users and what
/// else the stack's own users may not do. Fails the test when it fails.
pub fn mysql_admin(sql: &str) {
    use std::io::Write;
    let mut child = Command::new(repo_root().join("stack/sluice-stack"))
        .arg("mysql-admin")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("run stack/sluice-stack mysql-admin");
    child
        .stdin
        .take()
        .expect("its stdin")
        .write_all(sql.as_bytes())
        .expect("write the statements");
    let status = child.wait().expect("wait for it");
    assert!(status.success(), "mysql-admin failed ({status}): {sql}");
}

/// Like [`stack`], but fails the test with everything the script printed when it fails.
pub fn stack_ok(args: &[&str]) -> String {
    let output = stack(args);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "stack/sluice-stack {args:?} failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Runs one of Kafka's tools (`stack/kafka-tool`) and returns its standard output; fails the
/// test with everything the tool printed when it fails.
pub fn kafka_tool(args: &[&str]) -> String {
    let root = repo_root();
    let output = Command::new(root.join("stack/kafka-tool"))
        .args(args)
        .current_dir(&root)
        .output()
        .unwrap_or_else(|e| panic!("cannot run stack/kafka-tool {args:?}: {e}"));
    assert!(
        output.status.success(),
        "stack/kafka-tool {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The pid of each stack service, as its pid file records it.
pub fn service_pids() -> BTreeMap<String, String> {
    let run = std::env::var_os("SLUICE_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".stack"))
        .join("run");
    ["mariadb", "kafka", "registry", "prometheus"]
        .iter()
        .map(|service| {
            let pid = std::fs::read_to_string(run.join(format!("{service}.pid")))
                .unwrap_or_default()
                .trim()
                .to_owned();
            (service.to_string(), pid)
        })
        .collect()
}

/// The pid of one stack service (`kafka2`, …) as its pid file records it, if it has one.
pub fn service_pid(service: &str) -> Option<u32> {
    let run = std::env::var_os("SLUICE_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".stack"))
        .join("run");
    std::fs::read_to_string(run.join(format!("{service}.pid")))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// A name no earlier run used, for topics, subjects and rows a test creates.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{prefix}-{}-{nanos}", std::process::id())
}
