//! A `DATETIME` or `TIMESTAMP` as the calendar and clock fields MySQL's binary protocol sends
//! (sessions run in UTC, so both are UTC), written as RFC 3339 text without chrono's calendar
//! arithmetic: reading a page's timestamps through chrono and formatting them again was a
//! tenth of the snapshot's reading and encoding.
//!
//! Invariant: a `WallTime` is a valid instant (month, day in its month, hour, minute, second
//! and microseconds in range); its text is chrono's `%Y-%m-%dT%H:%M:%S%.6fZ` of the same
//! instant, and wall times order as their instants do.

use chrono::{DateTime, Datelike, Timelike, Utc};

/// A UTC instant by its calendar and clock fields, to the microsecond; ordered as time is
/// (the fields compare from the year down).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct WallTime {
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    micros: u32,
}

/// The length of the RFC 3339 text, `2026-11-24T10:15:30.123456Z`.
pub const RFC3339_LEN: usize = 27;

impl WallTime {
    /// A value of the binary protocol: its length byte (0 for the zero date, 4 for a date at
    /// midnight, 7 with the time, 11 with microseconds), then the fields. `None` for the zero
    /// date, an invalid date and anything else: the caller lets sqlx read those and say why.
    pub fn from_binary(bytes: &[u8]) -> Option<Self> {
        let (&length, fields) = bytes.split_first()?;
        if fields.len() != usize::from(length) || !matches!(length, 4 | 7 | 11) {
            return None;
        }
        let byte = |at: usize| fields.get(at).copied().unwrap_or(0);
        let micros = match fields.get(7..11) {
            Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
            _ => 0,
        };
        let time = Self {
            year: u16::from_le_bytes([byte(0), byte(1)]),
            month: byte(2),
            day: byte(3),
            hour: byte(4),
            minute: byte(5),
            second: byte(6),
            micros,
        };
        time.is_valid().then_some(time)
    }

    /// The fields of `at`, which must lie in years 0 to 9999 (a `DATETIME`'s range is wider
    /// than any column's).
    pub fn of(at: &DateTime<Utc>) -> Option<Self> {
        let time = Self {
            year: u16::try_from(at.year()).ok()?,
            month: u8::try_from(at.month()).ok()?,
            day: u8::try_from(at.day()).ok()?,
            hour: u8::try_from(at.hour()).ok()?,
            minute: u8::try_from(at.minute()).ok()?,
            // A leap second shows as nanoseconds above 10^9; MySQL has none.
            second: u8::try_from(at.second()).ok()?,
            micros: at.timestamp_subsec_micros() % 1_000_000,
        };
        time.is_valid().then_some(time)
    }

    fn is_valid(&self) -> bool {
        self.year <= 9999
            && (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(self.year, self.month)
            && self.hour < 24
            && self.minute < 60
            && self.second < 60
            && self.micros < 1_000_000
    }

    /// Appends the RFC 3339 text, [`RFC3339_LEN`] bytes: `2026-11-24T10:15:30.123456Z`.
    pub fn write_rfc3339(self, out: &mut Vec<u8>) {
        push_digits(out, u32::from(self.year), 4);
        out.push(b'-');
        push_digits(out, u32::from(self.month), 2);
        out.push(b'-');
        push_digits(out, u32::from(self.day), 2);
        out.push(b'T');
        push_digits(out, u32::from(self.hour), 2);
        out.push(b':');
        push_digits(out, u32::from(self.minute), 2);
        out.push(b':');
        push_digits(out, u32::from(self.second), 2);
        out.push(b'.');
        push_digits(out, self.micros, 6);
        out.push(b'Z');
    }

    /// The RFC 3339 text.
    pub fn rfc3339(self) -> String {
        let mut text = Vec::with_capacity(RFC3339_LEN);
        self.write_rfc3339(&mut text);
        text.into_iter().map(char::from).collect()
    }
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        _ => 31,
    }
}

