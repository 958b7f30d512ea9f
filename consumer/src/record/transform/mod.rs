//! The configured steps every record goes through before its line is written
//! (`transform.steps`): `upper_case`, `percent_off`, `rename`, `drop` and `mask`, each on one
//! field as the steps before it left it.
//!
//! The steps are compiled once per reader schema into a [`Plan`](plan::Plan): which field of
//! the decoded record each step changes, which fields the line holds under which names, and
//! the schema of each (a decimal needs its scale to be written). A record is then changed in
//! place, by field index, without looking a name up. With a pinned reader schema the plan is
//! made at start, and a step naming a field the schema lacks, or one of the wrong type, stops
//! the member there; a followed schema may lose a field the steps name later, and such a step
//! is then skipped (said once per schema, in the log).

mod field_ops;
mod plan;

pub use field_ops::{equals_ignoring_case_text, percent_off, Number};
pub use plan::{Plan, PlannedChange};

use apache_avro::types::Value;
use apache_avro::Schema;
use sluice_common::settings::{SettingsError, TransformSettings};

/// Why the transformation could not be built, or refused a record.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TransformError {
    /// A configured percent has no exact decimal form.
    #[error("transform.steps[{index}].percent {percent} has no exact decimal form")]
    Percent {
        /// The step.
        index: usize,
        /// The configured value.
        percent: f64,
    },
    /// A mask key's file cannot be read.
    #[error("{0}")]
    Key(String),
    /// The reader schema is not a record.
    #[error("the reader schema is not a record: there are no fields to transform")]
    NotARecord,
    /// A step cannot work on the reader schema (a field it lacks, or of the wrong type).
    #[error("transform.steps[{index}] ({step}): {problem}")]
    Step {
        /// The step.
        index: usize,
        /// What it is, e.g. `upper_case of category`.
        step: String,
        /// What is wrong.
        problem: String,
    },
    /// A record's value cannot take a step.
    #[error("transform.steps[{index}] on `{field}`: {problem}")]
    Value {
        /// The step.
        index: usize,
        /// The field, by its name in the reader schema.
        field: String,
        /// What is wrong.
        problem: String,
    },
}

impl From<SettingsError> for TransformError {
    fn from(error: SettingsError) -> Self {
        Self::Key(error.to_string())
    }
}

impl TransformError {
    fn value(index: usize, field: &str, problem: impl ToString) -> Self {
        Self::Value {
            index,
            field: field.to_owned(),
            problem: problem.to_string(),
        }
    }
}

/// A record ready to be written: its fields, named as the line names them, and their schemas.
#[derive(Debug)]
pub struct Transformed<'a> {
    /// The fields, in the line's order.
    pub fields: Vec<(String, Value)>,
    /// The schema of each field.
    pub schemas: &'a [Schema],
}

/// The configured steps, and the plan for the reader schema last seen.
#[derive(Debug, Default)]
pub struct Transform {
    steps: Vec<plan::Step>,
    /// The plan and the address of the reader schema it was made for (reader schemas live as
    /// long as the process, so an address names one).
    plan: Option<(usize, Result<Plan, TransformError>)>,
}

impl Transform {
    /// The configured steps (already validated at load), mask keys read from their files.
    pub fn new(
        settings: &TransformSettings,
        key: &str,
        timestamp: &str,
    ) -> Result<Self, TransformError> {
        let steps = settings
            .steps(key, timestamp)?
            .into_iter()
            .enumerate()
            .map(|(index, step)| plan::Step::new(index, step))
            .collect::<Result<_, _>>()?;
        Ok(Self { steps, plan: None })
    }

    /// Checks every step against `reader`: each field it names is there, of a type it can
    /// take. A pinned reader schema is checked at start.
    pub fn check(&self, reader: &Schema) -> Result<(), TransformError> {
        Plan::new(&self.steps, reader, true).map(|_| ())
    }

    /// Checks the steps against `reader` as a followed schema is: the steps skipped for it
    /// (their field is not there), each said with its index; an error for a step that cannot
    /// work on it.
    pub fn skipped_on(&self, reader: &Schema) -> Result<Vec<String>, TransformError> {
        Plan::new(&self.steps, reader, false).map(|plan| plan.skipped)
    }

    /// `record`, a value of `reader`, with every step taken.
    pub fn apply(
        &mut self,
        record: Value,
        reader: &'static Schema,
    ) -> Result<Transformed<'_>, TransformError> {
        let plan = self.plan_for(reader)?;
        let Value::Record(fields) = record else {
            return Err(TransformError::NotARecord);
        };
        plan.apply(fields)
    }

    /// The steps compiled against `reader` (made once per reader schema).
    pub fn plan_for(&mut self, reader: &'static Schema) -> Result<&Plan, TransformError> {
        let address = reader as *const Schema as usize;
        if self.plan.as_ref().map(|(at, _)| *at) != Some(address) {
            let plan = Plan::new(&self.steps, reader, false);
            if let Ok(plan) = &plan {
                for skipped in &plan.skipped {
                    tracing::warn!("{skipped}: the step is skipped for records of this schema");
                }
            }
            self.plan = Some((address, plan));
        }
        match &self.plan {
            Some((_, Ok(plan))) => Ok(plan),
            Some((_, Err(error))) => Err(error.clone()),
            None => Err(TransformError::NotARecord),
        }
    }
}

#[cfg(test)]
mod tests;
