//! The judgement itself, kept apart from files and servers so that every verdict is tested on
//! made-up input. The versions are sorted by product, then time; the rows arrive in key order;
//! one pass over both finds what is missing, wrong or extra. A product's latest line says what
//! it is now: a row's latest version, or, for a product with no row, a delete line.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::expected::{same_value, Expectation};
use crate::key_order::KeyOrder;
use crate::lines::{Torn, Version};
use crate::read_back::ReadBackError;
use crate::report::{Example, Report};
use crate::VerifyError;

/// Walks the table's rows against the lines' versions.
pub struct Judge<'a> {
    versions: Vec<Version>,
    next: usize,
    expectation: &'a Expectation,
    dead_letter_keys: &'a HashSet<Vec<u8>>,
    keys: KeyOrder,
    key: String,
    timestamp: String,
    /// The column marking a row deleted (soft deletes), when there is one.
    deleted_column: Option<String>,
    report: Report,
}

impl<'a> Judge<'a> {
    /// Starts from every version read (their keys numbered by `keys`), the torn lines, and the
    /// dead letters' record keys.
    pub fn new(
        mut versions: Vec<Version>,
        torn: &[Torn],
        expectation: &'a Expectation,
        dead_letter_keys: &'a HashSet<Vec<u8>>,
        keys: KeyOrder,
        key: &str,
        timestamp: &str,
    ) -> Self {
        let mut report = Report::default();
        for line in torn {
            report.torn.add(Example::Line {
                file: line.file.display().to_string(),
                line: line.line,
                what: line.reason.clone(),
            });
        }
        versions.sort_unstable_by_key(|v| (v.id, v.at, v.hash, v.file, v.offset));
        find_repeats(&versions, &keys, &mut report);
        find_backward(&versions, &keys, &mut report);
        Self {
            versions,
            next: 0,
            expectation,
            dead_letter_keys,
            keys,
            key: key.to_owned(),
            timestamp: timestamp.to_owned(),
            deleted_column: None,
            report,
        }
    }

    /// Rows marked deleted in `column` (a number not 0, anything else not null) must have a
    /// delete line, at their timestamp, as their latest line.
    pub fn soft_deleted_by(mut self, column: Option<&str>) -> Self {
        self.deleted_column = column.map(str::to_owned);
        self
    }

    /// Whether `row` is marked deleted.
    fn marked_deleted(&self, row: &Map<String, Value>) -> bool {
        let Some(column) = &self.deleted_column else {
            return false;
        };
        match row.get(column) {
            None | Some(Value::Null) | Some(Value::Bool(false)) => false,
            Some(Value::Number(n)) => n.as_f64() != Some(0.0),
            Some(_) => true,
        }
    }

    /// Judges one row (rows come in key order); `read_line` reads a version's line back.
    pub fn row(
        &mut self,
        row: &Map<String, Value>,
        read_line: impl FnOnce(&Version) -> Result<Value, ReadBackError>,
    ) -> Result<(), VerifyError> {
        self.report.rows += 1;
        let key = row
            .get(&self.key)
            .ok_or_else(|| VerifyError::RowWithoutKey {
                key: self.key.clone(),
            })?;
        let id = self
            .keys
            .row_key(key)
            .map_err(|_| VerifyError::RowWithoutKey {
                key: self.key.clone(),
            })?;
        let shown = key.clone();
        let at = row.get(&self.timestamp).and_then(Value::as_str);
        // Versions of products with no row, before this one.
        while self.next < self.versions.len() && self.versions[self.next].id < id {
            self.without_row();
        }
        let start = self.next;
        self.skip_product(id);
        let Some(latest) = self.versions[start..self.next].last().copied() else {
            self.missing(&shown, "no line at all");
            return Ok(());
        };
        let Some(at) = at.and_then(|at| crate::lines::micros_of(at).ok()) else {
            self.report.wrong.add(Example::Product {
                id: shown.clone(),
                what: format!("the row's `{}` cannot be read", self.timestamp),
            });
            return Ok(());
        };
        if latest.at < at {
            self.missing(&shown, "its latest version has no line (older ones do)");
            return Ok(());
        }
        match (latest.deleted, self.marked_deleted(row)) {
            (true, true) => {
                self.report.deleted.add(Example::Product {
                    id: shown.clone(),
                    what: "marked deleted".into(),
                });
                return Ok(());
            }
            (true, false) => {
                self.report.wrong.add(Example::Product {
                    id: shown.clone(),
                    what: "its latest line is a delete, but the row is in the table".into(),
                });
                return Ok(());
            }
            (false, true) => {
                self.report.wrong.add(Example::Product {
                    id: shown.clone(),
                    what: "the row is marked deleted, but its latest line is no delete".into(),
                });
                return Ok(());
            }
            (false, false) => {}
        }
        if latest.at > at {
            self.report.wrong.add(Example::Product {
                id: shown.clone(),
                what: "a line is newer than the row".into(),
            });
            return Ok(());
        }
        let line = read_line(&latest)?;
        let expected = self.expectation.line_of(row);
        if let Some(difference) = difference(&line, &expected, self.expectation.absent()) {
            self.report.wrong.add(Example::Product {
                id: shown.clone(),
                what: difference,
            });
        }
        Ok(())
    }

