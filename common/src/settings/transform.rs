//! The record transformation the consumers apply: an ordered list of steps, each acting on one
//! field of the record as the steps before it left it. The settings say what each step is;
//! [`TransformSettings::steps`] turns them into [`TransformStep`]s once, at load, so a step
//! missing what it needs (a `rename` without `to`) or carrying what it does not use is refused
//! at start with its index, and no code past the loader reads an optional key again.
//!
//! The key column and the change-time column are never a step's field: they say which row and
//! which version a line is (delete lines, `sluice-verify`, a loader's latest state per key all
//! read them as the table holds them).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::choices::TransformOp;
use super::error::unworkable;
use super::SettingsError;

/// What the consumers change in each record before writing it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransformSettings {
    /// Steps applied in order to every record before its line is written, each to one field by
    /// its name as the steps before it left it: `upper_case`, `percent_off` (always, or when
    /// another field holds a value), `rename`, `drop`, `mask` (see docs/configuration.md). Empty:
    /// lines hold the record as the reader schema reads it.
    pub steps: Vec<TransformStepSettings>,
}

/// One step of the transformation, as written in the configuration.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TransformStepSettings {
    /// What the step does: `upper_case`, `percent_off`, `rename`, `drop` or `mask`.
    pub op: TransformOp,
    /// The field it acts on, by its name after the steps before it.
    pub field: String,
    /// `percent_off`: the percentage taken off, from 0 to 100. A float or double is rounded to
    /// cents, an integer to a whole number, a decimal to its scale, half away from zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<f64>,
    /// `percent_off`: take it off only when this field holds `equals` (ignoring case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when_field: Option<String>,
    /// `percent_off` with `when_field`: the value that field must hold, ignoring case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
    /// `rename`: the field's new name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// `mask`: a file holding a secret key, less one trailing line break; the value becomes the
    /// hex HMAC-SHA-256 of its text under that key. Without one, its plain SHA-256, which
    /// anyone can compute for a value they guess (an e-mail address, a phone number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
}

/// A field and the value it must hold, ignoring case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldEquals {
    /// The field, by its name at the step.
    pub field: String,
    /// The value, as configured.
    pub value: String,
}

/// One step, with exactly what it needs.
#[derive(Debug, Clone, PartialEq)]
pub enum TransformStep {
    /// The text of `field` in upper case.
    UpperCase {
        /// The field.
        field: String,
    },
    /// `percent` percent taken off the number in `field`, when `when` holds (always without).
    PercentOff {
        /// The field.
        field: String,
        /// From 0 to 100.
        percent: f64,
        /// The condition, if any.
        when: Option<FieldEquals>,
    },
    /// `field` named `to` from here on.
    Rename {
        /// The field.
        field: String,
        /// Its new name.
        to: String,
    },
    /// `field` left out of the line.
    Drop {
        /// The field.
        field: String,
    },
    /// The value of `field` replaced by its hash.
    Mask {
        /// The field.
        field: String,
        /// The file holding the HMAC key; `None`: plain SHA-256.
        key_file: Option<PathBuf>,
    },
}

impl TransformStep {
    /// The field the step acts on.
    pub fn field(&self) -> &str {
        match self {
            Self::UpperCase { field }
            | Self::PercentOff { field, .. }
            | Self::Rename { field, .. }
            | Self::Drop { field }
            | Self::Mask { field, .. } => field,
        }
    }

    /// What the step does, as the configuration names it.
    pub fn op(&self) -> TransformOp {
        match self {
            Self::UpperCase { .. } => TransformOp::UpperCase,
            Self::PercentOff { .. } => TransformOp::PercentOff,
            Self::Rename { .. } => TransformOp::Rename,
            Self::Drop { .. } => TransformOp::Drop,
            Self::Mask { .. } => TransformOp::Mask,
        }
    }

    /// A `mask` step's key, read from its file (less one trailing line break); `None` for a
    /// plain hash or another step. `index` names the step in an error.
    pub fn mask_key(&self, index: usize) -> Result<Option<Vec<u8>>, SettingsError> {
        let Self::Mask {
            key_file: Some(path),
            ..
        } = self
        else {
            return Ok(None);
        };
        let mut key = std::fs::read(path).map_err(|error| {
            unworkable(
                format!("transform.steps[{index}].key_file"),
                format!("`{}` cannot be read: {error}", path.display()),
            )
        })?;
        if key.ends_with(b"\r\n") {
            key.truncate(key.len() - 2);
        } else if key.ends_with(b"\n") {
            key.truncate(key.len() - 1);
        }
        if key.is_empty() {
            return Err(unworkable(
                format!("transform.steps[{index}].key_file"),
                format!("`{}` is empty: a mask key must not be", path.display()),
            ));
        }
        Ok(Some(key))
    }
}

