//! Builds [`Settings`] from its layers and rejects keys no section knows.
//!
//! Precedence, lowest first: built-in defaults, the TOML file, `SLUICE__SECTION__KEY`
//! environment variables, `--set section.key=value` flags.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use config::{Config, Environment, File, FileFormat, Source, Value, ValueKind};

use super::files::{read_secret_files, resolve_against_file};
use super::origin::{Origin, Provenance};
use super::retired::refuse_retired_keys;
use super::{ConfigArgs, Settings, SettingsError};

/// The file read when none is named, relative to the working directory.
const DEFAULT_FILE: &str = "sluice.toml";
const ENV_PREFIX: &str = "SLUICE";
const ENV_SEPARATOR: &str = "__";
/// How the `config` crate names the origin of values taken from environment variables.
const ENVIRONMENT_ORIGIN: &str = "the environment";

/// The sources one configuration is layered from.
#[derive(Debug, Clone, Default)]
pub struct Layers {
    /// A file that must exist; `None` reads `./sluice.toml` when there is one.
    pub file: Option<PathBuf>,
    /// `SLUICE__…` variables to use instead of the process environment (tests inject them).
    pub environment: Option<HashMap<String, String>>,
    /// `section.key=value` pairs from `--set`, applied last.
    pub overrides: Vec<String>,
}

impl From<&ConfigArgs> for Layers {
    fn from(args: &ConfigArgs) -> Self {
        Self {
            file: args.config.clone(),
            environment: None,
            overrides: args.all_overrides(),
        }
    }
}

/// Loads and validates the configuration; the error says which key is wrong and where it was set.
pub fn load(layers: &Layers) -> Result<Settings, SettingsError> {
    load_explained(layers).map(|loaded| loaded.settings)
}

/// Settings, and where each came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The settings, relative paths set in the file made relative to its folder and secrets
    /// read from their files.
    pub settings: Settings,
    /// Where each value came from.
    pub provenance: Provenance,
}

/// [`load`], telling where each value came from.
pub fn load_explained(layers: &Layers) -> Result<Loaded, SettingsError> {
    let mut builder = Config::builder();
    let file = config_file(layers)?;
    if let Some(path) = &file {
        builder = builder.add_source(File::from(path.as_path()).format(FileFormat::Toml));
    }
    // Not `try_parsing`: a variable's value stays the string it is (a password `007` or
    // `TRUE` byte for byte), and a number or boolean setting parses it when it is read, as it
    // does a `--set` value.
    builder = builder.add_source(
        Environment::with_prefix(ENV_PREFIX)
            .prefix_separator(ENV_SEPARATOR)
            .separator(ENV_SEPARATOR)
            .source(layers.environment.clone()),
    );
    let mut override_keys = BTreeSet::new();
    for pair in &layers.overrides {
        let (key, value) = split_override(pair)?;
        builder = builder.set_override(key, value).map_err(invalid)?;
        override_keys.insert(key.to_owned());
    }
    let merged = builder.build().map_err(invalid)?;
    refuse_retired_keys(&merged)?;
    reject_unknown_keys(&merged, &override_keys)?;
    let mut provenance = provenance(&merged, file, &override_keys)?;
    let mut settings: Settings = merged.try_deserialize().map_err(invalid)?;
    if let Some(file) = provenance.file() {
        resolve_against_file(&mut settings, file, |key| provenance.from_file(key));
    }
    for (key, file) in read_secret_files(&mut settings)? {
        provenance.record(key.to_owned(), Origin::SecretFile(file));
    }
    settings.validate()?;
    Ok(Loaded {
        settings,
        provenance,
    })
}

/// The origin of every value `merged` holds.
fn provenance(
    merged: &Config,
    file: Option<PathBuf>,
    override_keys: &BTreeSet<String>,
) -> Result<Provenance, SettingsError> {
    let mut provenance = Provenance::new(file.clone());
    collect_leaves(
        "",
        &merged.collect().map_err(invalid)?,
        &mut |key, value| {
            let origin = match (value.origin(), &file) {
                (Some(ENVIRONMENT_ORIGIN), _) => Origin::Environment(variable_of(&key)),
                (Some(_), Some(file)) => Origin::File(file.clone()),
                _ if override_keys.contains(&key) => Origin::Flag,
                _ => Origin::Default,
            };
            provenance.record(key, origin);
        },
    );
    Ok(provenance)
}

