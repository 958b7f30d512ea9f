//! The key column's values: what a row's key is, how it is read from a page, bound into a page
//! query, and written as the record key.
//!
//! A key is an integer of any width (signed, or `UNSIGNED` up to 2⁶⁴ − 1), a string (`CHAR`,
//! `VARCHAR`) or a binary string (`BINARY`, `VARBINARY`). Its record key is what a Java client
//! sends for the same value: the decimal text of an integer, the UTF-8 bytes of a string, the
//! raw bytes of a binary string. So a key lands on the partition any Kafka client would put it
//! on, and a compacted topic keeps one record per key.
//!
//! Invariant: **the producer never orders keys itself.** Which key comes after which is the
//! database's answer (its collation for strings: `utf8mb4_unicode_ci` ignores case and trailing
//! spaces); the producer only binds a key the database returned back into a query, and compares
//! keys for equality as bytes (two keys equal under the collation but not as bytes cannot both
//! be in the table at once, and are two keys on the topic).

use std::io::Write as _;

use sqlx::mysql::{MySqlArguments, MySqlRow};
use sqlx::query::Query;
use sqlx::{MySql, Row};

use crate::source::catalogue::TableColumn;

/// The kind of column a key is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// A signed integer column (`TINYINT` … `BIGINT`).
    Signed,
    /// An `UNSIGNED` integer column, up to `BIGINT UNSIGNED`.
    Unsigned,
    /// `CHAR` or `VARCHAR`.
    Text,
    /// `BINARY` or `VARBINARY`.
    Bytes,
}

/// A key column of a type sluice does not key records by.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "key column `{column}` is {column_type}: sluice keys records by an integer (any width, \
     signed or not), a string (CHAR, VARCHAR) or a binary string (BINARY, VARBINARY) column"
)]
pub struct UnsupportedKey {
    /// The column.
    pub column: String,
    /// Its SQL type.
    pub column_type: String,
}

impl KeyKind {
    /// The kind of `column`, or why it cannot be a key.
    pub fn of_column(column: &TableColumn) -> Result<Self, UnsupportedKey> {
        match column.data_type.as_str() {
            "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" => {
                // The driver reads an unsigned column only as an unsigned number.
                Ok(match column.unsigned() {
                    true => Self::Unsigned,
                    false => Self::Signed,
                })
            }
            "char" | "varchar" => Ok(Self::Text),
            "binary" | "varbinary" => Ok(Self::Bytes),
            _ => Err(UnsupportedKey {
                column: column.name.clone(),
                column_type: column.column_type.to_uppercase(),
            }),
        }
    }

    /// What the kind is called in messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Signed => "an integer",
            Self::Unsigned => "an unsigned integer",
            Self::Text => "a string",
            Self::Bytes => "a binary string",
        }
    }

    /// The key in column `index` of `row`.
    pub fn read(self, row: &MySqlRow, index: usize) -> Result<Key, sqlx::Error> {
        Ok(match self {
            Self::Signed => Key::Signed(row.try_get(index)?),
            Self::Unsigned => Key::Unsigned(row.try_get(index)?),
            // Unchecked: text of a `_bin` collation is flagged binary by the server.
            Self::Text => Key::Text(row.try_get_unchecked(index)?),
            Self::Bytes => Key::Bytes(row.try_get_unchecked(index)?),
        })
    }

    /// The key a record key of this kind holds; `None` when it holds none (a record of another
    /// producer).
    pub fn from_record_key(self, bytes: &[u8]) -> Option<Key> {
        match self {
            Self::Signed => std::str::from_utf8(bytes)
                .ok()?
                .parse()
                .ok()
                .map(Key::Signed),
            Self::Unsigned => std::str::from_utf8(bytes)
                .ok()?
                .parse()
                .ok()
                .map(Key::Unsigned),
            Self::Text => std::str::from_utf8(bytes)
                .ok()
                .map(|text| Key::Text(text.to_owned())),
            Self::Bytes => Some(Key::Bytes(bytes.to_vec())),
        }
    }
}

/// One key value, as the table holds it (saved tagged by kind: `{"signed": 5}`,
/// `{"text": "a"}`, `{"hex": "00ff"}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(
    into = "crate::watermark::position::SavedKey",
    try_from = "crate::watermark::position::SavedKey"
)]
pub enum Key {
    /// Of a signed integer column.
    Signed(i64),
    /// Of an unsigned integer column.
    Unsigned(u64),
    /// Of a string column.
    Text(String),
    /// Of a binary string column.
    Bytes(Vec<u8>),
}

impl Key {
    /// Appends the record key: decimal text, UTF-8, or the raw bytes.
    pub fn write_record_key(&self, out: &mut Vec<u8>) {
        self.with_record_key(|bytes| out.extend_from_slice(bytes));
    }

    /// `f` of the record key's bytes, with no buffer allocated for them.
    pub fn with_record_key<T>(&self, f: impl FnOnce(&[u8]) -> T) -> T {
        // Room for any i64 or u64 in decimal, the sign included.
        let mut digits = [0u8; 20];
        let number = |digits: &mut [u8; 20], n: &dyn std::fmt::Display| {
            let mut rest = &mut digits[..];
            let _ = write!(rest, "{n}");
            20 - rest.len()
        };
        match self {
            Self::Signed(n) => {
                let len = number(&mut digits, n);
                f(&digits[..len])
            }
            Self::Unsigned(n) => {
                let len = number(&mut digits, n);
                f(&digits[..len])
            }
            Self::Text(text) => f(text.as_bytes()),
            Self::Bytes(bytes) => f(bytes),
        }
    }

