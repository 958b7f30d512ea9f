//! Reading changed rows from MySQL: what the catalogue says of the table, the Avro schema built
//! from it when the schema follows the table, which columns feed which Avro fields, and the
//! keyset page query that walks the table in `(timestamp, key)` order.

pub mod catalogue;
pub mod cell;
pub mod columns;
pub mod deleted;
pub mod derive;
pub mod key;
pub mod keyset;
pub mod plan;
pub mod read_bound;
pub mod row;
pub mod table_change;
pub mod wall_time;
pub mod writer_schema;
