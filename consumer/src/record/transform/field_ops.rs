//! What a step does to one value. A null stays null under every step; a value of a type the
//! step cannot take is an error naming the type (the record then goes to the dead-letter topic
//! with it).

use apache_avro::types::Value;
use apache_avro::Schema;
use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use crate::record::json_line::write_value;
use crate::record::price::{discount_f32, discount_f64, discount_integer, discount_unscaled};

/// The kind of number a `percent_off` field holds, and so how it is rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Number {
    /// `float` or `double`: to cents.
    Float,
    /// `int` or `long`: to a whole number.
    Integer,
    /// A decimal logical type: to its scale.
    Decimal {
        /// Its scale.
        scale: u32,
    },
}

impl Number {
    /// The kind of `schema`, when it is a number.
    pub fn of(schema: &Schema) -> Option<Self> {
        match schema {
            Schema::Float | Schema::Double => Some(Self::Float),
            Schema::Int | Schema::Long => Some(Self::Integer),
            Schema::Decimal(decimal) => u32::try_from(decimal.scale)
                .ok()
                .map(|scale| Self::Decimal { scale }),
            _ => None,
        }
    }
}

/// A union's value, or the value itself.
fn inner_mut(value: &mut Value) -> &mut Value {
    match value {
        Value::Union(_, inner) => inner_mut(inner),
        other => other,
    }
}

fn inner(value: &Value) -> &Value {
    match value {
        Value::Union(_, inner) => self::inner(inner),
        other => other,
    }
}

fn kind(value: &Value) -> String {
    let text = format!("{value:?}");
    text.split(['(', ' ']).next().unwrap_or("value").to_owned()
}

/// The text of `value` in upper case.
pub fn upper_case(value: &mut Value) -> Result<(), String> {
    match inner_mut(value) {
        Value::Null => {}
        Value::String(text) | Value::Enum(_, text) => *text = text.to_uppercase(),
        other => {
            return Err(format!(
                "upper_case needs text, the record holds {}",
                kind(other)
            ))
        }
    }
    Ok(())
}

/// Whether `value` is text equal to `upper`, ignoring case (`upper` is in upper case).
pub fn equals_ignoring_case(value: &Value, upper: &str) -> bool {
    match inner(value) {
        Value::String(text) | Value::Enum(_, text) => equals_ignoring_case_text(text, upper),
        _ => false,
    }
}

/// Whether `text` equals `upper`, ignoring case (`upper` is in upper case).
pub fn equals_ignoring_case_text(text: &str, upper: &str) -> bool {
    text == upper || text.to_uppercase() == upper
}

/// `percent` percent taken off the number in `value`, rounded as its kind is.
pub fn percent_off(value: &mut Value, percent: Decimal, number: Number) -> Result<(), String> {
    match (inner_mut(value), number) {
        (Value::Null, _) => {}
        (Value::Float(price), _) => {
            *price = discount_f32(*price, percent).map_err(|e| e.to_string())?
        }
        (Value::Double(price), _) => {
            *price = discount_f64(*price, percent).map_err(|e| e.to_string())?
        }
        (Value::Int(whole), _) => {
            let discounted =
                discount_integer(i64::from(*whole), percent).map_err(|e| e.to_string())?;
            *whole = i32::try_from(discounted).map_err(|e| e.to_string())?;
        }
        (Value::Long(whole), _) => {
            *whole = discount_integer(*whole, percent).map_err(|e| e.to_string())?
        }
        (Value::Decimal(decimal), Number::Decimal { scale }) => {
            let bytes = <Vec<u8>>::try_from(&*decimal).map_err(|e| e.to_string())?;
            let unscaled = unscaled(&bytes).ok_or("a decimal of more than 38 digits")?;
            let discounted =
                discount_unscaled(unscaled, scale, percent).map_err(|e| e.to_string())?;
            *decimal = minimal_twos_complement(discounted).into();
        }
        (other, _) => {
            return Err(format!(
                "percent_off needs a number, the record holds {}",
                kind(other)
            ))
        }
    }
    Ok(())
}

/// A decimal's big-endian two's-complement bytes as an integer; `None` beyond 16 bytes.
fn unscaled(bytes: &[u8]) -> Option<i128> {
    if bytes.len() > 16 {
        return None;
    }
    let negative = bytes.first().is_some_and(|first| first & 0x80 != 0);
    Some(
        bytes
            .iter()
            .fold(if negative { -1 } else { 0 }, |value: i128, byte| {
                (value << 8) | i128::from(*byte)
            }),
    )
}