/// The environment variable that sets `key`.
fn variable_of(key: &str) -> String {
    let variable = key.replace('.', ENV_SEPARATOR).to_uppercase();
    format!("{ENV_PREFIX}{ENV_SEPARATOR}{variable}")
}

fn config_file(layers: &Layers) -> Result<Option<PathBuf>, SettingsError> {
    match &layers.file {
        Some(path) if path.is_file() => Ok(Some(path.clone())),
        Some(path) => Err(SettingsError::FileNotFound { path: path.clone() }),
        None => Ok(Some(PathBuf::from(DEFAULT_FILE)).filter(|p| p.is_file())),
    }
}

fn split_override(pair: &str) -> Result<(&str, &str), SettingsError> {
    match pair.split_once('=') {
        Some((key, value)) if key.contains('.') && !key.trim().is_empty() => {
            Ok((key.trim(), value))
        }
        _ => Err(SettingsError::BadOverride(pair.to_owned())),
    }
}

fn invalid(error: config::ConfigError) -> SettingsError {
    SettingsError::Invalid(one_line(&error.to_string()))
}

/// TOML errors draw the offending line with a caret underneath; keep the words, drop the drawing.
fn one_line(message: &str) -> String {
    let is_drawing = |line: &str| {
        let line = line.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ');
        line.starts_with('|')
    };
    let mut out = String::new();
    for part in message.lines().filter(|l| !is_drawing(l)).map(str::trim) {
        if part.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push_str(if part.starts_with("in ") { " " } else { ": " });
        }
        out.push_str(part);
    }
    out
}

/// Compares every key that was set with the keys the defaults serialize to, so the list of
/// known keys can never drift from the structs.
fn reject_unknown_keys(
    merged: &Config,
    override_keys: &BTreeSet<String>,
) -> Result<(), SettingsError> {
    // Serialized through TOML, not `config`, which drops empty arrays and so would hide keys.
    let defaults = toml::Value::try_from(Settings::default())
        .map_err(|e| SettingsError::Invalid(format!("cannot list the known keys: {e}")))?;
    let mut known = BTreeSet::new();
    collect_default_keys("", &defaults, &mut known);
    let mut unknown = None;
    collect_leaves(
        "",
        &merged.collect().map_err(invalid)?,
        &mut |path, value| {
            let is_known = known
                .iter()
                .any(|k| *k == path || path.starts_with(&format!("{k}.")));
            if !is_known && unknown.is_none() {
                unknown = Some((path, value.origin().map(str::to_owned)));
            }
        },
    );
    match unknown {
        None => Ok(()),
        Some((key, origin)) => {
            let origin = match origin {
                Some(file) if file != ENVIRONMENT_ORIGIN => display_origin(&file),
                _ => non_file_origin(&key, override_keys),
            };
            Err(SettingsError::UnknownKey { key, origin })
        }
    }
}

/// `name` inside the table at `prefix`, as the settings write a key: `kafka.topic`.
pub(super) fn dotted(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

fn collect_default_keys(prefix: &str, value: &toml::Value, keys: &mut BTreeSet<String>) {
    match value {
        // An empty table is an open one (librdkafka properties): any key under it is known.
        toml::Value::Table(table) if table.is_empty() && !prefix.is_empty() => {
            keys.insert(prefix.to_owned());
        }
        toml::Value::Table(table) => {
            for (name, inner) in table {
                collect_default_keys(&dotted(prefix, name), inner, keys);
            }
        }
        _ => {
            keys.insert(prefix.to_owned());
        }
    }
}

fn collect_leaves(
    prefix: &str,
    table: &config::Map<String, Value>,
    visit: &mut dyn FnMut(String, &Value),
) {
    for (name, value) in table {
        let path = dotted(prefix, name);
        match &value.kind {
            ValueKind::Table(inner) => collect_leaves(&path, inner, visit),
            _ => visit(path, value),
        }
    }
}

fn display_origin(origin: &str) -> String {
    Path::new(origin).display().to_string()
}

fn non_file_origin(key: &str, override_keys: &BTreeSet<String>) -> String {
    if override_keys.contains(key) {
        format!("--set {key}=…")
    } else {
        format!("environment variable {}", variable_of(key))
    }
}

#[cfg(test)]
mod tests;
