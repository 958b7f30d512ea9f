//! Every version of each product, as a test committed them and as the files hold them: the
//! binlog source's oracle. A product's versions are told apart by its name, which each change
//! sets to one never used before.

use std::collections::HashMap;

use serde_json::Value;

/// Each product's names, in the order its lines were written (files, then lines).
pub fn names_in_order(mut lines: Vec<(String, usize, Value)>) -> HashMap<i64, Vec<String>> {
    lines.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let mut names: HashMap<i64, Vec<String>> = HashMap::new();
    for (_, _, line) in lines {
        let (Some(id), Some(name)) = (line["id"].as_i64(), line["name"].as_str()) else {
            continue;
        };
        names.entry(id).or_default().push(name.to_owned());
    }
    names
}

/// At least once: whether `seen` holds every one of `versions` in order and ends with the last
/// (a version repeated is left to `sluice-verify`; one missing, out of order or unknown is not).
pub fn holds_in_order(seen: &[String], versions: &[String]) -> bool {
    let mut next = 0;
    for name in seen {
        if next < versions.len() && *name == versions[next] {
            next += 1;
        } else if !versions[..next].contains(name) {
            return false;
        }
    }
    next == versions.len() && seen.last() == versions.last()
}

/// Exactly once, after a snapshot taken while the versions were committed: whether `seen` is
/// `versions` from some version on (the one the snapshot read), each once, in order, through
/// the last.
pub fn is_tail_of(seen: &[String], versions: &[String]) -> bool {
    !seen.is_empty() && versions.ends_with(seen)
}

/// A product whose lines fail the oracle: its id, its lines' names and its committed versions.
pub type Failure = (i64, Vec<String>, Vec<String>);

/// The products whose lines fail `holds` against their committed versions, at most `show` of
/// them with their lines, and how many fail.
pub fn failing(
    seen: &HashMap<i64, Vec<String>>,
    versions: &HashMap<i64, Vec<String>>,
    holds: fn(&[String], &[String]) -> bool,
    show: usize,
) -> (usize, Vec<Failure>) {
    let mut failed: Vec<_> = versions
        .iter()
        .filter_map(|(id, expected)| {
            let lines = seen.get(id).cloned().unwrap_or_default();
            (!holds(&lines, expected)).then(|| (*id, lines, expected.clone()))
        })
        .collect();
    failed.sort();
    let count = failed.len();
    failed.truncate(show);
    (count, failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn a_version_missing_or_out_of_order_is_caught() {
        let versions = names(&["v0", "v1", "v2"]);
        assert!(holds_in_order(&names(&["v0", "v1", "v2"]), &versions));
        assert!(holds_in_order(
            &names(&["v0", "v1", "v1", "v2", "v2"]),
            &versions
        ));
        assert!(holds_in_order(
            &names(&["v0", "v1", "v2", "v1", "v2"]),
            &versions
        ));
        assert!(!holds_in_order(
            &names(&["v0", "v1", "v2", "v1"]),
            &versions
        ));
        assert!(!holds_in_order(&names(&["v0", "v2"]), &versions));
        assert!(!holds_in_order(&names(&["v0", "v2", "v1"]), &versions));
        assert!(!holds_in_order(&names(&["v0", "x", "v1", "v2"]), &versions));
    }

    #[test]
    fn exactly_once_a_version_twice_or_a_gap_is_caught() {
        let versions = names(&["v0", "v1", "v2", "v3"]);
        assert!(is_tail_of(&names(&["v0", "v1", "v2", "v3"]), &versions));
        assert!(is_tail_of(&names(&["v2", "v3"]), &versions));
        assert!(!is_tail_of(&names(&["v2", "v2", "v3"]), &versions));
        assert!(!is_tail_of(&names(&["v1", "v3"]), &versions));
        assert!(!is_tail_of(&names(&["v1", "v2"]), &versions));
        assert!(!is_tail_of(&[], &versions));
    }
}