/// `value`'s last `width` decimal digits, zero-padded.
fn push_digits(out: &mut Vec<u8>, mut value: u32, width: usize) {
    let start = out.len();
    out.resize(start + width, b'0');
    for slot in out[start..].iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use rand::{Rng, SeedableRng};

    /// The same instant in chrono's terms.
    fn to_datetime(time: WallTime) -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(
            i32::from(time.year),
            u32::from(time.month),
            u32::from(time.day),
        )
        .and_then(|date| {
            date.and_hms_micro_opt(
                u32::from(time.hour),
                u32::from(time.minute),
                u32::from(time.second),
                time.micros,
            )
        })
        .map(|at| at.and_utc())
        .expect("a valid wall time")
    }

    /// `at` as the binary protocol sends it, in the shortest form that holds it.
    fn binary(at: &DateTime<Utc>) -> Vec<u8> {
        let mut fields = (at.year() as u16).to_le_bytes().to_vec();
        fields.extend([at.month() as u8, at.day() as u8]);
        let clock = [at.hour() as u8, at.minute() as u8, at.second() as u8];
        let micros = at.timestamp_subsec_micros();
        if micros > 0 {
            fields.extend(clock);
            fields.extend(micros.to_le_bytes());
        } else if clock != [0, 0, 0] {
            fields.extend(clock);
        }
        let mut bytes = vec![fields.len() as u8];
        bytes.extend(fields);
        bytes
    }

    #[test]
    fn binary_values_read_back_as_chrono_reads_and_formats_them() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let low = NaiveDate::from_ymd_opt(1000, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|at| at.and_utc().timestamp_micros())
            .unwrap_or_default();
        let high = NaiveDate::from_ymd_opt(9999, 12, 31)
            .and_then(|d| d.and_hms_micro_opt(23, 59, 59, 999_999))
            .map(|at| at.and_utc().timestamp_micros())
            .unwrap_or_default();
        let mut earlier_at = DateTime::from_timestamp_micros(low).expect("in range");
        let mut earlier = WallTime::of(&earlier_at).expect("in range");
        for round in 0..20_000 {
            let mut micros = rng.random_range(low..=high);
            // Whole days, whole seconds and leap days too.
            match round % 4 {
                0 => micros -= micros.rem_euclid(86_400_000_000),
                1 => micros -= micros.rem_euclid(1_000_000),
                _ => {}
            }
            let at = DateTime::from_timestamp_micros(micros).expect("in range");
            let read = WallTime::from_binary(&binary(&at)).expect("a valid value");
            assert_eq!(to_datetime(read), at);
            assert_eq!(
                read.rfc3339(),
                at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
            );
            assert_eq!(read.cmp(&earlier), at.cmp(&earlier_at), "{at} {earlier_at}");
            (earlier, earlier_at) = (read, at);
            assert_eq!(WallTime::of(&at), Some(read));
        }
        let leap = DateTime::parse_from_rfc3339("2024-02-29T23:59:59.5Z")
            .expect("a time")
            .with_timezone(&Utc);
        assert_eq!(
            WallTime::from_binary(&binary(&leap)).map(WallTime::rfc3339),
            Some("2024-02-29T23:59:59.500000Z".to_owned())
        );
    }

    #[test]
    fn zero_dates_invalid_fields_and_other_lengths_are_left_to_sqlx() {
        let refused: [&[u8]; 9] = [
            &[],
            &[0],
            &[4, 0, 0, 0, 0],
            &[4, 0xEA, 0x07, 2, 30],
            &[4, 0xE9, 0x07, 2, 29],
            &[4, 0xEA, 0x07, 13, 1],
            &[7, 0xEA, 0x07, 1, 1, 24, 0, 0],
            &[11, 0xEA, 0x07, 1, 1, 0, 0, 0, 0x40, 0x42, 0x0F, 0],
            &[5, 0xEA, 0x07, 1, 1, 0],
        ];
        for bytes in refused {
            assert_eq!(WallTime::from_binary(bytes), None, "{bytes:?}");
        }
        assert_eq!(
            WallTime::from_binary(&[4, 0xE8, 0x07, 2, 29]).map(WallTime::rfc3339),
            Some("2024-02-29T00:00:00.000000Z".to_owned())
        );
    }
}
