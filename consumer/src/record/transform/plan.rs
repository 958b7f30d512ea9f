//! The steps compiled against one reader schema: what each does to which field, by index.
//!
//! Invariant: a plan's operations read and write the decoded record's fields by their index
//! in the reader schema, which is the order decoding gives them; names are resolved here once,
//! through the renames and drops of the steps before each, so no record looks a name up.

use apache_avro::schema::RecordSchema;
use apache_avro::types::Value;
use apache_avro::Schema;
use rust_decimal::Decimal;
use sluice_common::settings::TransformStep;

use super::field_ops::{self, Masker, Number};
use super::{TransformError, Transformed};

/// One configured step, with what it needs at run time made once.
#[derive(Debug)]
pub struct Step {
    /// Its place in `transform.steps`.
    pub index: usize,
    /// As configured.
    pub configured: TransformStep,
    /// `percent_off`: the percent, exact.
    percent: Decimal,
    /// `percent_off` with a condition: the value, in upper case.
    equals_upper: String,
    /// `mask`: the hasher.
    masker: Option<Masker>,
}

impl Step {
    /// The step at `index`, its percent made exact and its mask key read.
    pub fn new(index: usize, configured: TransformStep) -> Result<Self, TransformError> {
        let (mut percent, mut equals_upper, mut masker) = (Decimal::ZERO, String::new(), None);
        match &configured {
            TransformStep::PercentOff {
                percent: value,
                when,
                ..
            } => {
                percent = value
                    .to_string()
                    .parse()
                    .map_err(|_| TransformError::Percent {
                        index,
                        percent: *value,
                    })?;
                if let Some(when) = when {
                    equals_upper = when.value.to_uppercase();
                }
            }
            TransformStep::Mask { .. } => {
                masker = Some(Masker::new(configured.mask_key(index)?.as_deref()));
            }
            _ => {}
        }
        Ok(Self {
            index,
            configured,
            percent,
            equals_upper,
            masker,
        })
    }

    fn describe(&self) -> String {
        format!("{} of `{}`", self.configured.op(), self.configured.field())
    }
}

/// What one step does to one field's value.
#[derive(Debug, Clone)]
enum Change {
    UpperCase,
    PercentOff {
        percent: Decimal,
        number: Number,
        /// Only when the field at this index holds this text, ignoring case.
        when: Option<(usize, String)>,
    },
    Mask {
        masker: Masker,
        schema: Schema,
    },
}

#[derive(Debug, Clone)]
struct FieldChange {
    step: usize,
    index: usize,
    change: Change,
}

/// The steps against one reader schema.
#[derive(Debug)]
pub struct Plan {
    changes: Vec<FieldChange>,
    /// The line's fields (reader index and name) when steps rename or drop; `None`: the
    /// reader's fields as they are.
    reshaped: Option<Vec<(usize, String)>>,
    /// The reader's field names, for errors.
    names: Vec<String>,
    /// The schema of each of the line's fields.
    schemas: Vec<Schema>,
    /// Steps skipped because the schema lacks their field (never in a strict plan).
    pub skipped: Vec<String>,
}

impl Plan {
    /// Compiles `steps` against `reader`. `strict`: a field a step names must be there.
    pub fn new(steps: &[Step], reader: &Schema, strict: bool) -> Result<Self, TransformError> {
        let Schema::Record(RecordSchema { fields, .. }) = reader else {
            return Err(TransformError::NotARecord);
        };
        let mut live: Vec<(usize, String)> = fields
            .iter()
            .enumerate()
            .map(|(index, field)| (index, field.name.clone()))
            .collect();
        let mut masked = vec![false; fields.len()];
        let (mut changes, mut skipped, mut reshaped) = (Vec::new(), Vec::new(), false);
        for step in steps {
            let problem = |problem: String| TransformError::Step {
                index: step.index,
                step: step.describe(),
                problem,
            };
            let find = |name: &str| live.iter().position(|(_, live_name)| live_name == name);
            let missing = |name: &str| {
                let names: Vec<&str> = live.iter().map(|(_, name)| name.as_str()).collect();
                format!(
                    "the reader schema has no field `{name}` at this step (it has {})",
                    names.join(", ")
                )
            };
            let mut wanted = vec![step.configured.field()];
            if let TransformStep::PercentOff {
                when: Some(when), ..
            } = &step.configured
            {
                wanted.push(&when.field);
            }
            if let Some(absent) = wanted.iter().find(|name| find(name).is_none()) {
                if strict {
                    return Err(problem(missing(absent)));
                }
                skipped.push(format!(
                    "transform.steps[{}] ({}): {}",
                    step.index,
                    step.describe(),
                    missing(absent)
                ));
                continue;
            }
            let at = find(step.configured.field()).unwrap_or_default();
            let index = live[at].0;
            let schema = nullable_base(&fields[index].schema);
            let change = match &step.configured {
                TransformStep::UpperCase { .. } => {
                    if !is_text(schema) || masked[index] {
                        return Err(problem(format!("`{}` is not text", live[at].1)));
                    }
                    Change::UpperCase
                }
                TransformStep::PercentOff { when, .. } => {
                    let number = Number::of(schema)
                        .filter(|_| !masked[index])
                        .ok_or_else(|| problem(format!("`{}` is not a number", live[at].1)))?;
                    let when = match when {
                        Some(when) => {
                            let condition = live[find(&when.field).unwrap_or_default()].0;
                            if !is_text(nullable_base(&fields[condition].schema)) {
                                return Err(problem(format!("`{}` is not text", when.field)));
                            }
                            Some((condition, step.equals_upper.clone()))
                        }
                        None => None,
                    };
                    Change::PercentOff {
                        percent: step.percent,
                        number,
                        when,
                    }
                }
                TransformStep::Mask { .. } => {
                    masked[index] = true;
                    Change::Mask {
                        masker: step.masker.clone().unwrap_or_else(|| Masker::new(None)),
                        schema: schema.clone(),
                    }
                }
                TransformStep::Rename { to, .. } => {
                    if find(to).is_some() {
                        return Err(problem(format!("a field `{to}` is there already")));
                    }
                    live[at].1 = to.clone();
                    reshaped = true;
                    continue;
                }
                TransformStep::Drop { .. } => {
                    live.remove(at);
                    reshaped = true;
                    continue;
                }
            };
            changes.push(FieldChange {
                step: step.index,
                index,
                change,
            });
        }
        let schemas = live
            .iter()
            .map(|(index, _)| {
                if masked[*index] {
                    Schema::String
                } else {
                    fields[*index].schema.clone()
                }
            })
            .collect();
        Ok(Self {
            changes,
            reshaped: reshaped.then_some(live),
            names: fields.iter().map(|field| field.name.clone()).collect(),
            schemas,
            skipped,
        })
    }

