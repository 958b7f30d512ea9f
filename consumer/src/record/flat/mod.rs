//! Records whose fields are all flat (primitives, dates and times, nullable ones) written from
//! their Avro bytes straight to their JSON line, without building `apache_avro::Value`s: the
//! generic path (`decode`, `transform`, `json_line`) allocated a name and a value for every
//! field of every record, most of a member's CPU. Each (writer schema, reader schema) pair
//! gets a [`FlatPlan`] once; a pair or a record the plan cannot take goes the generic way, which
//! stays the reference: both write the same line (the tests compare them).

mod line;
mod plan;

use std::collections::HashMap;

use apache_avro::Schema;
use chrono::{DateTime, Utc};
use sluice_registry::SchemaId;

use crate::record::transform::Plan;
pub use line::FlatWriter;
pub use plan::FlatPlan;

/// The flat plans made so far, by writer schema id and reader schema.
#[derive(Debug, Default)]
pub struct FlatLines {
    /// For each writer id: the reader schema's address (reader schemas live as long as the
    /// process) and the plan, `None` where the pair is not flat.
    plans: HashMap<SchemaId, (usize, Option<FlatPlan>)>,
    writer: FlatWriter,
}

impl FlatLines {
    /// Appends the line of `datum`, written by `writer` (registered as `id`) and read as
    /// `reader` with `steps` taken, and returns its `last_updated`; `None` (with `line` as it
    /// was) leaves the record to the generic path.
    pub fn write(
        &mut self,
        (id, writer): (SchemaId, &Schema),
        (reader, steps): (&'static Schema, &Plan),
        datum: &[u8],
        line: &mut Vec<u8>,
    ) -> Option<Option<DateTime<Utc>>> {
        let address = reader as *const Schema as usize;
        let entry = self
            .plans
            .entry(id)
            .or_insert_with(|| (address, FlatPlan::new(writer, reader, steps)));
        if entry.0 != address {
            *entry = (address, FlatPlan::new(writer, reader, steps));
        }
        let plan = entry.1.as_ref()?;
        self.writer.write(plan, datum, line)
    }
}

#[cfg(test)]
mod tests;