    /// The report, once every row has been judged.
    pub fn finish(mut self) -> Report {
        while self.next < self.versions.len() {
            self.without_row();
        }
        self.report.versions = self.versions.len() as u64;
        self.report
    }

    /// The product of the next version has no row: its latest line must be a delete.
    fn without_row(&mut self) {
        let id = self.versions[self.next].id;
        let start = self.next;
        self.skip_product(id);
        let example = |what: &str| Example::Product {
            id: self.keys.show(id),
            what: what.to_owned(),
        };
        match self.versions[start..self.next].last() {
            Some(latest) if latest.deleted => self.report.deleted.add(example("deleted")),
            _ => self.report.not_in_table.add(example(
                "lines, but no row in the table and no delete as its latest line",
            )),
        }
    }

    fn skip_product(&mut self, id: i64) {
        while self.next < self.versions.len() && self.versions[self.next].id == id {
            self.next += 1;
        }
    }

    fn missing(&mut self, key: &Value, what: &str) {
        let example = Example::Product {
            id: key.clone(),
            what: what.to_owned(),
        };
        let record_key = self.keys.record_key(key);
        if record_key.is_some_and(|k| self.dead_letter_keys.contains(&k)) {
            self.report.dead_lettered.add(example);
        } else {
            self.report.missing.add(example);
        }
    }
}

/// The same line more than once (a duplicate), or two different lines for one version.
fn find_repeats(sorted: &[Version], keys: &KeyOrder, report: &mut Report) {
    for pair in sorted.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if (a.id, a.at) != (b.id, b.at) {
            continue;
        }
        let example = Example::Product {
            id: keys.show(a.id),
            what: format!("version {} µs", a.at),
        };
        if a.hash == b.hash {
            report.duplicate.add(example);
        } else {
            report.conflicting.add(example);
        }
    }
}

/// Within one file, a product's later line carrying an earlier time.
fn find_backward(sorted: &[Version], keys: &KeyOrder, report: &mut Report) {
    let mut start = 0;
    while start < sorted.len() {
        let id = sorted[start].id;
        let end = start + sorted[start..].partition_point(|v| v.id == id);
        let mut product: Vec<&Version> = sorted[start..end].iter().collect();
        product.sort_unstable_by_key(|v| (v.file, v.offset));
        for pair in product.windows(2) {
            if pair[0].stream == pair[1].stream && pair[1].at < pair[0].at {
                report.backward.add(Example::Product {
                    id: keys.show(id),
                    what: format!("{} µs after {} µs", pair[1].at, pair[0].at),
                });
            }
        }
        start = end;
    }
}

