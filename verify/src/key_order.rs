//! Keys of any type in one order both sides agree on: the judge merges the table's rows, read in
//! this order, with the lines' versions, sorted in it.
//!
//! A version carries its key as one `i64`, so ten million lines stay small. An integer key is
//! that number (a `BIGINT UNSIGNED`, which a line shows as a decimal string, with its top bit
//! flipped so the order holds). A string or binary key is ranked: while the lines are read each
//! distinct key gets a provisional number; once all are read the keys are sorted by their bytes
//! (a string's UTF-8, a binary key's raw bytes: the order of `ORDER BY CAST(key AS BINARY)`)
//! and the key at place `j` ranks `2j + 1`. A row's key ranks the same when lines hold it, and
//! `2i` (`i` keys sort before it) when none do, so it still falls between its neighbours.
//! Equality is of bytes, never of a collation: two keys a case-insensitive collation takes
//! for one are two keys on the topic and in the files.

use std::collections::HashMap;

use apache_avro::Schema;
use base64::Engine as _;
use serde_json::Value;

/// How the key field's values are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// A JSON number.
    Signed,
    /// A `decimal(20, 0)` of a `BIGINT UNSIGNED`: decimal text.
    Unsigned,
    /// Text.
    Text,
    /// Bytes, which a line shows in base64.
    Bytes,
}

impl KeyType {
    /// The type of a key field of `schema` (`None`: the reader schema has no such field, and
    /// keys are read as numbers).
    pub fn of_field(schema: Option<&Schema>) -> Self {
        match schema {
            Some(Schema::Decimal(_)) => Self::Unsigned,
            Some(Schema::String | Schema::Uuid(_) | Schema::Enum(_)) => Self::Text,
            Some(Schema::Bytes | Schema::Fixed(_)) => Self::Bytes,
            _ => Self::Signed,
        }
    }
}

/// The keys' order, and for ranked keys the keys themselves.
#[derive(Debug)]
pub struct KeyOrder {
    key_type: KeyType,
    /// Ranked keys while the lines are read: each distinct key's provisional number.
    numbered: HashMap<Vec<u8>, i64>,
    /// Ranked keys once read, in order.
    sorted: Vec<Vec<u8>>,
}

impl KeyOrder {
    /// An order of keys of `key_type`.
    pub fn new(key_type: KeyType) -> Self {
        Self {
            key_type,
            numbered: HashMap::new(),
            sorted: Vec::new(),
        }
    }

    /// The type of keys.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The number of a line's key while the lines are read: final for an integer key,
    /// provisional for a ranked one (see [`KeyOrder::rank`]).
    pub fn line_key(&mut self, value: &Value) -> Result<i64, String> {
        let bytes = match self.key_type {
            KeyType::Signed | KeyType::Unsigned => return self.integer(value),
            KeyType::Text | KeyType::Bytes => self.bytes_of(value)?,
        };
        let next = self.numbered.len() as i64;
        Ok(*self.numbered.entry(bytes).or_insert(next))
    }

