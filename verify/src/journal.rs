//! Every version, not only the latest: the load generator's journal of committed updates
//! (`sluice-loadgen simulate --journal`, one `N id commit-time` line per update, each update
//! leaving the product's name ending in ` #N`) against the lines. For a source that publishes
//! every committed change (the binlog source), each product's lines carrying an update number
//! must be its journaled updates from the first one seen on (the snapshot's version, or the
//! first change after it), each once, in commit order.
//!
//! A line whose number the journal lacks (an update whose commit the load generator did not see
//! answered, e.g. the server restarting under it) is counted apart and left out of the order.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use chrono::DateTime;
use serde::Deserialize;

use crate::line_hash::{hash_of, LinesDigest};
use crate::lines::Scan;
use crate::read_back::OutputChanged;
use crate::report::{Example, JournalReport};

/// The journal or a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// A file could not be read.
    #[error("reading {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A journal line is not `N id commit-time`.
    #[error("{}:{line}: not an update (`N id commit-time`): {text:?}", path.display())]
    Malformed {
        /// The journal.
        path: PathBuf,
        /// Its line number, from 1.
        line: usize,
        /// The line.
        text: String,
    },
    /// A file is no longer what was scanned.
    #[error(transparent)]
    Changed(#[from] OutputChanged),
}

/// Each product's journaled update numbers, in commit order.
pub fn read(path: &Path) -> Result<HashMap<i64, Vec<u64>>, JournalError> {
    let failed = |source| JournalError::Read {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(failed)?;
    let mut updates: HashMap<i64, Vec<u64>> = HashMap::new();
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(failed)?;
        let mut fields = line.split_whitespace();
        let parsed = (|| Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?)))();
        let Some((n, id)) = parsed else {
            return Err(JournalError::Malformed {
                path: path.to_owned(),
                line: index + 1,
                text: line,
            });
        };
        updates.entry(id).or_default().push(n);
    }
    // One product's updates are committed in the order of their numbers.
    for numbers in updates.values_mut() {
        numbers.sort_unstable();
    }
    Ok(updates)
}

/// A line carrying an update number: when it was written (its timestamp), where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Carried {
    /// Its timestamp, microseconds since the epoch.
    pub at: i64,
    /// Its file's index, then its byte offset: the order of lines of one timestamp.
    pub file: usize,
    /// Byte offset in the file.
    pub offset: u64,
    /// The update number its name ends with.
    pub update: u64,
}

#[derive(Deserialize)]
struct Line<'a> {
    id: Option<i64>,
    #[serde(borrow)]
    name: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    last_updated: Option<std::borrow::Cow<'a, str>>,
}

/// The update each line of the scanned files carries (a name ending in ` #N`), by product, for
/// the products in `wanted`. Reads each file's whole lines as scanned, and fails with
/// [`OutputChanged`] when they are no longer those lines.
pub fn carried(
    scan: &Scan,
    wanted: &HashMap<i64, Vec<u64>>,
) -> Result<HashMap<i64, Vec<Carried>>, JournalError> {
    let mut found: HashMap<i64, Vec<Carried>> = HashMap::new();
    for (file, path) in scan.files.iter().enumerate() {
        let failed = |source| JournalError::Read {
            path: path.clone(),
            source,
        };
        let scanned = &scan.digests[file];
        let opened = scan.reopen(file).map_err(failed)?;
        let mut reader = BufReader::new(opened.take(scanned.bytes()));
        let (mut offset, mut text) = (0u64, String::new());
        let mut digest = LinesDigest::default();
        loop {
            text.clear();
            let read = reader.read_line(&mut text).map_err(failed)?;
            if read == 0 {
                break;
            }
            let body = text.strip_suffix('\n').unwrap_or(&text);
            digest.add(hash_of(body.as_bytes()), read);
            if let Some((id, carried)) = carried_by(body, file, offset) {
                if wanted.contains_key(&id) {
                    found.entry(id).or_default().push(carried);
                }
            }
            offset += read as u64;
        }
        if !digest.same_as(scanned) {
            return Err(OutputChanged {
                file: path.clone(),
                what: "its lines differ from those scanned".into(),
            }
            .into());
        }
    }
    Ok(found)
}

fn carried_by(text: &str, file: usize, offset: u64) -> Option<(i64, Carried)> {
    let line: Line<'_> = serde_json::from_str(text).ok()?;
    let update = line.name?.rsplit_once(" #")?.1.parse().ok()?;
    let at = DateTime::parse_from_rfc3339(&line.last_updated?)
        .ok()?
        .timestamp_micros();
    Some((
        line.id?,
        Carried {
            at,
            file,
            offset,
            update,
        },
    ))
}

