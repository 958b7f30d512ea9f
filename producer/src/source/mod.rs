//! Reading changed rows from MySQL: which columns feed which Avro fields, and the keyset page
//! query that walks the table in `(timestamp, key)` order.

pub mod columns;
pub mod deleted;
pub mod keyset;
pub mod plan;
pub mod read_bound;
pub mod row;