/// The first field of `expected` the line lacks or holds differently.
fn difference(line: &Value, expected: &Map<String, Value>, absent: &[String]) -> Option<String> {
    let Value::Object(line) = line else {
        return Some("the line is not an object".into());
    };
    if let Some(name) = absent.iter().find(|name| line.contains_key(name.as_str())) {
        return Some(format!(
            "`{name}` is in the line, though a step drops or renames it"
        ));
    }
    for (name, value) in line {
        // A field the table lacks comes from the reader schema's default.
        let Some(want) = expected.get(name) else {
            continue;
        };
        if !same_value(value, want) {
            return Some(format!("`{name}` is {value}, the row says {want}"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const T1: &str = "2026-12-01T10:00:00.000001Z";
    const T2: &str = "2026-12-01T10:00:02.000000Z";

    fn signed() -> KeyOrder {
        KeyOrder::new(crate::key_order::KeyType::Signed)
    }

    /// A judge of `versions` (no torn line), keys `id`, timestamps `last_updated`.
    fn judge<'a>(
        versions: Vec<Version>,
        expectation: &'a Expectation,
        keys: &'a HashSet<Vec<u8>>,
    ) -> Judge<'a> {
        Judge::new(
            versions,
            &[],
            expectation,
            keys,
            signed(),
            "id",
            "last_updated",
        )
    }

    fn micros(at: &str) -> i64 {
        crate::lines::micros_of(at).expect("time")
    }

    fn version(id: i64, at: &str, hash: u64, file: u32, offset: u64) -> Version {
        Version {
            id,
            at: micros(at),
            hash,
            file,
            stream: file,
            offset,
            len: 0,
            deleted: false,
        }
    }

    fn delete(id: i64, at: &str, file: u32, offset: u64) -> Version {
        Version {
            deleted: true,
            ..version(id, at, 1000 + id as u64, file, offset)
        }
    }

    fn row(id: i64, at: &str, price: f64) -> Map<String, Value> {
        match json!({"id": id, "name": "n", "category": "books", "price": price, "last_updated": at})
        {
            Value::Object(map) => map,
            _ => unreachable!("an object"),
        }
    }

    /// `category` upper-cased and, with `discount`, 10 % off books.
    fn shop_steps(discount: bool) -> Expectation {
        let mut transform = sluice_common::settings::TransformSettings::product_example();
        transform.steps[1].equals = Some("books".into());
        if !discount {
            transform.steps.truncate(1);
        }
        Expectation::new(&transform, "id", "last_updated").expect("valid steps")
    }

    fn line(id: i64, at: &str, price: f64) -> Value {
        json!({"id": id, "name": "n", "category": "BOOKS", "price": price, "last_updated": at})
    }

    #[test]
    fn a_line_holding_a_field_a_step_drops_is_wrong() {
        let mut transform = sluice_common::settings::TransformSettings::product_example();
        transform.steps.truncate(1);
        transform
            .steps
            .push(sluice_common::settings::TransformStepSettings {
                op: sluice_common::settings::TransformOp::Drop,
                field: "name".into(),
                percent: None,
                when_field: None,
                equals: None,
                to: None,
                key_file: None,
            });
        let expectation = Expectation::new(&transform, "id", "last_updated").expect("valid");
        let keys = HashSet::new();
        let versions = vec![version(1, T1, 7, 0, 0), version(2, T1, 8, 0, 90)];
        let mut judge = judge(versions, &expectation, &keys);
        let mut dropped = line(1, T1, 20.0);
        if let Value::Object(fields) = &mut dropped {
            fields.remove("name");
        }
        judge
            .row(&row(1, T1, 20.0), |_| Ok(dropped))
            .expect("row 1");
        judge
            .row(&row(2, T1, 20.0), |_| Ok(line(2, T1, 20.0)))
            .expect("row 2");
        let report = judge.finish();
        assert_eq!(report.wrong.count, 1, "{report}");
        assert!(
            report.to_string().contains("`name` is in the line"),
            "{report}"
        );
    }

    #[test]
    fn versions_going_back_across_one_members_segments_are_backward() {
        let expectation = shop_steps(false);
        let keys = HashSet::new();
        // Product 1 in segments 0 and 1 of one member, going back; product 2 in two members.
        let versions = vec![
            Version {
                stream: 7,
                ..version(1, T2, 1, 0, 0)
            },
            Version {
                stream: 7,
                ..version(1, T1, 2, 1, 0)
            },
            version(2, T2, 3, 2, 0),
            version(2, T1, 4, 3, 0),
        ];
        let judge = judge(versions, &expectation, &keys);
        let report = judge.finish();
        assert_eq!(report.backward.count, 1, "{report}");
    }

    #[test]
    fn a_clean_run_has_no_violation() {
        let expectation = shop_steps(true);
        let keys = HashSet::new();
        let versions = vec![version(1, T1, 7, 0, 0), version(1, T2, 8, 0, 90)];
        let mut judge = judge(versions, &expectation, &keys);
        judge
            .row(&row(1, T2, 20.0), |v| {
                assert_eq!(v.at, micros(T2), "the latest line is read");
                Ok(line(1, T2, 18.0))
            })
            .expect("judged");
        let report = judge.finish();
        assert_eq!(report.violations(), 0, "{report}");
        assert_eq!((report.rows, report.versions), (1, 2));
    }

    #[test]
    fn each_kind_of_violation_is_counted_with_an_example() {
        let expectation = shop_steps(false);
        let keys: HashSet<Vec<u8>> = [b"4".to_vec()].into_iter().collect();
        let torn = [Torn {
            file: "out/consumer-1.jsonl".into(),
            line: 3,
            reason: "the file ends mid-line".into(),
        }];
        let versions = vec![
            // 1: the same line twice, and its version going backward in file 0.
            version(1, T2, 5, 0, 0),
            version(1, T1, 6, 0, 50),
            version(1, T2, 5, 1, 0),
            // 2: only an older version.
            version(2, T1, 9, 0, 100),
            // 3: two different lines for one version; 9: no row.
            version(3, T2, 1, 0, 150),
            version(3, T2, 2, 1, 50),
            version(9, T1, 3, 1, 100),
        ];
        let mut judge = Judge::new(
            versions,
            &torn,
            &expectation,
            &keys,
            signed(),
            "id",
            "last_updated",
        );
        judge
            .row(&row(1, T2, 20.0), |_| Ok(line(1, T2, 21.0)))
            .expect("row 1");
        judge
            .row(&row(2, T2, 20.0), |_| unreachable!())
            .expect("row 2");
        judge
            .row(&row(3, T2, 20.0), |_| Ok(line(3, T2, 20.0)))
            .expect("row 3");
        judge
            .row(&row(4, T1, 20.0), |_| unreachable!())
            .expect("row 4");
        judge
            .row(&row(5, T1, 20.0), |_| unreachable!())
            .expect("row 5");
        let report = judge.finish();
        assert_eq!(report.torn.count, 1);
        assert_eq!(report.duplicate.count, 1);
        assert_eq!(report.backward.count, 1);
        assert_eq!(report.conflicting.count, 1);
        assert_eq!(report.wrong.count, 1, "row 1's price: {report}");
        assert_eq!(report.missing.count, 2, "rows 2 and 5: {report}");
        assert_eq!(report.dead_lettered.count, 1, "row 4: {report}");
        assert_eq!(report.not_in_table.count, 1, "product 9: {report}");
        assert_eq!(report.violations(), 8);
        assert!(report.to_string().contains("`price` is 21.0"), "{report}");
    }

    #[test]
    fn a_product_without_a_row_must_end_with_a_delete_line() {
        let expectation = shop_steps(false);
        let keys = HashSet::new();
        let versions = vec![
            // 1: deleted; 2: deleted, then inserted again (its row is newer than the delete);
            // 3: deleted, then a newer line but no row; 4: deleted while its row stays.
            version(1, T1, 1, 0, 0),
            delete(1, T2, 0, 50),
            delete(2, T1, 0, 100),
            version(2, T2, 2, 0, 150),
            delete(3, T1, 0, 200),
            version(3, T2, 3, 0, 250),
            version(4, T1, 4, 0, 300),
            delete(4, T2, 0, 350),
        ];
        let mut judge = judge(versions, &expectation, &keys);
        judge
            .row(&row(2, T2, 1.0), |_| Ok(line(2, T2, 1.0)))
            .expect("row 2");
        judge
            .row(&row(4, T1, 1.0), |_| unreachable!())
            .expect("row 4");
        let report = judge.finish();
        assert_eq!(report.deleted.count, 1, "product 1: {report}");
        assert_eq!(report.not_in_table.count, 1, "product 3: {report}");
        assert_eq!(report.wrong.count, 1, "product 4: {report}");
        assert_eq!(report.violations(), 2, "{report}");
    }

    #[test]
    fn a_row_marked_deleted_must_end_with_its_delete_line() {
        let expectation = shop_steps(false);
        let keys = HashSet::new();
        let marked = |id: i64, at: &str| {
            let mut row = row(id, at, 1.0);
            row.insert("deleted_at".into(), json!(at));
            row
        };
        let versions = vec![
            version(1, T1, 1, 0, 0),
            delete(1, T2, 0, 50),
            version(2, T2, 2, 0, 100),
        ];
        let mut judge = judge(versions, &expectation, &keys).soft_deleted_by(Some("deleted_at"));
        judge
            .row(&marked(1, T2), |_| unreachable!())
            .expect("row 1");
        judge
            .row(&marked(2, T2), |_| unreachable!())
            .expect("row 2");
        let report = judge.finish();
        assert_eq!(report.deleted.count, 1, "row 1: {report}");
        assert_eq!(report.wrong.count, 1, "row 2 has no delete line: {report}");
    }

    #[test]
    fn a_line_newer_than_its_row_is_wrong() {
        let expectation = shop_steps(false);
        let keys = HashSet::new();
        let mut judge = judge(vec![version(1, T2, 1, 0, 0)], &expectation, &keys);
        judge
            .row(&row(1, T1, 1.0), |_| unreachable!())
            .expect("row");
        assert_eq!(judge.finish().wrong.count, 1);
    }
}
