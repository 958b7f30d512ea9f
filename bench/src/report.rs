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
    /// Figures measured more than once: every run, in order, by the median's key.
    runs: BTreeMap<String, Vec<f64>>,
    /// Targets checked against the figures, in the order checked.
    targets: Vec<Target>,
    /// What the run was asked to do (sizes, rates, intervals): key, label, value.
    parameters: Vec<(String, String, f64)>,
}

/// A target: a figure's limit, and whether the run met it.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Key under `targets.` in the JSON.
    pub key: String,
    /// What it asks, in words.
    pub label: String,
    /// The figure's key.
    pub figure: String,
    /// Its value in this run.
    pub value: f64,
    /// The limit.
    pub limit: f64,
    /// Whether the value must be at most the limit (else at least).
    pub at_most: bool,
}

impl Target {
    /// Whether the run met it.
    pub fn met(&self) -> bool {
        if self.at_most {
            self.value <= self.limit
        } else {
            self.value >= self.limit
        }
    }
}

/// The median of `values` (the mean of the middle two for an even count); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

impl Results {
    /// Records a figure under `key` (e.g. `producer.rows_per_s`).
    pub fn set(&mut self, key: &str, label: &str, unit: &str, value: f64) {
        self.figures.insert(key.to_owned(), value);
        self.rows
            .push((key.to_owned(), label.to_owned(), unit.to_owned()));
    }

    /// Records a figure measured once per run: the median under `key`, every run under
    /// `<key>_runs`, and the extremes under `<key>_min` and `<key>_max`.
    pub fn set_runs(&mut self, key: &str, label: &str, unit: &str, runs: &[f64]) {
        let Some(middle) = median(runs) else {
            return;
        };
        self.set(key, label, unit, middle);
        let fold = |start: f64, pick: fn(f64, f64) -> f64| runs.iter().copied().fold(start, pick);
        self.figures
            .insert(format!("{key}_min"), fold(f64::INFINITY, f64::min));
        self.figures
            .insert(format!("{key}_max"), fold(f64::NEG_INFINITY, f64::max));
        self.runs.insert(key.to_owned(), runs.to_vec());
    }

    /// Checks the figure `figure` against `limit` (`at_most`, or else at least) and records the
    /// outcome under `targets.<key>`; a figure not measured is not checked.
    pub fn target(&mut self, key: &str, label: &str, figure: &str, at_most: bool, limit: f64) {
        if let Some(value) = self.get(figure) {
            self.targets.push(Target {
                key: key.to_owned(),
                label: label.to_owned(),
                figure: figure.to_owned(),
                value,
                limit,
                at_most,
            });
        }
    }

