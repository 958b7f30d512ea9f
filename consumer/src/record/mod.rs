//! From a Kafka record to its line: decoded by its writer schema into the reader schema
//! (`decode`), put through the configured steps (`transform`, with `price` for `percent_off`),
//! written as JSON (`json_line`, with `logical_text` for the values JSON has no type for);
//! `render` does the three for one record (or, when every field is flat, `flat` writes the
//! line from the record's bytes in one pass), and writes a tombstone's delete line with its key
//! shown by `delete_key`.

pub mod decode;
pub mod delete_key;
pub mod flat;
pub mod instant;
pub mod json_line;
pub mod logical_text;
pub mod price;
pub mod render;
pub mod transform;
