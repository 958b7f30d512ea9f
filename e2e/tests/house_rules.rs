//! Rules of the source tree that the compiler cannot hold, checked on the sources themselves (no
//! server needed):
//! - every counter, gauge and histogram a process serves is updated only from its crate's
//!   `events` module, so a log line and its metric cannot drift apart;
//! - no file of a product crate is longer than 400 lines before its tests.

use std::fs;
use std::path::{Path, PathBuf};

use sluice_e2e::repo_root;

/// The crates whose code runs in the product.
const PRODUCT_CRATES: [&str; 5] = ["common", "registry", "producer", "consumer", "verify"];

/// Where each crate keeps the handles of its metrics: `struct` fields of these types.
const METRIC_HOLDERS: [&str; 3] = [
    "producer/src/metrics.rs",
    "consumer/src/metrics.rs",
    "common/src/observe/process.rs",
];

const METRIC_TYPES: [&str; 8] = [
    "IntCounter",
    "IntCounterVec",
    "Gauge",
    "GaugeVec",
    "IntGauge",
    "IntGaugeVec",
    "Histogram",
    "HistogramVec",
];

/// Calls that change a metric, whatever handle they are made on.
const METRIC_ONLY_CALLS: [&str; 5] = [
    ".inc()",
    ".inc_by(",
    ".observe(",
    ".start_timer(",
    ".observe_duration(",
];

/// Calls that change a metric when made on one of the metric fields (`set` and `reset` are
/// other things' names too).
const FIELD_CALLS: [&str; 5] = [".set(", ".reset(", ".dec(", ".remove_label_values(", ".inc"];

fn rust_files(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![folder.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in fs::read_dir(&folder).expect("read a source folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The code before the file's unit tests, its method chains joined on one line
/// (`self.metrics\n    .lag\n    .set(x)` reads `self.metrics.lag.set(x)`), comments left out.
fn product_code(path: &Path) -> String {
    let text = fs::read_to_string(path).expect("read a source file");
    let before_tests = text.split("\n#[cfg(test)]").next().unwrap_or_default();
    let mut joined = String::new();
    for line in before_tests.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            continue;
        }
        if trimmed.starts_with('.') || trimmed.starts_with('?') {
            joined.push_str(trimmed);
        } else {
            joined.push('\n');
            joined.push_str(line);
        }
    }
    joined
}

/// The names of the metric fields the crates declare.
fn metric_fields(root: &Path) -> Vec<String> {
    let mut fields = Vec::new();
    for holder in METRIC_HOLDERS {
        let text = fs::read_to_string(root.join(holder)).expect("read a metrics file");
        for line in text.lines() {
            let line = line.trim().trim_start_matches("pub ");
            let Some((name, kind)) = line.split_once(": ") else {
                continue;
            };
            let kind = kind.trim_end_matches(',');
            let is_field = name.chars().all(|c| c.is_ascii_lowercase() || c == '_');
            if is_field && METRIC_TYPES.contains(&kind) {
                fields.push(name.to_owned());
            }
        }
    }
    fields
}

fn is_events_module(path: &Path) -> bool {
    path.file_name().is_some_and(|name| name == "events.rs")
        || path.components().any(|part| part.as_os_str() == "events")
}

#[test]
fn metrics_are_updated_only_by_events() {
    let root = repo_root();
    let fields = metric_fields(&root);
    assert!(
        fields.len() >= 20,
        "the metric fields were found in {METRIC_HOLDERS:?}: {fields:?}"
    );
    let mut breaches = Vec::new();
    for krate in PRODUCT_CRATES {
        for path in rust_files(&root.join(krate).join("src")) {
            // The events change metrics; the holders define and register them.
            let holder = METRIC_HOLDERS.iter().any(|holder| path.ends_with(holder));
            if is_events_module(&path) || holder {
                continue;
            }
            let code = product_code(&path);
            for (number, line) in code.lines().enumerate() {
                let by_call = METRIC_ONLY_CALLS.iter().find(|call| line.contains(*call));
                let by_field = fields.iter().find(|field| {
                    let labelled = line.contains(&format!(".{field}.with_label_values("))
                        && FIELD_CALLS
                            .iter()
                            .any(|call| line.contains(&format!("){call}")));
                    labelled
                        || FIELD_CALLS
                            .iter()
                            .any(|call| line.contains(&format!(".{field}{call}")))
                });
                if by_call.is_some() || by_field.is_some() {
                    breaches.push(format!(
                        "{} (statement {}): {}",
                        path.strip_prefix(&root).unwrap_or(&path).display(),
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        breaches.is_empty(),
        "metrics changed outside an events module (emit an event instead):\n{}",
        breaches.join("\n")
    );
}

#[test]
fn the_rule_catches_a_metric_changed_in_place() {
    let root = repo_root();
    let fields = metric_fields(&root);
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("loop.rs");
    fs::write(
        &path,
        "fn f(m: &M) {\n    m.metrics\n        .rows_read\n        .inc_by(3);\n}\n",
    )
    .expect("write");
    let code = product_code(&path);
    assert!(code.contains("m.metrics.rows_read.inc_by(3);"), "{code}");
    assert!(fields.iter().any(|f| f == "rows_read"), "{fields:?}");
}

#[test]
fn no_product_file_is_longer_than_400_lines_before_its_tests() {
    let root = repo_root();
    let mut long = Vec::new();
    for krate in PRODUCT_CRATES {
        for path in rust_files(&root.join(krate).join("src")) {
            let text = fs::read_to_string(&path).expect("read a source file");
            let lines = text
                .lines()
                .take_while(|line| !line.starts_with("#[cfg(test)]"))
                .count();
            if lines > 400 {
                long.push(format!(
                    "{}: {lines}",
                    path.strip_prefix(&root).unwrap_or(&path).display()
                ));
            }
        }
    }
    assert!(
        long.is_empty(),
        "files over 400 lines before their tests:\n{}",
        long.join("\n")
    );
}
