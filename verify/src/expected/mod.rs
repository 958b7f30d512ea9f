//! What a row's line must say, computed without the consumer's code: the configured steps
//! (`transform.steps`) taken on the row as the table holds it, each as documented, with the
//! numbers in exact integer arithmetic (`arithmetic`) and masks hashed here.

mod arithmetic;

use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use sluice_common::settings::{SettingsError, TransformSettings, TransformStep};

use arithmetic::percent_off;

/// A step as the judge takes it.
#[derive(Debug, Clone)]
enum Expected {
    UpperCase(String),
    PercentOff {
        field: String,
        /// Millionths of a percent.
        micro: i128,
        /// Only when this field holds this value, ignoring case (upper-cased here).
        when: Option<(String, String)>,
    },
    Rename(String, String),
    Drop(String),
    Mask(String, Option<Vec<u8>>),
}

/// The transformation the consumers are configured with.
#[derive(Debug, Clone, Default)]
pub struct Expectation {
    steps: Vec<Expected>,
    /// Fields a line must not hold.
    absent: Vec<String>,
}

impl Expectation {
    /// The configured steps, mask keys read from their files. `key` and `timestamp` are the
    /// columns no step may act on.
    pub fn new(
        transform: &TransformSettings,
        key: &str,
        timestamp: &str,
    ) -> Result<Self, SettingsError> {
        let steps = transform
            .steps(key, timestamp)?
            .into_iter()
            .enumerate()
            .map(|(index, step)| {
                let key = step.mask_key(index)?;
                Ok(match step {
                    TransformStep::UpperCase { field } => Expected::UpperCase(field),
                    TransformStep::PercentOff {
                        field,
                        percent,
                        when,
                    } => Expected::PercentOff {
                        field,
                        micro: (percent * arithmetic::MICRO as f64).round() as i128,
                        when: when.map(|when| (when.field, when.value.to_uppercase())),
                    },
                    TransformStep::Rename { field, to } => Expected::Rename(field, to),
                    TransformStep::Drop { field } => Expected::Drop(field),
                    TransformStep::Mask { field, .. } => Expected::Mask(field, key),
                })
            })
            .collect::<Result<Vec<_>, SettingsError>>()?;
        let absent = absent_after(&steps);
        Ok(Self { steps, absent })
    }

    /// The fields a line of `row` must hold, for the fields the row has: `row` maps column
    /// names to their values as the table holds them.
    pub fn line_of(&self, row: &Map<String, Value>) -> Map<String, Value> {
        let mut line = row.clone();
        for step in &self.steps {
            match step {
                Expected::UpperCase(field) => {
                    if let Some(Value::String(text)) = line.get_mut(field) {
                        *text = text.to_uppercase();
                    }
                }
                Expected::PercentOff { field, micro, when } => {
                    let applies = when.as_ref().is_none_or(|(condition, value)| {
                        matches!(line.get(condition), Some(Value::String(text)) if text.to_uppercase() == *value)
                    });
                    if let (true, Some(number)) = (applies, line.get_mut(field)) {
                        if let Some(discounted) = percent_off(number, *micro) {
                            *number = discounted;
                        }
                    }
                }
                Expected::Rename(field, to) => {
                    if let Some(value) = line.remove(field) {
                        line.insert(to.clone(), value);
                    }
                }
                Expected::Drop(field) => {
                    line.remove(field);
                }
                Expected::Mask(field, key) => {
                    if let Some(value) = line.get_mut(field) {
                        if let Some(text) = text_of(value) {
                            *value = Value::String(hash(key.as_deref(), text.as_bytes()));
                        }
                    }
                }
            }
        }
        line
    }

    /// Fields a line must not hold: the ones a step drops (unless a later step names another
    /// field so) and the old names of renamed ones.
    pub fn absent(&self) -> &[String] {
        &self.absent
    }
}

fn absent_after(steps: &[Expected]) -> Vec<String> {
    let mut gone: Vec<String> = Vec::new();
    for step in steps {
        match step {
            Expected::Drop(field) | Expected::Rename(field, _) => gone.push(field.clone()),
            _ => {}
        }
        if let Expected::Rename(_, to) = step {
            gone.retain(|name| name != to);
        }
    }
    gone
}

/// The text a mask hashes: a string's characters, anything else as JSON writes it; `None`
/// for null, which stays null.
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

/// Lowercase hex SHA-256 of `bytes`, or HMAC-SHA-256 under `key`.
fn hash(key: Option<&[u8]>, bytes: &[u8]) -> String {
    let digest: Vec<u8> = match key.and_then(|key| Hmac::<Sha256>::new_from_slice(key).ok()) {
        Some(mut mac) => {
            mac.update(bytes);
            mac.finalize().into_bytes().to_vec()
        }
        None => Sha256::digest(bytes).to_vec(),
    };
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Whether a line's field holds the value expected: numbers compared as numbers (a float
/// column's value is its shortest decimal), everything else exactly.
pub fn same_value(line: &Value, expected: &Value) -> bool {
    match (line, expected) {
        (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(a), Some(b)) => a == b,
            _ => a.as_f64() == b.as_f64(),
        },
        _ => line == expected,
    }
}

#[cfg(test)]
mod tests;
