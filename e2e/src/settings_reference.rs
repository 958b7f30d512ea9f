//! The settings reference of `docs/configuration.md`, generated from its one source: the doc
//! comment of each settings field (`common/src/settings/sections.rs`, `servers.rs` and
//! `transform.rs`) and the built-in defaults (`Settings::default()`). The test `settings_reference` fails when the
//! committed reference is not this rendering (`SLUICE_BLESS=1` rewrites it), so the code, the
//! reference and `sluice.toml` (whose keys and defaults `common/tests/sluice_toml.rs` checks)
//! cannot drift apart.

use sluice_common::settings::Settings;

/// The files whose structs hold the settings, relative to the repository root.
pub const SOURCES: [&str; 3] = [
    "common/src/settings/sections.rs",
    "common/src/settings/servers.rs",
    "common/src/settings/transform.rs",
];
/// The generated document.
pub const DOCUMENT: &str = "docs/configuration.md";
/// The generated part of it lies between these two lines.
pub const BEGIN: &str = "<!-- settings reference: generated from the settings' doc comments by e2e/src/settings_reference.rs (SLUICE_BLESS=1 cargo test -p sluice-e2e --test settings_reference); edit the doc comments, not this table -->";
/// The line that ends the generated part.
pub const END: &str = "<!-- end of the generated settings reference -->";

/// One field of a settings struct: its name, type and doc comment (its lines joined).
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The key.
    pub name: String,
    /// Its Rust type, as written.
    pub kind: String,
    /// Its doc comment as one paragraph.
    pub doc: String,
}

/// The fields of `pub struct {name}` in `source`, in order; empty when there is no such struct.
pub fn fields_of(source: &str, name: &str) -> Vec<Field> {
    let Some(start) = source.find(&format!("pub struct {name} {{")) else {
        return Vec::new();
    };
    let mut fields = Vec::new();
    let mut doc: Vec<&str> = Vec::new();
    for line in source[start..].lines().skip(1) {
        let line = line.trim();
        if line == "}" {
            break;
        }
        if let Some(text) = line.strip_prefix("///") {
            doc.push(text.trim());
        } else if let Some(field) = line.strip_prefix("pub ") {
            if let Some((name, kind)) = field.split_once(": ") {
                fields.push(Field {
                    name: name.to_owned(),
                    kind: kind.trim_end_matches(',').to_owned(),
                    doc: doc.join(" "),
                });
            }
            doc.clear();
        } else if !line.starts_with("#[") {
            doc.clear();
        }
    }
    fields
}