    /// The targets checked, in order.
    pub fn targets(&self) -> &[Target] {
        &self.targets
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

    /// Records a parameter of the run under `parameters.<key>`.
    pub fn parameter(&mut self, key: &str, label: &str, value: f64) {
        self.parameters
            .push((key.to_owned(), label.to_owned(), value));
    }

    /// A parameter recorded earlier, by its key without `parameters.`.
    pub fn parameter_value(&self, key: &str) -> Option<f64> {
        self.parameters.iter().find(|p| p.0 == key).map(|p| p.2)
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
        let round = |value: f64| (value * 1000.0).round() / 1000.0;
        for (key, value) in &self.figures {
            insert_dotted(&mut root, key, Value::from(round(*value)));
        }
        for (key, runs) in &self.runs {
            let every: Vec<Value> = runs.iter().map(|v| Value::from(round(*v))).collect();
            insert_dotted(&mut root, &format!("{key}_runs"), Value::Array(every));
        }
        for (key, _, value) in &self.parameters {
            insert_dotted(&mut root, &format!("parameters.{key}"), Value::from(*value));
        }
        for target in &self.targets {
            let outcome = serde_json::json!({
                "figure": target.figure,
                "value": round(target.value),
                "limit": round(target.limit),
                "at_most": target.at_most,
                "met": target.met(),
            });
            insert_dotted(&mut root, &format!("targets.{}", target.key), outcome);
        }
        Value::Object(root)
    }

    /// The table of figures, in Markdown.
    pub fn markdown(&self) -> String {
        let mut text = String::from("| run | |\n| --- | --- |\n");
        for (key, value) in &self.about {
            text.push_str(&format!("| {key} | {value} |\n"));
        }
        if !self.parameters.is_empty() {
            text.push_str("\n| parameter | key | value |\n| --- | --- | ---: |\n");
            for (key, label, value) in &self.parameters {
                text.push_str(&format!(
                    "| {label} | `parameters.{key}` | {} |\n",
                    plain(*value)
                ));
            }
        }
        text.push_str("\n| figure | key | value |\n| --- | --- | ---: |\n");
        for (key, label, unit) in &self.rows {
            if let Some(value) = self.figures.get(key) {
                let spread = match self.runs.get(key) {
                    Some(runs) => format!(
                        " (median of {}; {}–{})",
                        runs.len(),
                        human(self.figures[&format!("{key}_min")]),
                        human(self.figures[&format!("{key}_max")])
                    ),
                    None => String::new(),
                };
                text.push_str(&format!(
                    "| {label} | `{key}` | {} {unit}{spread} |\n",
                    human(*value)
                ));
            }
        }
        if !self.targets.is_empty() {
            let met = self.targets.iter().filter(|t| t.met()).count();
            text.push_str(&format!(
                "\n**{met} of {} targets met in this run.**\n",
                self.targets.len()
            ));
            text.push_str(
                "\n| target | figure | value | limit | met |\n| --- | --- | ---: | ---: | --- |\n",
            );
            for target in &self.targets {
                let relation = if target.at_most { "≤" } else { "≥" };
                text.push_str(&format!(
                    "| {} | `{}` | {} | {relation} {} | {} |\n",
                    target.label,
                    target.figure,
                    human(target.value),
                    human(target.limit),
                    if target.met() { "yes" } else { "**no**" }
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

/// A parameter as given: whole numbers without decimals, thousands apart.
fn plain(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1000.0 {
        format!("{value:.0}")
    } else if value.fract() == 0.0 {
        human(value)
    } else {
        value.to_string()
    }
}

/// Three significant digits, thousands apart: `1 234 567`, `0.734`, `12.3`.
fn human(value: f64) -> String {
    if value.abs() >= 1000.0 {
        let whole = value.round() as i64;
        let digits = whole.abs().to_string();
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
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
    fn repeated_runs_keep_every_run_and_report_the_median_and_extremes() {
        let mut results = Results::default();
        results.set_runs("bulk.seconds", "bulk", "s", &[3.0, 1.0, 2.0, 10.0, 4.0]);
        let json = results.to_json();
        assert_eq!(json["bulk"]["seconds"], 3.0);
        assert_eq!(json["bulk"]["seconds_min"], 1.0);
        assert_eq!(json["bulk"]["seconds_max"], 10.0);
        assert_eq!(
            json["bulk"]["seconds_runs"],
            serde_json::json!([3.0, 1.0, 2.0, 10.0, 4.0])
        );
        assert!(results
            .markdown()
            .contains("3.000 s (median of 5; 1.000–10.0)"));
        assert_eq!(median(&[1.0, 2.0, 3.0, 4.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn targets_are_judged_by_the_bench() {
        let mut results = Results::default();
        results.set("a.ratio", "a", "×", 0.8);
        results.set("b.seconds", "b", "s", 2.0);
        results.target("a", "a at least 0.7", "a.ratio", false, 0.7);
        results.target("b", "b at most 1.5", "b.seconds", true, 1.5);
        results.target("c", "not measured", "c.seconds", true, 1.0);
        let json = results.to_json();
        assert_eq!(json["targets"]["a"]["met"], true);
        assert_eq!(json["targets"]["b"]["met"], false);
        assert!(json["targets"].get("c").is_none());
        let met: Vec<bool> = results.targets().iter().map(Target::met).collect();
        assert_eq!(met, [true, false]);
        assert!(results
            .markdown()
            .contains("| b at most 1.5 | `b.seconds` | 2.000 | ≤ 1.500 | **no** |"));
    }

    #[test]
    fn numbers_read_at_a_glance() {
        assert_eq!(human(1_234_567.4), "1 234 567");
        assert_eq!(human(123.4), "123");
        assert_eq!(human(12.34), "12.3");
        assert_eq!(human(0.7341), "0.734");
    }
}
