//! Avro's binary encoding of the primitive types a table column can fill, appended straight to
//! a byte buffer. Building an `apache_avro::Value` per row and validating it cost more than the
//! rest of the producer together; the column plan already guarantees each value's type, so the
//! bytes are written directly (the tests check them against apache-avro's reader).

use crate::source::wall_time::{WallTime, RFC3339_LEN};

/// `long` (and `int`, union branch indexes, lengths): zig-zag, then 7 bits per byte, low first.
pub fn write_long(out: &mut Vec<u8>, value: i64) {
    let mut zigzag = ((value << 1) ^ (value >> 63)) as u64;
    while zigzag >= 0x80 {
        out.push((zigzag as u8 & 0x7f) | 0x80);
        zigzag >>= 7;
    }
    out.push(zigzag as u8);
}

/// `float`: four bytes, little-endian IEEE 754.
pub fn write_float(out: &mut Vec<u8>, value: f32) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// `double`: eight bytes, little-endian IEEE 754.
pub fn write_double(out: &mut Vec<u8>, value: f64) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// `boolean`: one byte, 0 or 1.
pub fn write_boolean(out: &mut Vec<u8>, value: bool) {
    out.push(u8::from(value));
}

/// `string`: its byte length as a `long`, then its UTF-8 bytes.
pub fn write_string(out: &mut Vec<u8>, value: &str) {
    write_long(out, value.len() as i64);
    out.extend_from_slice(value.as_bytes());
}

/// `bytes`: the length as a `long`, then the bytes.
pub fn write_bytes(out: &mut Vec<u8>, value: &[u8]) {
    write_long(out, value.len() as i64);
    out.extend_from_slice(value);
}

/// A `string` holding the instant as RFC 3339 in UTC with microseconds,
/// `2026-11-24T10:15:30.123456Z`, written digit by digit without an intermediate `String`.
pub fn write_timestamp_text(out: &mut Vec<u8>, at: WallTime) {
    write_long(out, RFC3339_LEN as i64);
    at.write_rfc3339(out);
}

/// Reading datums back with apache-avro, for the tests of what is written here and by rows.
#[cfg(test)]
pub(crate) mod check {
    use apache_avro::reader::datum::GenericDatumReader;
    use apache_avro::types::Value;
    use apache_avro::Schema;

    /// `bytes` read as one datum of `schema`, which must use every byte.
    pub fn decode_whole(schema: &Schema, bytes: &[u8]) -> Value {
        let reader = GenericDatumReader::builder(schema).build().expect("reader");
        let mut rest = bytes;
        let value = reader.read_value(&mut rest).expect("decodes");
        assert!(rest.is_empty(), "{} bytes left over", rest.len());
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apache_avro::types::Value;
    use apache_avro::Schema;
    use chrono::{TimeZone, Utc};

    fn read(schema: &str, bytes: &[u8]) -> Value {
        check::decode_whole(&Schema::parse_str(schema).expect("schema"), bytes)
    }

    #[test]
    fn longs_and_ints_round_trip_at_their_edges() {
        for value in [
            0,
            1,
            -1,
            63,
            -64,
            64,
            300,
            -300,
            i64::from(i32::MAX),
            i64::MIN,
            i64::MAX,
        ] {
            let mut out = Vec::new();
            write_long(&mut out, value);
            assert_eq!(read(r#""long""#, &out), Value::Long(value), "{value}");
        }
        let mut out = Vec::new();
        write_long(&mut out, i64::from(i32::MIN));
        assert_eq!(read(r#""int""#, &out), Value::Int(i32::MIN));
    }

    #[test]
    fn floats_doubles_booleans_and_strings_round_trip() {
        let mut out = Vec::new();
        write_float(&mut out, 19.99);
        assert_eq!(read(r#""float""#, &out), Value::Float(19.99));
        out.clear();
        write_double(&mut out, -0.125);
        assert_eq!(read(r#""double""#, &out), Value::Double(-0.125));
        out.clear();
        write_boolean(&mut out, true);
        assert_eq!(read(r#""boolean""#, &out), Value::Boolean(true));
        out.clear();
        write_string(&mut out, "Käse – 10 €");
        assert_eq!(
            read(r#""string""#, &out),
            Value::String("Käse – 10 €".into())
        );
    }

    #[test]
    fn timestamps_are_rfc3339_strings_with_microseconds() {
        let at = Utc
            .timestamp_opt(1_795_510_530, 123_456_000)
            .single()
            .expect("valid");
        let mut out = Vec::new();
        write_timestamp_text(&mut out, WallTime::of(&at).expect("in range"));
        assert_eq!(
            read(r#""string""#, &out),
            Value::String("2026-11-24T08:55:30.123456Z".into())
        );
        out.clear();
        let early = Utc.timestamp_opt(0, 7_000).single().expect("valid");
        write_timestamp_text(&mut out, WallTime::of(&early).expect("in range"));
        assert_eq!(
            read(r#""string""#, &out),
            Value::String("1970-01-01T00:00:00.000007Z".into())
        );
    }
}
