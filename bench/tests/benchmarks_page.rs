//! BENCHMARKS.md holds no number the bench did not write: every figure lies between the result
//! markers, which `sluice-bench --markdown` rewrites, and the prose around them names
//! parameters (`parameters.*`) instead of giving their values, so it cannot drift from the run.

use std::path::Path;

const START: &str = "<!-- bench:results:start -->";
const END: &str = "<!-- bench:results:end -->";

fn page() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../BENCHMARKS.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The page without the part the bench writes.
fn prose(page: &str) -> String {
    let start = page.find(START).expect("the start marker");
    let end = page.find(END).expect("the end marker");
    assert!(start < end, "the markers in order");
    format!("{}{}", &page[..start], &page[end + END.len()..])
}

/// Numbers standing on their own in `text`, each with its line; digits inside a name (`p99`,
/// `utf8mb4`, `product.v2.avsc`, `KIP-848`, `SHA-512`) are part of the name.
fn numbers(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let mut at = 0;
        while at < chars.len() {
            if !chars[at].is_ascii_digit() {
                at += 1;
                continue;
            }
            let start = at;
            while at < chars.len() && chars[at].is_ascii_digit() {
                at += 1;
            }
            let before = start.checked_sub(1).map(|i| chars[i]);
            let before_that = start.checked_sub(2).map(|i| chars[i]);
            let after = chars.get(at).copied();
            let in_name = before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                || (before == Some('-') && before_that.is_some_and(char::is_alphabetic))
                || after.is_some_and(|c| c.is_alphabetic() || c == '_');
            if !in_name {
                let context: String = chars[start.saturating_sub(30)..chars.len().min(at + 10)]
                    .iter()
                    .collect();
                found.push((number + 1, context));
            }
        }
    }
    found
}

#[test]
fn the_prose_holds_no_number() {
    let found = numbers(&prose(&page()));
    assert!(
        found.is_empty(),
        "numbers in BENCHMARKS.md outside the bench's own part (name the parameter instead): {found:#?}"
    );
}

#[test]
fn the_check_sees_numbers_and_lets_names_be() {
    let found =
        numbers("took 33 min, 1.5 × and 2 000 rows\np99 of utf8mb4, KIP-848, v2.avsc, SHA-512");
    let values: Vec<String> = found.into_iter().map(|(_, c)| c).collect();
    assert_eq!(values.len(), 5, "{values:?}");
}

#[test]
fn the_bench_writes_its_part_with_its_parameters() {
    let page = page();
    let start = page.find(START).expect("the start marker");
    let end = page.find(END).expect("the end marker");
    let generated = &page[start..end];
    assert!(generated.contains("| target | figure | value | limit | met |"));
    for named in prose(&page)
        .split('`')
        .filter(|s| s.starts_with("parameters.") && !s.ends_with('*'))
    {
        assert!(
            generated.contains(&format!("`{named}`")),
            "the prose names {named}, which the run's table lacks"
        );
    }
}
