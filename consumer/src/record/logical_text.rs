//! How a line writes the Avro values JSON has no type for: dates and times as ISO 8601 text,
//! decimals as their exact digits (a string, so no reader rounds them through a double), bytes
//! as standard base64. One rule per logical type, shared by every field that carries it.

use base64::Engine;
use chrono::{DateTime, NaiveDate};
use num_bigint::BigInt;

/// `days` after 1970-01-01 as `YYYY-MM-DD`; `None` outside chrono's calendar.
pub fn date(days: i32) -> Option<String> {
    NaiveDate::from_ymd_opt(1970, 1, 1)?
        .checked_add_signed(chrono::Duration::days(i64::from(days)))
        .map(|date| date.format("%Y-%m-%d").to_string())
}

/// A time of day (or MySQL's signed span) in units of 10^-`digits` s as `[-]HH:MM:SS.f…`,
/// hours of two digits or more.
pub fn time(value: i64, digits: u32) -> String {
    let unit = 10_i64.pow(digits);
    let sign = if value < 0 { "-" } else { "" };
    let magnitude = value.unsigned_abs();
    let unit = unit.unsigned_abs();
    let (seconds, fraction) = (magnitude / unit, magnitude % unit);
    format!(
        "{sign}{:02}:{:02}:{:02}.{fraction:0width$}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        width = digits as usize
    )
}

/// An instant `value` units of 10^-`digits` s after the epoch as RFC 3339 with `digits`
/// fractional digits, ending in `Z` when `utc` (a `timestamp-*`), without a zone otherwise (a
/// `local-timestamp-*`); `None` outside chrono's range.
pub fn timestamp(value: i64, digits: u32, utc: bool) -> Option<String> {
    let unit = 10_i64.pow(digits);
    let seconds = value.div_euclid(unit);
    let fraction = value.rem_euclid(unit);
    let at = DateTime::from_timestamp(seconds, 0)?;
    Some(format!(
        "{}.{fraction:0width$}{}",
        at.format("%Y-%m-%dT%H:%M:%S"),
        if utc { "Z" } else { "" },
        width = digits as usize
    ))
}

/// The unscaled big-endian two's-complement `bytes` of a decimal at `scale` as its digits:
/// `-12.50` for `[0xFB, 0x1E]` at scale 2.
pub fn decimal(unscaled: &[u8], scale: usize) -> String {
    let value = BigInt::from_signed_bytes_be(unscaled);
    let digits = value.magnitude().to_string();
    let sign = if value.sign() == num_bigint::Sign::Minus {
        "-"
    } else {
        ""
    };
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (whole, fraction) = padded.split_at(padded.len() - scale);
    format!("{sign}{whole}.{fraction}")
}

/// Bytes as standard base64 with padding.
pub fn bytes(value: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times() {
        assert_eq!(date(0).as_deref(), Some("1970-01-01"));
        assert_eq!(date(20_792).as_deref(), Some("2026-12-05"));
        assert_eq!(date(-1).as_deref(), Some("1969-12-31"));
        assert_eq!(time(3_723_000_004, 6), "01:02:03.000004");
        assert_eq!(time(-3_019_199_500_000, 6), "-838:39:59.500000");
        assert_eq!(time(1_500, 3), "00:00:01.500");
    }

    #[test]
    fn timestamps_keep_their_digits_and_their_zone() {
        assert_eq!(
            timestamp(1_795_510_530_123_456, 6, true).as_deref(),
            Some("2026-11-24T08:55:30.123456Z")
        );
        assert_eq!(
            timestamp(1_795_510_530_123, 3, false).as_deref(),
            Some("2026-11-24T08:55:30.123")
        );
        // Before the epoch the fraction still counts forward from the whole second.
        assert_eq!(
            timestamp(-1, 3, true).as_deref(),
            Some("1969-12-31T23:59:59.999Z")
        );
    }

    #[test]
    fn decimals_are_their_exact_digits() {
        assert_eq!(decimal(&[0xFB, 0x1E], 2), "-12.50");
        assert_eq!(decimal(&[0x04, 0xE2], 2), "12.50");
        assert_eq!(decimal(&[0x05], 3), "0.005");
        assert_eq!(decimal(&[0xFB], 3), "-0.005");
        assert_eq!(
            decimal(&BigInt::from(u64::MAX).to_signed_bytes_be(), 0),
            "18446744073709551615"
        );
        assert_eq!(decimal(&[], 0), "0");
    }

    #[test]
    fn bytes_are_base64() {
        assert_eq!(bytes(b"\x00\xff"), "AP8=");
    }
}
