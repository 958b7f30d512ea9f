//! From a Kafka record to its line: decoded by its writer schema into the reader schema
//! (`decode`), transformed (`transform`, with `price`), written as JSON (`json_line`);
//! `render` does the three for one record.

pub mod decode;
pub mod json_line;
pub mod price;
pub mod render;
pub mod transform;