impl TransformSettings {
    /// The steps the shipped `sluice.toml` configures for the product table: `category` in
    /// upper case, and 10 % off `price` when the category is `electronics`.
    pub fn product_example() -> Self {
        let step = TransformStepSettings::new;
        Self {
            steps: vec![
                step(TransformOp::UpperCase, "category"),
                TransformStepSettings {
                    percent: Some(10.0),
                    when_field: Some("category".into()),
                    equals: Some("electronics".into()),
                    ..step(TransformOp::PercentOff, "price")
                },
            ],
        }
    }

    /// The steps, each checked to have what it needs and nothing it does not use, and none
    /// acting on the `key` or `timestamp` column (which identify a line's row and version).
    pub fn steps(&self, key: &str, timestamp: &str) -> Result<Vec<TransformStep>, SettingsError> {
        self.steps
            .iter()
            .enumerate()
            .map(|(index, step)| step.typed(index, key, timestamp))
            .collect()
    }

    /// Relative `key_file`s made relative to `folder` (the configuration file's).
    pub(super) fn resolve_against(&mut self, folder: &Path) {
        for step in &mut self.steps {
            if let Some(file) = &mut step.key_file {
                if !file.is_empty() && Path::new(file.as_str()).is_relative() {
                    *file = folder.join(file.as_str()).display().to_string();
                }
            }
        }
    }
}

impl TransformStepSettings {
    /// A step `op` on `field`, with none of the keys only some steps take.
    pub fn new(op: TransformOp, field: &str) -> Self {
        Self {
            op,
            field: field.into(),
            percent: None,
            when_field: None,
            equals: None,
            to: None,
            key_file: None,
        }
    }

