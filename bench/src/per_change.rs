//! Latency per change, not per line. Every update the load generator committed is timed from
//! its commit until the first line of its product that carries it or a later update of the
//! same product: a product updated again before the producer read it is published once, in its
//! latest state, and that line is the first a reader sees of the earlier update too. Timing
//! lines alone leaves out exactly those coalesced updates, which waited longest.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use crate::tail::Seen;

/// One committed update, as `sluice-loadgen simulate --journal` writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Update {
    /// Its number: the ` #N` its name ends with.
    pub number: u64,
    /// The product's id.
    pub id: i64,
    /// When its transaction's commit returned.
    pub committed: DateTime<Utc>,
}

/// Reads the journal: one `N id commit-time-µs` line per update.
pub fn read_journal(path: &Path) -> anyhow::Result<Vec<Update>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("the update journal {}", path.display()))?;
    text.lines()
        .enumerate()
        .map(|(n, line)| {
            let mut fields = line.split_whitespace();
            let mut next = |what: &str| {
                fields
                    .next()
                    .with_context(|| format!("{}:{}: no {what} in {line:?}", path.display(), n + 1))
            };
            let number = next("update number")?.parse()?;
            let id = next("id")?.parse()?;
            let micros: i64 = next("commit time")?.parse()?;
            let committed = DateTime::from_timestamp_micros(micros)
                .with_context(|| format!("{}:{}: bad time {micros}", path.display(), n + 1))?;
            Ok(Update {
                number,
                id,
                committed,
            })
        })
        .collect()
}

/// What the lines tell of the updates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PerChange {
    /// Updates committed.
    pub updates: usize,
    /// Updates whose first line carries a later update of the product.
    pub coalesced: usize,
    /// Updates no line carries (each one a change that never reached the files).
    pub unseen: usize,
    /// Each seen update's latency, in milliseconds.
    pub latencies_ms: Vec<f64>,
}

/// Times each update against the lines seen (in the order seen).
pub fn time_changes(updates: &[Update], lines: &[Seen]) -> PerChange {
    // Per product: the highest update number seen so far, and when, in the order seen.
    let mut seen_by_id: HashMap<i64, Vec<(u64, DateTime<Utc>)>> = HashMap::new();
    for line in lines {
        let Some(number) = line.update else {
            continue;
        };
        let seen = seen_by_id.entry(line.id).or_default();
        let highest = seen.last().map_or(number, |(n, _)| number.max(*n));
        seen.push((highest, line.at));
    }
    let mut outcome = PerChange {
        updates: updates.len(),
        ..PerChange::default()
    };
    for update in updates {
        let Some(seen) = seen_by_id.get(&update.id) else {
            outcome.unseen += 1;
            continue;
        };
        let first = seen.partition_point(|(highest, _)| *highest < update.number);
        let Some((carried, at)) = seen.get(first) else {
            outcome.unseen += 1;
            continue;
        };
        if *carried != update.number {
            outcome.coalesced += 1;
        }
        let waited = (*at - update.committed).num_microseconds().unwrap_or(0);
        outcome.latencies_ms.push(waited.max(0) as f64 / 1000.0);
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_700_000_000_000 + ms).expect("time")
    }

    fn line(id: i64, update: u64, seen_ms: i64) -> Seen {
        Seen {
            id,
            update: Some(update),
            last_updated: at(0),
            at: at(seen_ms),
        }
    }

    #[test]
    fn a_coalesced_update_is_timed_until_the_line_that_carries_a_later_one() {
        let updates = [
            Update {
                number: 1,
                id: 7,
                committed: at(0),
            },
            Update {
                number: 2,
                id: 8,
                committed: at(10),
            },
            // Updated again before it was read: only update 4 reaches the files.
            Update {
                number: 3,
                id: 7,
                committed: at(100),
            },
            Update {
                number: 4,
                id: 7,
                committed: at(300),
            },
            Update {
                number: 5,
                id: 9,
                committed: at(400),
            },
        ];
        let lines = [line(7, 1, 50), line(8, 2, 60), line(7, 4, 800)];
        let outcome = time_changes(&updates, &lines);
        assert_eq!(outcome.updates, 5);
        assert_eq!(outcome.coalesced, 1, "{outcome:?}");
        assert_eq!(outcome.unseen, 1, "update 5 never reached the files");
        assert_eq!(outcome.latencies_ms, [50.0, 50.0, 700.0, 500.0]);
    }

    #[test]
    fn the_journal_reads_back() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("updates.journal");
        std::fs::write(&path, "0 42 1700000000000000\n1 7 1700000000250000\n").expect("write");
        let updates = read_journal(&path).expect("journal");
        assert_eq!(
            updates,
            [
                Update {
                    number: 0,
                    id: 42,
                    committed: at(0)
                },
                Update {
                    number: 1,
                    id: 7,
                    committed: at(250)
                },
            ]
        );
        std::fs::write(&path, "0 42\n").expect("write");
        let error = read_journal(&path).expect_err("a line without its time");
        assert!(error.to_string().contains("no commit time"), "{error}");
    }
}