/// The fewest big-endian two's-complement bytes that hold `value`.
fn minimal_twos_complement(value: i128) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let mut start = 0;
    while start + 1 < bytes.len() {
        let (head, next) = (bytes[start], bytes[start + 1]);
        let redundant = (head == 0x00 && next & 0x80 == 0) || (head == 0xFF && next & 0x80 != 0);
        if !redundant {
            break;
        }
        start += 1;
    }
    bytes[start..].to_vec()
}

/// Replaces a value by the lowercase hex SHA-256 of its text (HMAC-SHA-256 under a key).
/// The text hashed is what the line would show: a string's characters (not JSON-escaped), a
/// number's digits, a date's or decimal's text, bytes in base64.
#[derive(Clone)]
pub struct Masker {
    /// The keyed hasher, before any input (cloned for each value).
    keyed: Option<Box<Hmac<Sha256>>>,
}

impl std::fmt::Debug for Masker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.keyed.is_some() {
            "Masker(keyed)"
        } else {
            "Masker(plain)"
        })
    }
}

impl Masker {
    /// A hasher under `key`, or plain SHA-256 without one.
    pub fn new(key: Option<&[u8]>) -> Self {
        Self {
            keyed: key
                .and_then(|key| Hmac::<Sha256>::new_from_slice(key).ok())
                .map(Box::new),
        }
    }

    /// `value` (of `schema`, a nullable field's other branch) replaced by its hash; a null
    /// stays null.
    pub fn mask(&self, value: &mut Value, schema: &Schema) -> Result<(), String> {
        let text = match inner(value) {
            Value::Null => return Ok(()),
            Value::String(text) | Value::Enum(_, text) => text.clone(),
            other => {
                let mut json = Vec::new();
                write_value(other, Some(schema), &mut json).map_err(|e| e.to_string())?;
                if json.first() == Some(&b'"') {
                    serde_json::from_slice::<String>(&json).map_err(|e| e.to_string())?
                } else {
                    String::from_utf8(json).map_err(|e| e.to_string())?
                }
            }
        };
        *value = Value::String(self.hash(text.as_bytes()));
        Ok(())
    }

    /// The lowercase hex digest of `bytes`.
    pub fn hash(&self, bytes: &[u8]) -> String {
        let digest: [u8; 32] = match &self.keyed {
            Some(keyed) => {
                let mut mac = Hmac::<Sha256>::clone(keyed);
                mac.update(bytes);
                mac.finalize().into_bytes().into()
            }
            None => Sha256::digest(bytes).into(),
        };
        digest.iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_bytes_read_and_write_as_twos_complement() {
        for value in [
            0_i128,
            1,
            -1,
            127,
            128,
            -128,
            -129,
            1_250,
            -1_250,
            i128::MAX,
            i128::MIN,
        ] {
            let bytes = minimal_twos_complement(value);
            assert_eq!(unscaled(&bytes), Some(value), "{value}");
        }
        assert_eq!(minimal_twos_complement(128), vec![0x00, 0x80]);
        assert_eq!(minimal_twos_complement(-1_250), vec![0xFB, 0x1E]);
        assert_eq!(unscaled(&[0xFF; 17]), None);
    }

    #[test]
    fn hashes_are_sha256_or_hmac_in_lowercase_hex() {
        // Known answers: SHA-256("abc"), and RFC 4231's test case 2 for HMAC-SHA-256.
        assert_eq!(
            Masker::new(None).hash(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            Masker::new(Some(b"Jefe")).hash(b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_number_is_hashed_as_the_line_writes_it_and_null_stays() {
        let masker = Masker::new(None);
        let mut price = Value::Union(1, Box::new(Value::Float(19.99)));
        masker.mask(&mut price, &Schema::Float).expect("masks");
        assert_eq!(price, Value::String(masker.hash(b"19.99")));
        let mut null = Value::Union(0, Box::new(Value::Null));
        masker.mask(&mut null, &Schema::Float).expect("masks");
        assert_eq!(null, Value::Union(0, Box::new(Value::Null)));
    }

    #[test]
    fn steps_refuse_values_of_another_type_by_name() {
        let error = upper_case(&mut Value::Int(3)).expect_err("not text");
        assert_eq!(error, "upper_case needs text, the record holds Int");
        let error = percent_off(&mut Value::String("x".into()), Decimal::TEN, Number::Float)
            .expect_err("not a number");
        assert_eq!(error, "percent_off needs a number, the record holds String");
    }
}
