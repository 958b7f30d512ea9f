//! The instant a record's `last_updated` holds, which times its line: RFC 3339 text (a schema
//! file's `string`; the producer's own form read without chrono's general parser) or a
//! timestamp logical type (a schema built from the table). The generic path and the flat one
//! both read it here, so both time a line alike.

use apache_avro::types::Value;
use chrono::{DateTime, Utc};

/// The instant of a decoded field; `None` for a value that holds none.
pub(crate) fn instant_of(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::String(text) => instant_of_text(text),
        Value::TimestampMicros(micros) | Value::LocalTimestampMicros(micros) => {
            DateTime::from_timestamp_micros(*micros)
        }
        Value::TimestampMillis(millis) | Value::LocalTimestampMillis(millis) => {
            DateTime::from_timestamp_millis(*millis)
        }
        Value::Union(_, inner) => instant_of(inner),
        _ => None,
    }
}

/// The instant of RFC 3339 text.
pub(crate) fn instant_of_text(text: &str) -> Option<DateTime<Utc>> {
    utc_micros_text(text).or_else(|| {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|at| at.to_utc())
    })
}

/// The instant of `2026-11-24T10:15:30.123456Z`, the form the producer writes, read without
/// chrono's general parser; `None` for any other form (which that parser then reads).
fn utc_micros_text(text: &str) -> Option<DateTime<Utc>> {
    let bytes = text.as_bytes();
    if bytes.len() != 27 || [4, 7, 10, 13, 16, 19, 26].map(|at| bytes[at]) != *b"--T::.Z" {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<u32> {
        bytes[from..to].iter().try_fold(0u32, |value, digit| {
            digit
                .is_ascii_digit()
                .then(|| value * 10 + u32::from(digit - b'0'))
        })
    };
    let date = chrono::NaiveDate::from_ymd_opt(
        i32::try_from(number(0, 4)?).ok()?,
        number(5, 7)?,
        number(8, 10)?,
    )?;
    let second = number(17, 19)?;
    if second > 59 {
        return None;
    }
    let time = date.and_hms_micro_opt(number(11, 13)?, number(14, 16)?, second, number(20, 26)?)?;
    Some(time.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_producers_timestamps_read_as_chrono_reads_them() {
        for text in [
            "2026-11-24T10:15:30.123456Z",
            "1970-01-01T00:00:00.000000Z",
            "9999-12-31T23:59:59.999999Z",
            "2024-02-29T12:00:00.000001Z",
        ] {
            let chrono = DateTime::parse_from_rfc3339(text).expect("valid").to_utc();
            assert_eq!(utc_micros_text(text), Some(chrono), "{text}");
            assert_eq!(instant_of_text(text), Some(chrono), "{text}");
        }
        for other in [
            "2026-11-24T10:15:60.000000Z",
            "2026-02-30T10:15:30.000000Z",
            "2026-11-24t10:15:30.123456Z",
            "2026-11-24T10:15:30.123456+01:00",
            "2026-11-24T10:15:30Z",
            "2026-11-24T1a:15:30.123456Z",
        ] {
            assert_eq!(utc_micros_text(other), None, "{other}");
        }
    }
}
