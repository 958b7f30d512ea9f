//! The figures of one run: `bench/results.json` under stable dotted keys (nested by their
//! dots), and the Markdown table `BENCHMARKS.md` carries between its result markers.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

const START_MARKER: &str = "<!-- bench:results:start -->";
const END_MARKER: &str = "<!-- bench:results:end -->";

/// Every figure of a run, plus what describes the run.
#[derive(Debug, Default)]
pub struct Results {
    figures: BTreeMap<String, f64>,
    about: BTreeMap<String, String>,
    /// Rows of the printed table, in the order measured: key, label, unit.
    rows: Vec<(String, String, String)>,
}

impl Results {
    /// Records a figure under `key` (e.g. `producer.rows_per_s`).
    pub fn set(&mut self, key: &str, label: &str, unit: &str, value: f64) {
        self.figures.insert(key.to_owned(), value);
        self.rows
            .push((key.to_owned(), label.to_owned(), unit.to_owned()));
    }

    /// A figure recorded earlier.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.figures.get(key).copied()
    }

    /// Records `key = numerator / denominator` when both are known and the denominator is not 0.
    pub fn ratio(&mut self, key: &str, label: &str, numerator: &str, denominator: &str) {
        if let (Some(n), Some(d)) = (self.get(numerator), self.get(denominator)) {
            if d != 0.0 {
                self.set(key, label, "×", n / d);
            }
        }
    }

    /// Describes the run (date, machine, versions, configuration).
    pub fn describe(&mut self, key: &str, value: impl Into<String>) {
        self.about.insert(key.to_owned(), value.into());
    }

    /// The JSON document: `run` holds the description, every figure nests by its dots.
    pub fn to_json(&self) -> Value {
        let mut root = Map::new();
        root.insert(
            "run".to_owned(),
            Value::Object(
                self.about
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            ),
        );
        for (key, value) in &self.figures {
            let rounded = (value * 1000.0).round() / 1000.0;
            insert_dotted(&mut root, key, Value::from(rounded));
        }
        Value::Object(root)
    }

    /// The table of figures, in Markdown.
    pub fn markdown(&self) -> String {
        let mut text = String::from("| run | |\n| --- | --- |\n");
        for (key, value) in &self.about {
            text.push_str(&format!("| {key} | {value} |\n"));
        }
        text.push_str("\n| figure | key | value |\n| --- | --- | ---: |\n");
        for (key, label, unit) in &self.rows {
            if let Some(value) = self.figures.get(key) {
                text.push_str(&format!(
                    "| {label} | `{key}` | {} {unit} |\n",
                    human(*value)
                ));
            }
        }
        text
    }

    /// Writes the JSON file, and the table into `markdown` between its markers when given.
    pub fn write(&self, json: &Path, markdown: Option<&Path>) -> anyhow::Result<()> {
        if let Some(parent) = json.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(json, serde_json::to_string_pretty(&self.to_json())? + "\n")?;
        if let Some(path) = markdown {
            let text = std::fs::read_to_string(path)?;
            std::fs::write(path, replace_between_markers(&text, &self.markdown())?)?;
        }
        Ok(())
    }
}

fn insert_dotted(root: &mut Map<String, Value>, key: &str, value: Value) {
    match key.split_once('.') {
        None => {
            root.insert(key.to_owned(), value);
        }
        Some((head, rest)) => {
            let child = root
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(map) = child {
                insert_dotted(map, rest, value);
            }
        }
    }
}

/// Three significant digits, thousands apart: `1 234 567`, `0.734`, `12.3`.
fn human(value: f64) -> String {
    if value.abs() >= 1000.0 {
        let whole = value.round() as i64;
        let digits = whole.abs().to_string();
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(' ');
            }
            grouped.push(c);
        }
        if whole < 0 {
            grouped.insert(0, '-');
        }
        grouped
    } else if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    }
}

fn replace_between_markers(text: &str, table: &str) -> anyhow::Result<String> {
    let start = text
        .find(START_MARKER)
        .ok_or_else(|| anyhow::anyhow!("no {START_MARKER} line in the Markdown file"))?;
    let end = text
        .find(END_MARKER)
        .filter(|&end| end > start)
        .ok_or_else(|| anyhow::anyhow!("no {END_MARKER} line after the start marker"))?;
    Ok(format!(
        "{}{START_MARKER}\n{table}{}",
        &text[..start],
        &text[end..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_keys_nest_and_ratios_divide() {
        let mut results = Results::default();
        results.set("producer.rows_per_s", "producer", "rows/s", 50_000.0);
        results.set("ceiling.read_rows_per_s", "read", "rows/s", 100_000.0);
        results.ratio(
            "producer.ratio_to_read",
            "ratio",
            "producer.rows_per_s",
            "ceiling.read_rows_per_s",
        );
        results.ratio("missing.ratio", "ratio", "producer.rows_per_s", "nothing");
        let json = results.to_json();
        assert_eq!(json["producer"]["rows_per_s"], 50_000.0);
        assert_eq!(json["producer"]["ratio_to_read"], 0.5);
        assert!(json.get("missing").is_none());
    }

    #[test]
    fn the_table_replaces_only_what_lies_between_the_markers() {
        let text = format!("# Title\nprose\n{START_MARKER}\nold\n{END_MARKER}\nmore prose\n");
        let replaced = replace_between_markers(&text, "new\n").expect("markers");
        assert_eq!(
            replaced,
            format!("# Title\nprose\n{START_MARKER}\nnew\n{END_MARKER}\nmore prose\n")
        );
        assert!(replace_between_markers("no markers", "x").is_err());
    }

    #[test]
    fn numbers_read_at_a_glance() {
        assert_eq!(human(1_234_567.4), "1 234 567");
        assert_eq!(human(123.4), "123");
        assert_eq!(human(12.34), "12.3");
        assert_eq!(human(0.7341), "0.734");
    }
}