    /// The record key, in a buffer of its own.
    pub fn record_key(&self) -> Vec<u8> {
        self.with_record_key(<[u8]>::to_vec)
    }

    /// The key of `kind` this one stands for: itself, or a non-negative signed key read as
    /// unsigned (a column widened to `BIGINT UNSIGNED`); `None` when it is of another kind.
    pub fn fit(self, kind: KeyKind) -> Option<Key> {
        match (self, kind) {
            (key @ Self::Signed(_), KeyKind::Signed)
            | (key @ Self::Unsigned(_), KeyKind::Unsigned)
            | (key @ Self::Text(_), KeyKind::Text)
            | (key @ Self::Bytes(_), KeyKind::Bytes) => Some(key),
            (Self::Signed(n), KeyKind::Unsigned) => u64::try_from(n).ok().map(Self::Unsigned),
            (Self::Unsigned(n), KeyKind::Signed) => i64::try_from(n).ok().map(Self::Signed),
            _ => None,
        }
    }

    /// `query` with this key bound as its next parameter.
    pub fn bind<'q>(
        &self,
        query: Query<'q, MySql, MySqlArguments>,
    ) -> Query<'q, MySql, MySqlArguments> {
        match self {
            Self::Signed(n) => query.bind(*n),
            Self::Unsigned(n) => query.bind(*n),
            Self::Text(text) => query.bind(text.clone()),
            Self::Bytes(bytes) => query.bind(bytes.clone()),
        }
    }
}

impl std::fmt::Display for Key {
    /// As a log shows it: a number, a string in quotes, binary in hex (`0x…`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Signed(n) => write!(f, "{n}"),
            Self::Unsigned(n) => write!(f, "{n}"),
            Self::Text(text) => write!(f, "{text:?}"),
            Self::Bytes(bytes) => {
                f.write_str("0x")?;
                bytes.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, column_type: &str) -> TableColumn {
        let data_type = column_type.split(['(', ' ']).next().unwrap_or_default();
        TableColumn {
            column_type: column_type.to_owned(),
            ..TableColumn::of_type(name, data_type)
        }
    }

    #[test]
    fn integer_string_and_binary_columns_are_keys_and_others_are_refused() {
        let kind = |column_type| KeyKind::of_column(&column("k", column_type));
        assert_eq!(kind("int(11)"), Ok(KeyKind::Signed));
        assert_eq!(kind("int(10) unsigned"), Ok(KeyKind::Unsigned));
        assert_eq!(kind("tinyint(3) unsigned"), Ok(KeyKind::Unsigned));
        assert_eq!(kind("bigint(20) unsigned"), Ok(KeyKind::Unsigned));
        assert_eq!(kind("varchar(40)"), Ok(KeyKind::Text));
        assert_eq!(kind("char(8)"), Ok(KeyKind::Text));
        assert_eq!(kind("binary(16)"), Ok(KeyKind::Bytes));
        let refused = kind("decimal(10,2)").expect_err("refused");
        assert!(
            refused.to_string().contains("`k` is DECIMAL(10,2)"),
            "{refused}"
        );
        assert!(kind("datetime").is_err());
    }

    #[test]
    fn record_keys_are_what_a_java_client_sends() {
        assert_eq!(Key::Signed(-42).record_key(), b"-42");
        assert_eq!(
            Key::Unsigned(u64::MAX).record_key(),
            b"18446744073709551615"
        );
        assert_eq!(
            Key::Text("Straße ".into()).record_key(),
            "Straße ".as_bytes()
        );
        assert_eq!(Key::Bytes(vec![0, 255, 16]).record_key(), vec![0, 255, 16]);
        for key in [
            Key::Signed(i64::MIN),
            Key::Unsigned(u64::MAX),
            Key::Text("abc ".into()),
            Key::Bytes(vec![0, 0, 1]),
        ] {
            let kind = match key {
                Key::Signed(_) => KeyKind::Signed,
                Key::Unsigned(_) => KeyKind::Unsigned,
                Key::Text(_) => KeyKind::Text,
                Key::Bytes(_) => KeyKind::Bytes,
            };
            let mut appended = b"before|".to_vec();
            key.write_record_key(&mut appended);
            assert_eq!(
                appended.strip_prefix(b"before|"),
                Some(key.record_key().as_slice()),
                "appended after what the buffer held"
            );
            assert_eq!(kind.from_record_key(&key.record_key()), Some(key));
        }
        assert_eq!(KeyKind::Signed.from_record_key(b"abc"), None);
        assert_eq!(KeyKind::Text.from_record_key(&[0xff]), None);
    }

    #[test]
    fn a_key_fits_its_own_kind_and_a_widened_integer_column() {
        assert_eq!(
            Key::Signed(7).fit(KeyKind::Unsigned),
            Some(Key::Unsigned(7))
        );
        assert_eq!(Key::Signed(-7).fit(KeyKind::Unsigned), None);
        assert_eq!(Key::Signed(7).fit(KeyKind::Text), None);
        assert_eq!(
            Key::Text("a".into()).fit(KeyKind::Text),
            Some(Key::Text("a".into()))
        );
        assert_eq!(Key::Bytes(vec![1]).to_string(), "0x01");
        assert_eq!(Key::Text("a\"b".into()).to_string(), "\"a\\\"b\"");
    }
}
