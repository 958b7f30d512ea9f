//! Watches the consumers' output files and notes each new line as it appears: the moment a
//! downstream reader could first see it, with the line's id, `last_updated` and the update
//! number its name ends with (` #N`, from `sluice-loadgen simulate`).

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// How often the files are looked at; the measurement error of each latency.
pub const LOOK_EVERY: Duration = Duration::from_millis(2);

/// A line as the watcher saw it appear.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seen {
    /// The product's id.
    pub id: i64,
    /// The update number its name ends with, if it has one.
    pub update: Option<u64>,
    /// Its `last_updated`.
    pub last_updated: DateTime<Utc>,
    /// When the watcher first saw it.
    pub at: DateTime<Utc>,
}

impl Seen {
    /// From its row's `last_updated` to the moment it was seen, in milliseconds.
    pub fn latency_ms(&self) -> f64 {
        (self.at - self.last_updated)
            .num_microseconds()
            .unwrap_or(0) as f64
            / 1000.0
    }
}

/// A background watcher of one output folder.
pub struct Tail {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Seen>>>,
    thread: JoinHandle<()>,
}

impl Tail {
    /// Starts watching `folder`; lines about rows updated before `since` are not timed.
    pub fn start(folder: PathBuf, since: DateTime<Utc>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (flag, lines) = (Arc::clone(&stop), Arc::clone(&seen));
        let thread = std::thread::spawn(move || watch(&folder, since, &flag, &lines));
        Self { stop, seen, thread }
    }

    /// Every line seen so far about a row updated since the start, in order seen.
    pub fn seen(&self) -> Vec<Seen> {
        copy_of(&self.seen)
    }

    /// Stops watching; every line seen about a row updated since the start, in order seen.
    pub fn finish(self) -> Vec<Seen> {
        self.stop.store(true, Ordering::SeqCst);
        let Tail { seen, thread, .. } = self;
        let _ = thread.join();
        copy_of(&seen)
    }
}

fn copy_of(seen: &Mutex<Vec<Seen>>) -> Vec<Seen> {
    seen.lock().map(|lines| lines.clone()).unwrap_or_default()
}

fn watch(
    folder: &std::path::Path,
    since: DateTime<Utc>,
    stop: &AtomicBool,
    seen_lines: &Mutex<Vec<Seen>>,
) {
    let mut files: HashMap<PathBuf, (File, Vec<u8>)> = HashMap::new();
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        // One last pass after the stop request picks up what was written just before it.
        let stopping = stop.load(Ordering::SeqCst);
        if let Ok(entries) = std::fs::read_dir(folder) {
            for entry in entries.flatten() {
                let path = entry.path();
                if !files.contains_key(&path) {
                    if let Ok(mut file) = File::open(&path) {
                        // Lines written before watching began are not ours to time.
                        let _ = file.seek(SeekFrom::End(0));
                        files.insert(path.clone(), (file, Vec::new()));
                    }
                }
            }
        }
        for (file, partial) in files.values_mut() {
            while let Ok(read) = file.read(&mut chunk) {
                if read == 0 {
                    break;
                }
                let seen = Utc::now();
                partial.extend_from_slice(&chunk[..read]);
                while let Some(end) = partial.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = partial.drain(..=end).collect();
                    if let Some(line) = parse(&line, seen).filter(|l| l.last_updated >= since) {
                        if let Ok(mut lines) = seen_lines.lock() {
                            lines.push(line);
                        }
                    }
                }
            }
        }
        if stopping {
            return;
        }
        std::thread::sleep(LOOK_EVERY);
    }
}

fn parse(line: &[u8], at: DateTime<Utc>) -> Option<Seen> {
    let value: serde_json::Value = serde_json::from_slice(line).ok()?;
    let text = value.get("last_updated")?.as_str()?;
    let last_updated = DateTime::parse_from_rfc3339(text).ok()?.to_utc();
    let update = value
        .get("name")
        .and_then(|name| name.as_str())
        .and_then(|name| name.rsplit_once(" #"))
        .and_then(|(_, n)| n.parse().ok());
    Some(Seen {
        id: value.get("id")?.as_i64()?,
        update,
        last_updated,
        at,
    })
}

/// The `q` quantile (0..=1) of `values` by nearest rank; `None` when empty.
pub fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    Some(values[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let mut values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&mut values, 0.5), Some(50.0));
        assert_eq!(quantile(&mut values, 0.99), Some(99.0));
        assert_eq!(quantile(&mut values, 1.0), Some(100.0));
        assert_eq!(quantile(&mut [], 0.5), None);
    }

    #[test]
    fn new_lines_are_timed_and_older_ones_ignored() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("consumer-1.jsonl");
        std::fs::write(
            &path,
            "{\"last_updated\":\"2020-01-01T00:00:00.000000Z\"}\n",
        )
        .expect("old line");
        let since = Utc::now();
        let tail = Tail::start(dir.path().to_path_buf(), since);
        std::thread::sleep(Duration::from_millis(50));
        let fresh = format!(
            "{{\"id\":1,\"name\":\"Lamp 1 #17\",\"last_updated\":\"{}\"}}\n{{\"id\":2,\"last_updated\":\"2020-01-01T00:00:00Z\"}}\n",
            Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ")
        );
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("open");
        std::io::Write::write_all(&mut file, fresh.as_bytes()).expect("append");
        std::thread::sleep(Duration::from_millis(50));
        let lines = tail.finish();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!((lines[0].id, lines[0].update), (1, Some(17)));
        let latency = lines[0].latency_ms();
        assert!((0.0..1000.0).contains(&latency), "{lines:?}");
    }
}
