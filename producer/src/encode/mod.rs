//! Rows to Confluent wire-format records (`sluice_registry::WireFormat`): the header, then the
//! Avro binary datum, written straight from the row through the column plan into one reused
//! buffer.

pub mod avro_binary;
pub mod datum;

use sluice_registry::{SchemaId, WireFormat};
use sqlx::mysql::MySqlRow;

use crate::source::cell::Cell;
use crate::source::columns::{ColumnPlan, ValueKind};
use crate::source::row::RowError;

/// Encodes records of one writer schema, whose plan it holds, under the schema's registered id.
pub struct RecordEncoder {
    plan: ColumnPlan,
    schema_id: SchemaId,
}

impl RecordEncoder {
    /// An encoder for rows read through `plan`, whose writer schema is registered as `schema_id`.
    pub fn new(plan: ColumnPlan, schema_id: SchemaId) -> Self {
        Self { plan, schema_id }
    }

    /// The registry id written in front of every record.
    pub fn schema_id(&self) -> SchemaId {
        self.schema_id
    }

    /// The plan the rows are read with.
    pub fn plan(&self) -> &ColumnPlan {
        &self.plan
    }

    /// Replaces `out` with the row's record as Kafka carries it.
    pub fn encode(&self, row: &MySqlRow, out: &mut Vec<u8>) -> Result<(), RowError> {
        WireFormat::write_header(self.schema_id, out);
        datum::write_avro(row, &self.plan, out)
    }

    /// Replaces `out` with the record of the cells `cell_at` reads: the cell of the plan's
    /// column at an index, as a kind (see [`datum::write_fields`]).
    pub fn encode_cells<'r>(
        &self,
        cell_at: impl FnMut(usize, ValueKind) -> Result<Option<Cell<'r>>, String>,
        out: &mut Vec<u8>,
    ) -> Result<(), RowError> {
        WireFormat::write_header(self.schema_id, out);
        datum::write_fields(&self.plan, cell_at, out)
    }
}
