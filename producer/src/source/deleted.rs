//! Soft deletes: a table that marks a removed row instead of deleting it (`deleted_at` set,
//! `is_deleted` non-zero) names that column in `producer.deleted_column`; a row read with the
//! mark is published as a tombstone, not as a record (see `sluice_common::deletes`).
//!
//! The mark is computed by the page queries themselves, as one more selected expression, so
//! every page reads the rows it reads now, through the same index, and nothing else.

use sluice_common::mysql::quote_identifier;

/// The column marking a row deleted, and how its value is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedColumn {
    /// The column's name.
    pub name: String,
    /// A number (`TINYINT`, `BOOLEAN`, …): deleted when not 0. Anything else (a time, text):
    /// deleted when not NULL.
    pub numeric: bool,
}

/// MySQL's numeric column types, as `information_schema.columns.data_type` names them
/// (`BOOLEAN` is `tinyint` there).
const NUMERIC_TYPES: &[&str] = &[
    "tinyint",
    "smallint",
    "mediumint",
    "int",
    "integer",
    "bigint",
    "bit",
    "decimal",
    "numeric",
    "float",
    "double",
];

impl DeletedColumn {
    /// The column `name` of data type `data_type` (lower case, as the catalogue gives it).
    pub fn new(name: &str, data_type: &str) -> Self {
        Self {
            name: name.to_owned(),
            numeric: NUMERIC_TYPES.contains(&data_type),
        }
    }

    /// The selected expression: 1 for a row marked deleted, 0 otherwise, as a `BIGINT`.
    pub fn expression(&self) -> String {
        let column = quote_identifier(&self.name);
        if self.numeric {
            format!("CAST(COALESCE({column} <> 0, 0) AS SIGNED)")
        } else {
            format!("CAST({column} IS NOT NULL AS SIGNED)")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_is_deleted_when_not_zero_and_a_time_when_set() {
        assert_eq!(
            DeletedColumn::new("is_deleted", "tinyint").expression(),
            "CAST(COALESCE(`is_deleted` <> 0, 0) AS SIGNED)"
        );
        assert_eq!(
            DeletedColumn::new("deleted_at", "datetime").expression(),
            "CAST(`deleted_at` IS NOT NULL AS SIGNED)"
        );
    }
}