/// Judges each journaled product's lines against its updates.
pub fn judge(
    journal: &HashMap<i64, Vec<u64>>,
    mut carried: HashMap<i64, Vec<Carried>>,
) -> JournalReport {
    let mut report = JournalReport {
        committed: journal.values().map(|updates| updates.len() as u64).sum(),
        ..JournalReport::default()
    };
    let mut ids: Vec<&i64> = journal.keys().collect();
    ids.sort_unstable();
    for id in ids {
        let updates = &journal[id];
        let mut lines = carried.remove(id).unwrap_or_default();
        lines.sort_unstable();
        let journaled: HashSet<u64> = updates.iter().copied().collect();
        let (seen, unjournaled): (Vec<u64>, Vec<u64>) = lines
            .iter()
            .map(|line| line.update)
            .partition(|update| journaled.contains(update));
        report.unjournaled += unjournaled.len() as u64;
        report.seen += seen.len() as u64;
        judge_product(*id, updates, &seen, &mut report);
    }
    report
}

/// One product: `seen`, its lines' updates in line order, against `updates`, its journaled
/// ones in commit order.
fn judge_product(id: i64, updates: &[u64], seen: &[u64], report: &mut JournalReport) {
    let product = |what: String| Example::Product {
        id: id.into(),
        what,
    };
    let mut counted: HashMap<u64, u32> = HashMap::new();
    for update in seen {
        *counted.entry(*update).or_default() += 1;
    }
    let mut repeated: Vec<(&u64, &u32)> = counted.iter().filter(|(_, n)| **n > 1).collect();
    repeated.sort_unstable();
    for (update, times) in repeated {
        report
            .twice
            .add(product(format!("update #{update} in {times} lines")));
    }
    if let Some(pair) = seen.windows(2).find(|pair| pair[1] < pair[0]) {
        report.out_of_order.add(product(format!(
            "update #{} after #{} (lines in timestamp order)",
            pair[1], pair[0]
        )));
    }
    let first = seen.iter().min().copied();
    let from = match first {
        Some(first) => updates.partition_point(|update| *update < first),
        None => 0,
    };
    for update in &updates[from..] {
        if !counted.contains_key(update) {
            report
                .missing
                .add(product(format!("update #{update} is in no line")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(updates: &[u64]) -> Vec<Carried> {
        updates
            .iter()
            .enumerate()
            .map(|(i, update)| Carried {
                at: i as i64,
                file: 0,
                offset: i as u64,
                update: *update,
            })
            .collect()
    }

    fn judged(updates: &[u64], seen: &[u64]) -> JournalReport {
        let journal = HashMap::from([(7, updates.to_vec())]);
        judge(&journal, HashMap::from([(7, lines(seen))]))
    }

    #[test]
    fn every_update_from_the_first_seen_once_in_order_is_clean() {
        let report = judged(&[3, 8, 12, 20], &[8, 12, 20]);
        assert_eq!(report.violations(), 0, "{report:?}");
        assert_eq!((report.committed, report.seen), (4, 3));
        assert_eq!(judged(&[3, 8], &[3, 8]).violations(), 0);
    }

    #[test]
    fn a_gap_a_repeat_or_a_step_back_is_a_violation() {
        assert_eq!(judged(&[3, 8, 12, 20], &[3, 12, 20]).missing.count, 1);
        assert_eq!(judged(&[3, 8, 12, 20], &[3, 8, 12]).missing.count, 1);
        assert_eq!(judged(&[3, 8], &[]).missing.count, 2);
        assert_eq!(judged(&[3, 8, 12], &[3, 8, 8, 12]).twice.count, 1);
        assert_eq!(judged(&[3, 8, 12], &[3, 12, 8]).out_of_order.count, 1);
    }

    #[test]
    fn a_number_the_journal_lacks_is_counted_apart() {
        let report = judged(&[3, 8], &[3, 5, 8]);
        assert_eq!(report.violations(), 0, "{report:?}");
        assert_eq!(report.unjournaled, 1);
    }

    #[test]
    fn a_line_carries_the_number_its_name_ends_with() {
        let text = r#"{"id":42,"name":"Widget #17","last_updated":"2026-12-06T10:00:00.000001Z"}"#;
        let (id, carried) = carried_by(text, 2, 100).expect("carries an update");
        assert_eq!(
            (id, carried.update, carried.file, carried.offset),
            (42, 17, 2, 100)
        );
        assert_eq!(carried.at, 1_796_551_200_000_001);
        assert!(carried_by(r#"{"id":1,"name":"Item 1","last_updated":"x"}"#, 0, 0).is_none());
        assert!(carried_by(r#"{"id":1,"deleted":true}"#, 0, 0).is_none());
    }
}
