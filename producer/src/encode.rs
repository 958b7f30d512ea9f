//! Rows to Confluent wire-format records: magic byte 0, the 4-byte big-endian schema id, then
//! the Avro binary datum, written straight from the row through the column plan into one
//! reused buffer.

use sluice_registry::SchemaId;
use sqlx::mysql::MySqlRow;

use crate::source::columns::ColumnPlan;
use crate::source::row::{self, RowError};

/// The Confluent wire format's first byte.
const MAGIC_BYTE: u8 = 0;

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
        self.write_header(out);
        row::write_avro(row, &self.plan, out)
    }

    fn write_header(&self, out: &mut Vec<u8>) {
        out.clear();
        out.push(MAGIC_BYTE);
        out.extend_from_slice(&self.schema_id.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schema_registry_converter::schema_registry_common::{get_bytes_result, BytesResult};

    #[test]
    fn the_header_is_what_confluent_clients_read() {
        let plan = ColumnPlan {
            fields: Vec::new(),
            columns: Vec::new(),
        };
        let encoder = RecordEncoder::new(plan, 0x0102_0304);
        let mut out = vec![9; 40];
        encoder.write_header(&mut out);
        out.push(42);
        assert_eq!(out, [0, 1, 2, 3, 4, 42]);
        match get_bytes_result(Some(&out)) {
            BytesResult::Valid(id, datum) => {
                assert_eq!(id, 0x0102_0304);
                assert_eq!(datum, [42]);
            }
            other => panic!("not the Confluent wire format: {other:?}"),
        }
    }
}