    /// Once every line is read: replaces the provisional numbers `ids` (every line's) with
    /// ranks.
    pub fn rank<'a>(&mut self, ids: impl Iterator<Item = &'a mut i64>) {
        if self.numbered.is_empty() {
            return;
        }
        let mut keys: Vec<(Vec<u8>, i64)> = self.numbered.drain().collect();
        keys.sort_unstable();
        let mut rank_of = vec![0_i64; keys.len()];
        for (place, (_, provisional)) in keys.iter().enumerate() {
            rank_of[*provisional as usize] = 2 * place as i64 + 1;
        }
        for id in ids {
            *id = rank_of[*id as usize];
        }
        self.sorted = keys.into_iter().map(|(key, _)| key).collect();
    }

    /// The number of a table row's key (after [`KeyOrder::rank`]).
    pub fn row_key(&self, value: &Value) -> Result<i64, String> {
        match self.key_type {
            KeyType::Signed | KeyType::Unsigned => self.integer(value),
            KeyType::Text | KeyType::Bytes => {
                let bytes = self.bytes_of(value)?;
                Ok(match self.sorted.binary_search(&bytes) {
                    Ok(place) => 2 * place as i64 + 1,
                    Err(place) => 2 * place as i64,
                })
            }
        }
    }

    /// The key of number `id` as a line shows it, for a report.
    pub fn show(&self, id: i64) -> Value {
        match self.key_type {
            KeyType::Signed => Value::from(id),
            KeyType::Unsigned => Value::String(((id as u64) ^ (1 << 63)).to_string()),
            KeyType::Text | KeyType::Bytes => {
                let Some(key) = usize::try_from(id / 2)
                    .ok()
                    .filter(|_| id % 2 == 1)
                    .and_then(|place| self.sorted.get(place))
                else {
                    return Value::from(id);
                };
                match self.key_type {
                    KeyType::Text => Value::String(String::from_utf8_lossy(key).into_owned()),
                    _ => Value::String(base64::engine::general_purpose::STANDARD.encode(key)),
                }
            }
        }
    }

    /// The record key a row's key was published under, as the producer writes it: an
    /// integer's decimal text, a string's UTF-8, a binary key's raw bytes.
    pub fn record_key(&self, value: &Value) -> Option<Vec<u8>> {
        match self.key_type {
            KeyType::Signed => value.as_i64().map(|n| n.to_string().into_bytes()),
            KeyType::Unsigned => self
                .integer(value)
                .ok()
                .map(|id| ((id as u64) ^ (1 << 63)).to_string().into_bytes()),
            KeyType::Text | KeyType::Bytes => self.bytes_of(value).ok(),
        }
    }

    /// The expression the table's rows are ordered by, for key column `quoted`.
    pub fn order_by(&self, quoted: &str) -> String {
        match self.key_type {
            KeyType::Text => format!("CAST({quoted} AS BINARY)"),
            _ => quoted.to_owned(),
        }
    }

    fn integer(&self, value: &Value) -> Result<i64, String> {
        let not = |what: &str| format!("the key {value} is not {what}");
        match self.key_type {
            KeyType::Unsigned => {
                let number = match value {
                    Value::String(text) => text.parse::<u64>().ok(),
                    other => other.as_u64(),
                }
                .ok_or_else(|| not("an unsigned integer"))?;
                Ok((number ^ (1 << 63)) as i64)
            }
            _ => value.as_i64().ok_or_else(|| not("an integer")),
        }
    }

    fn bytes_of(&self, value: &Value) -> Result<Vec<u8>, String> {
        let Value::String(text) = value else {
            return Err(format!("the key {value} is not a string"));
        };
        match self.key_type {
            KeyType::Bytes => base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| format!("the key {value} is not base64")),
            _ => Ok(text.as_bytes().to_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_keys_rank_by_their_bytes_and_rows_without_lines_fall_between() {
        let mut order = KeyOrder::new(KeyType::Text);
        let lines = ["b", "B", "b ", "b", "é"];
        let mut ranks: Vec<i64> = lines
            .iter()
            .map(|key| order.line_key(&json!(key)).expect("key"))
            .collect();
        order.rank(ranks.iter_mut());
        // Bytes order: "B" < "b" < "b " < "é".
        assert_eq!(ranks, vec![3, 1, 5, 3, 7]);
        assert_eq!(order.row_key(&json!("b")), Ok(3));
        assert_eq!(order.row_key(&json!("A")), Ok(0), "before every line's key");
        assert_eq!(order.row_key(&json!("a")), Ok(2), "between B and b");
        assert_eq!(order.row_key(&json!("z")), Ok(6));
        assert_eq!(order.show(5), json!("b "));
        assert_eq!(order.record_key(&json!("b ")), Some(b"b ".to_vec()));
        assert_eq!(order.order_by("`code`"), "CAST(`code` AS BINARY)");
    }

    #[test]
    fn binary_keys_rank_by_their_raw_bytes_not_their_base64() {
        let mut order = KeyOrder::new(KeyType::Bytes);
        // 0xff sorts after 0x00 0x01; its base64 "/w==" sorts before "AAE=".
        let mut ids = vec![
            order.line_key(&json!("/w==")).expect("key"),
            order.line_key(&json!("AAE=")).expect("key"),
        ];
        order.rank(ids.iter_mut());
        assert_eq!(ids, vec![3, 1]);
        assert_eq!(order.show(3), json!("/w=="));
        assert_eq!(order.record_key(&json!("/w==")), Some(vec![0xff]));
        assert!(order.row_key(&json!("not base64!")).is_err());
    }

    #[test]
    fn integer_keys_are_their_own_order() {
        let mut signed = KeyOrder::new(KeyType::Signed);
        assert_eq!(signed.line_key(&json!(-4)), Ok(-4));
        assert_eq!(signed.show(-4), json!(-4));
        assert_eq!(signed.record_key(&json!(42)), Some(b"42".to_vec()));
        assert!(signed.line_key(&json!("4")).is_err());

        let unsigned = KeyOrder::new(KeyType::Unsigned);
        let big = unsigned
            .row_key(&json!("18446744073709551615"))
            .expect("key");
        let small = unsigned.row_key(&json!("1")).expect("key");
        assert!(small < big);
        assert_eq!(unsigned.show(big), json!("18446744073709551615"));
        assert_eq!(
            unsigned.record_key(&json!("18446744073709551615")),
            Some(b"18446744073709551615".to_vec())
        );
    }
}