    fn typed(
        &self,
        index: usize,
        key: &str,
        timestamp: &str,
    ) -> Result<TransformStep, SettingsError> {
        let at = |name: &str| format!("transform.steps[{index}].{name}");
        let op = self.op;
        let unused = |name: &str, set: bool| {
            if set {
                Err(unworkable(
                    at(name),
                    format!("is not used by `{op}`: remove it"),
                ))
            } else {
                Ok(())
            }
        };
        let needed = |name: &str, value: &Option<String>| -> Result<String, SettingsError> {
            match value.as_deref().map(str::trim) {
                Some(text) if !text.is_empty() => Ok(text.to_owned()),
                _ => Err(unworkable(at(name), format!("is needed by `{op}`"))),
            }
        };
        let field = self.field.trim().to_owned();
        if field.is_empty() {
            return Err(unworkable(at("field"), "is empty"));
        }
        if field == key || field == timestamp {
            return Err(unworkable(
                at("field"),
                format!(
                    "`{field}` is the key or the change-time column: lines need it as the table \
                     holds it (delete lines, sluice-verify and loaders find a row's versions by \
                     it)"
                ),
            ));
        }
        if op != TransformOp::PercentOff {
            unused("percent", self.percent.is_some())?;
            unused("when_field", self.when_field.is_some())?;
            unused("equals", self.equals.is_some())?;
        }
        if op != TransformOp::Rename {
            unused("to", self.to.is_some())?;
        }
        if op != TransformOp::Mask {
            unused("key_file", self.key_file.is_some())?;
        }
        Ok(match op {
            TransformOp::UpperCase => TransformStep::UpperCase { field },
            TransformOp::Drop => TransformStep::Drop { field },
            TransformOp::Rename => {
                let to = needed("to", &self.to)?;
                if to == key || to == timestamp {
                    return Err(unworkable(
                        at("to"),
                        format!("`{to}` is the key or the change-time column's name"),
                    ));
                }
                TransformStep::Rename { field, to }
            }
            TransformOp::Mask => TransformStep::Mask {
                field,
                key_file: self
                    .key_file
                    .as_deref()
                    .filter(|file| !file.is_empty())
                    .map(PathBuf::from),
            },
            TransformOp::PercentOff => {
                let percent = self
                    .percent
                    .ok_or_else(|| unworkable(at("percent"), "is needed by `percent_off`"))?;
                if !(0.0..=100.0).contains(&percent) {
                    return Err(unworkable(
                        at("percent"),
                        format!("must be between 0 and 100, got {percent}"),
                    ));
                }
                let when = match (&self.when_field, &self.equals) {
                    (None, None) => None,
                    (Some(_), _) => Some(FieldEquals {
                        field: needed("when_field", &self.when_field)?,
                        value: self.equals.clone().ok_or_else(|| {
                            unworkable(at("equals"), "is needed with `when_field`")
                        })?,
                    }),
                    (None, Some(_)) => {
                        return Err(unworkable(at("equals"), "is used only with `when_field`"))
                    }
                };
                TransformStep::PercentOff {
                    field,
                    percent,
                    when,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(op: TransformOp, field: &str) -> TransformStepSettings {
        TransformStepSettings::new(op, field)
    }

    fn typed(steps: Vec<TransformStepSettings>) -> Result<Vec<TransformStep>, String> {
        TransformSettings { steps }
            .steps("id", "last_updated")
            .map_err(|error| error.to_string())
    }

    #[test]
    fn the_product_example_is_upper_case_then_a_conditional_discount() {
        let steps = TransformSettings::product_example()
            .steps("id", "last_updated")
            .expect("valid");
        assert_eq!(
            steps,
            vec![
                TransformStep::UpperCase {
                    field: "category".into()
                },
                TransformStep::PercentOff {
                    field: "price".into(),
                    percent: 10.0,
                    when: Some(FieldEquals {
                        field: "category".into(),
                        value: "electronics".into()
                    }),
                },
            ]
        );
    }

    #[test]
    fn a_step_missing_what_it_needs_or_carrying_what_it_does_not_use_is_named() {
        assert_eq!(
            typed(vec![
                step(TransformOp::Drop, "x"),
                step(TransformOp::Rename, "y")
            ])
            .unwrap_err(),
            "invalid configuration: transform.steps[1].to is needed by `rename`"
        );
        let mut upper = step(TransformOp::UpperCase, "x");
        upper.percent = Some(5.0);
        assert_eq!(
            typed(vec![upper]).unwrap_err(),
            "invalid configuration: transform.steps[0].percent is not used by `upper_case`: remove it"
        );
        let mut off = step(TransformOp::PercentOff, "price");
        off.percent = Some(101.0);
        assert!(typed(vec![off.clone()])
            .unwrap_err()
            .contains("between 0 and 100"));
        off.percent = Some(5.0);
        off.equals = Some("toys".into());
        assert!(typed(vec![off.clone()])
            .unwrap_err()
            .contains("equals is used only with `when_field`"));
        off.equals = None;
        off.when_field = Some("category".into());
        assert!(typed(vec![off]).unwrap_err().contains("equals is needed"));
    }

    #[test]
    fn the_key_and_the_change_time_are_never_a_steps_field() {
        for field in ["id", "last_updated"] {
            let error = typed(vec![step(TransformOp::Mask, field)]).unwrap_err();
            assert!(
                error.contains("is the key or the change-time column"),
                "{error}"
            );
        }
        let mut rename = step(TransformOp::Rename, "code");
        rename.to = Some("id".into());
        assert!(typed(vec![rename])
            .unwrap_err()
            .contains("transform.steps[0].to"));
    }

    #[test]
    fn a_mask_key_loses_one_line_break_and_must_not_be_empty() {
        let folder = std::env::temp_dir().join(format!("sluice-mask-key-{}", std::process::id()));
        std::fs::create_dir_all(&folder).expect("folder");
        let file = folder.join("key");
        let mask = |path: &Path| TransformStep::Mask {
            field: "email".into(),
            key_file: Some(path.to_path_buf()),
        };
        std::fs::write(&file, "s3cret\n").expect("write");
        assert_eq!(
            mask(&file).mask_key(0).expect("read"),
            Some(b"s3cret".to_vec())
        );
        std::fs::write(&file, "\n").expect("write");
        assert!(mask(&file)
            .mask_key(2)
            .unwrap_err()
            .to_string()
            .contains("steps[2].key_file"));
        assert!(mask(&folder.join("absent")).mask_key(0).is_err());
        std::fs::remove_dir_all(&folder).expect("clean up");
    }
}
