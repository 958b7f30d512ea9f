//! The settings a process runs with, as a user reads them (`sluice-producer config`): every
//! key, its value in TOML and where it came from, secrets redacted. The lines are valid TOML,
//! so they can be kept as a configuration file of their own.

use serde::Serialize;

use super::files::SECRET_KEYS;
use super::load::{dotted, Loaded};

/// What a secret's value is shown as.
const REDACTED: &str = "\"<redacted>\"";

/// One setting, as `config` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExplainedSetting {
    /// Dotted key, e.g. `mysql.port`.
    pub key: String,
    /// Its value in TOML; a secret that is set is `"<redacted>"`.
    pub value: String,
    /// Where it came from, in words: `default`, `file …`, `environment …`, `--set`.
    pub origin: String,
}

/// Every setting of `loaded`, in the order of its sections.
pub fn explain(loaded: &Loaded) -> Vec<ExplainedSetting> {
    let mut lines = Vec::new();
    if let Ok(toml::Value::Table(table)) = toml::Value::try_from(&loaded.settings) {
        walk("", &table, &mut |key, value| {
            let origin = loaded.provenance.of(&key);
            lines.push(ExplainedSetting {
                value: shown(&key, value),
                origin: origin.to_string(),
                key,
            });
        });
    }
    lines
}

fn walk(prefix: &str, table: &toml::Table, visit: &mut dyn FnMut(String, &toml::Value)) {
    for (name, value) in table {
        let key = dotted(prefix, name);
        match value {
            toml::Value::Table(inner) => walk(&key, inner, visit),
            _ => visit(key, value),
        }
    }
}

/// `value` in TOML, or `"<redacted>"` for a secret that is set: the secret settings, and any
/// passed-through client property whose name says it holds one.
fn shown(key: &str, value: &toml::Value) -> String {
    let is_empty = value.as_str().is_some_and(str::is_empty);
    let last = key.rsplit('.').next().unwrap_or(key);
    let secret = SECRET_KEYS.contains(&key)
        || (key.contains("_properties.")
            && ["password", "secret", "jaas"]
                .iter()
                .any(|word| key.contains(word) || last.contains(word)));
    if secret && !is_empty {
        REDACTED.to_owned()
    } else {
        value.to_string()
    }
}

/// The lines as TOML, a `[section]` header before each section's keys and each value's
/// origin in a comment.
pub fn render(lines: &[ExplainedSetting]) -> String {
    let mut out = String::new();
    let mut section = "";
    for line in lines {
        let (table, name) = line.key.split_once('.').unwrap_or(("", &line.key));
        let (table, name) = match name.split_once('.') {
            // A key of a nested table (client properties): quoted, the rest dotted.
            Some((inner, rest)) if table == "kafka" => (
                &line.key[..table.len() + 1 + inner.len()],
                format!("\"{rest}\""),
            ),
            _ => (table, name.to_owned()),
        };
        if table != section {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&format!("[{table}]\n"));
            section = table;
        }
        out.push_str(&format!("{name} = {}  # {}\n", line.value, line.origin));
    }
    out
}

/// What the `config` subcommand of every binary prints: the settings as TOML with their
/// origins, or with `json` a JSON array of [`ExplainedSetting`].
pub fn config_text(loaded: &Loaded, json: bool) -> Result<String, serde_json::Error> {
    let lines = explain(loaded);
    if json {
        serde_json::to_string_pretty(&lines)
    } else {
        Ok(render(&lines).trim_end().to_owned())
    }
}