    /// The record's fields (in the reader schema's order) with every step taken.
    pub fn apply(
        &self,
        mut fields: Vec<(String, Value)>,
    ) -> Result<Transformed<'_>, TransformError> {
        if fields.len() != self.names.len() {
            return Err(TransformError::NotARecord);
        }
        for FieldChange {
            step,
            index,
            change,
        } in &self.changes
        {
            let field = &self.names[*index];
            match change {
                Change::UpperCase => field_ops::upper_case(&mut fields[*index].1)
                    .map_err(|problem| TransformError::value(*step, field, problem))?,
                Change::PercentOff {
                    percent,
                    number,
                    when,
                } => {
                    if let Some((condition, equals)) = when {
                        if !field_ops::equals_ignoring_case(&fields[*condition].1, equals) {
                            continue;
                        }
                    }
                    field_ops::percent_off(&mut fields[*index].1, *percent, *number)
                        .map_err(|problem| TransformError::value(*step, field, problem))?;
                }
                Change::Mask { masker, schema } => masker
                    .mask(&mut fields[*index].1, schema)
                    .map_err(|problem| TransformError::value(*step, field, problem))?,
            }
        }
        if let Some(line) = &self.reshaped {
            let mut values: Vec<Option<Value>> =
                fields.into_iter().map(|(_, value)| Some(value)).collect();
            fields = line
                .iter()
                .map(|(index, name)| (name.clone(), values[*index].take().unwrap_or(Value::Null)))
                .collect();
        }
        Ok(Transformed {
            fields,
            schemas: &self.schemas,
        })
    }
}

/// A step as a record written straight from its bytes takes it (see `record::flat`).
#[derive(Debug, Clone)]
pub enum PlannedChange {
    /// The reader field's text in upper case.
    UpperCase(usize),
    /// Percent off the reader field's number, when the condition field holds the text.
    PercentOff {
        /// The field.
        index: usize,
        /// The percent, exact.
        percent: Decimal,
        /// How it rounds.
        number: Number,
        /// The condition's field and its text in upper case.
        when: Option<(usize, String)>,
    },
    /// A mask, which only the generic path takes.
    Mask,
}

impl Plan {
    /// The changes, in order, by reader field index.
    pub fn planned(&self) -> Vec<PlannedChange> {
        self.changes
            .iter()
            .map(|FieldChange { index, change, .. }| match change {
                Change::UpperCase => PlannedChange::UpperCase(*index),
                Change::PercentOff {
                    percent,
                    number,
                    when,
                } => PlannedChange::PercentOff {
                    index: *index,
                    percent: *percent,
                    number: *number,
                    when: when.clone(),
                },
                Change::Mask { .. } => PlannedChange::Mask,
            })
            .collect()
    }

    /// The line's fields, in order: each one's reader field index and name.
    pub fn line_fields(&self) -> Vec<(usize, String)> {
        match &self.reshaped {
            Some(line) => line.clone(),
            None => self.names.iter().cloned().enumerate().collect(),
        }
    }
}

/// A nullable field's other branch; any other schema as it is.
fn nullable_base(schema: &Schema) -> &Schema {
    match schema {
        Schema::Union(union) => {
            let mut others = union
                .variants()
                .iter()
                .filter(|variant| !matches!(variant, Schema::Null));
            match (others.next(), others.next()) {
                (Some(only), None) => only,
                _ => schema,
            }
        }
        other => other,
    }
}

fn is_text(schema: &Schema) -> bool {
    matches!(schema, Schema::String | Schema::Enum(_) | Schema::Uuid(_))
}