/// A default as TOML writes it; an empty string says so.
fn toml_value(value: Option<&toml::Value>) -> String {
    match value {
        Some(toml::Value::String(text)) if text.is_empty() => "`\"\"` (empty)".to_owned(),
        Some(toml::Value::Array(items)) if items.is_empty() => "`[]` (none)".to_owned(),
        Some(toml::Value::Table(table)) if table.is_empty() => "`{}` (none)".to_owned(),
        Some(value) => format!("`{value}`"),
        None => "(none)".to_owned(),
    }
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The reference: one table per section, a row per key with its default and its doc comment.
/// `sources` are the texts of [`SOURCES`].
pub fn render(sources: &[String]) -> String {
    let all = sources.concat();
    let defaults = toml::Value::try_from(Settings::default()).expect("the defaults serialize");
    let mut out = String::new();
    for section in fields_of(&all, "Settings") {
        out.push_str(&format!(
            "\n### `[{}]`\n\n{}\n\n",
            section.name, section.doc
        ));
        out.push_str("| key | default | meaning |\n| --- | --- | --- |\n");
        let section_defaults = defaults.get(&section.name);
        for field in fields_of(&all, &section.kind) {
            let default = toml_value(section_defaults.and_then(|s| s.get(&field.name)));
            out.push_str(&format!(
                "| `{}.{}` | {} | {} |\n",
                section.name,
                field.name,
                cell(&default),
                cell(&field.doc)
            ));
            // A list of tables: its entries' keys too.
            let entry = field
                .kind
                .strip_prefix("Vec<")
                .and_then(|kind| kind.strip_suffix('>'));
            for part in entry.map(|kind| fields_of(&all, kind)).unwrap_or_default() {
                out.push_str(&format!(
                    "| `{}.{}[].{}` | | {} |\n",
                    section.name,
                    field.name,
                    part.name,
                    cell(&part.doc)
                ));
            }
        }
    }
    out
}

/// The comment of `sluice.toml` above its first section.
const TOML_HEADER: &str = "\
# sluice configuration. Every key is shown with its default, which points at the local stack
# that `make up` starts; docs/configuration.md explains each. Precedence, lowest first: this
# file, then environment variables named SLUICE__SECTION__KEY (e.g. SLUICE__MYSQL__PASSWORD),
# then `--set section.key=value` flags. A key not listed here is an error, so a typo never
# passes silently. A relative path set in this file is relative to this file's folder.
# `sluice-producer config` prints what a process runs with and where each value came from.
# Generated from the settings' doc comments by e2e/src/settings_reference.rs (SLUICE_BLESS=1
# cargo test -p sluice-e2e --test settings_reference): edit those, not this file.
";

/// The first sentence of `doc`, without Markdown's backticks: a configuration file's comment.
/// A sentence ends at a period and a space outside parentheses, not after "e.g." or "i.e.".
fn first_sentence(doc: &str) -> String {
    let text = doc.replace('`', "");
    let mut depth = 0i32;
    let bytes = text.as_bytes();
    for (at, &byte) in bytes.iter().enumerate() {
        match byte {
            b'(' => depth += 1,
            b')' => depth -= 1,
            b'.' if depth == 0 && bytes.get(at + 1) == Some(&b' ') => {
                let before = &text[..at];
                if !before.ends_with("e.g") && !before.ends_with("i.e") {
                    return text[..=at].to_owned();
                }
            }
            _ => {}
        }
    }
    text
}

/// `text` as `#` comment lines of at most 100 columns.
fn comment(text: &str) -> String {
    let mut lines = Vec::new();
    let mut line = String::from("#");
    for word in text.split_whitespace() {
        if line.len() + 1 + word.len() > 100 {
            lines.push(std::mem::replace(&mut line, String::from("#")));
        }
        line.push(' ');
        line.push_str(word);
    }
    lines.push(line);
    lines.join("\n") + "\n"
}

/// `sluice.toml`: every key of `settings` (the shipped values: the defaults and the example
/// transform steps) with its doc comment's first sentence. `sources` are the texts of [`SOURCES`].
pub fn render_toml(sources: &[String], settings: &Settings) -> String {
    let all = sources.concat();
    let values = toml::Value::try_from(settings).expect("the settings serialize");
    let mut out = String::from(TOML_HEADER);
    for section in fields_of(&all, "Settings") {
        let fields = fields_of(&all, &section.kind);
        let value_of = |field: &Field| values.get(&section.name).and_then(|s| s.get(&field.name));
        let scalars: Vec<&Field> = fields
            .iter()
            // Tables and lists of tables come after the section's plain keys, as TOML wants.
            .filter(|f| {
                !matches!(value_of(f), Some(toml::Value::Table(_)))
                    && !f.kind.ends_with("Settings>")
            })
            .collect();
        if !scalars.is_empty() {
            out.push_str(&format!("\n[{}]\n", section.name));
        }
        for field in &scalars {
            let value = value_of(field).map(ToString::to_string).unwrap_or_default();
            out.push_str(&comment(&first_sentence(&field.doc)));
            out.push_str(&format!("{} = {value}\n", field.name));
        }
        for field in fields
            .iter()
            .filter(|f| !scalars.iter().any(|s| s.name == f.name))
        {
            out.push_str(&format!("\n{}", comment(&first_sentence(&field.doc))));
            match value_of(field) {
                Some(toml::Value::Table(table)) => {
                    out.push_str(&format!("[{}.{}]\n", section.name, field.name));
                    for (key, value) in table {
                        out.push_str(&format!("{key} = {value}\n"));
                    }
                }
                Some(toml::Value::Array(entries)) => {
                    out.push_str("# Built-in default: none; what follows is an example.\n");
                    // An entry's keys in the order its struct declares them.
                    let order = field
                        .kind
                        .strip_prefix("Vec<")
                        .and_then(|kind| kind.strip_suffix('>'))
                        .map(|kind| fields_of(&all, kind))
                        .unwrap_or_default();
                    for (index, entry) in entries.iter().enumerate() {
                        if index > 0 {
                            out.push('\n');
                        }
                        out.push_str(&format!("[[{}.{}]]\n", section.name, field.name));
                        for key in &order {
                            if let Some(value) = entry.get(&key.name) {
                                out.push_str(&format!("{} = {value}\n", key.name));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// `document` with its generated part replaced by `reference`; `None` when it has no markers.
pub fn with_reference(document: &str, reference: &str) -> Option<String> {
    let (before, rest) = document.split_once(BEGIN)?;
    let (_, after) = rest.split_once(END)?;
    Some(format!("{before}{BEGIN}\n{reference}\n{END}{after}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = r#"
pub struct Settings {
    /// The source database.
    pub mysql: MysqlSettings,
    /// Rules.
    pub transform: TransformSettings,
}

#[derive(Debug)]
pub struct MysqlSettings {
    /// Host name of the
    /// server.
    pub host: String,
    #[serde(skip)]
    /// Port | number.
    pub port: u16,
}

pub struct TransformSettings {
    /// Steps.
    pub steps: Vec<TransformStepSettings>,
}

pub struct TransformStepSettings {
    /// What it does.
    pub op: TransformOp,
}
"#;

    #[test]
    fn fields_carry_their_joined_doc_comments() {
        let fields = fields_of(SOURCE, "MysqlSettings");
        assert_eq!(
            fields,
            [
                Field {
                    name: "host".into(),
                    kind: "String".into(),
                    doc: "Host name of the server.".into()
                },
                Field {
                    name: "port".into(),
                    kind: "u16".into(),
                    doc: "Port | number.".into()
                }
            ]
        );
    }

    #[test]
    fn a_section_is_a_table_with_defaults_and_list_entries() {
        let text = render(&[SOURCE.to_owned()]);
        assert!(
            text.contains("### `[mysql]`\n\nThe source database."),
            "{text}"
        );
        assert!(
            text.contains("| `mysql.host` | `\"127.0.0.1\"` | Host name of the server. |"),
            "{text}"
        );
        assert!(
            text.contains("| `mysql.port` | `3306` | Port \\| number. |"),
            "{text}"
        );
        assert!(
            text.contains("| `transform.steps` | `[]` (none) | Steps. |"),
            "{text}"
        );
        assert!(
            text.contains("| `transform.steps[].op` | | What it does. |"),
            "{text}"
        );
    }

    #[test]
    fn a_comment_is_the_first_sentence_outside_parentheses() {
        assert_eq!(
            first_sentence("Properties (e.g. `a.b = 1`; checked. Really) here. More."),
            "Properties (e.g. a.b = 1; checked. Really) here."
        );
        assert_eq!(
            first_sentence("Run as one, e.g. on two hosts. Then"),
            "Run as one, e.g. on two hosts."
        );
        assert_eq!(first_sentence("No period"), "No period");
    }

    #[test]
    fn the_generated_part_is_replaced_between_its_markers() {
        let document = format!("intro\n{BEGIN}\nold\n{END}\nafter\n");
        assert_eq!(
            with_reference(&document, "new").as_deref(),
            Some(format!("intro\n{BEGIN}\nnew\n{END}\nafter\n").as_str())
        );
        assert_eq!(with_reference("no markers", "new"), None);
    }
}
