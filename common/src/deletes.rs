//! How a deleted row travels: in Kafka a tombstone (the row's key, no value) carrying the moment
//! of the delete in the `sluice.deleted_at` header, and in the files a delete line,
//! `{"id":42,"deleted":true,"deleted_at":"2026-12-01T10:00:00.000000Z"}`, whose key shows as the
//! key field of a row's line shows it (a number, a string, base64 bytes). The producer writes
//! the header; the consumers, the replay of a committed batch and `sluice-verify` read it here,
//! so all of them agree on the line.

use chrono::{DateTime, SecondsFormat, Utc};

/// The tombstone header holding when the product was deleted (RFC 3339, microseconds, UTC).
pub const DELETED_AT_HEADER: &str = "sluice.deleted_at";

/// The field of a delete line that marks it.
pub const DELETED_FIELD: &str = "deleted";

/// The field of a delete line holding when the product was deleted.
pub const DELETED_AT_FIELD: &str = "deleted_at";

/// `at` as the header and the line hold it: `2026-12-01T10:00:00.000000Z`.
pub fn format_deleted_at(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Why a tombstone has no delete line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TombstoneError {
    /// The key is not one of the key field's values.
    #[error("a tombstone whose key {key:?} {reason}")]
    Key {
        /// The key, as text where it is UTF-8.
        key: String,
        /// Why it is no key, as a predicate.
        reason: String,
    },
    /// Neither the header nor the record's timestamp says when.
    #[error("a tombstone without a time: no valid `{DELETED_AT_HEADER}` header ({0}) and no record timestamp")]
    Time(String),
}

/// The delete line of a tombstone whose key shows as `key_json` (JSON, as a row's line shows
/// the key field), deleted at the header's time (`header`, when present) or else at the
/// record's timestamp (`timestamp_ms`, for tombstones written by other producers), appended to
/// `line` with its newline. `key_field` names the key field.
pub fn write_delete_line(
    key_field: &str,
    key_json: &[u8],
    header: Option<&[u8]>,
    timestamp_ms: Option<i64>,
    line: &mut Vec<u8>,
) -> Result<DateTime<Utc>, TombstoneError> {
    let from_header = header.map(|h| {
        std::str::from_utf8(h)
            .ok()
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
            .map(|at| at.to_utc())
            .ok_or_else(|| format!("header {:?}", String::from_utf8_lossy(h)))
    });
    let at = match from_header {
        Some(Ok(at)) => at,
        Some(Err(bad)) => return Err(TombstoneError::Time(bad)),
        None => timestamp_ms
            .and_then(DateTime::<Utc>::from_timestamp_millis)
            .ok_or_else(|| TombstoneError::Time("no header".into()))?,
    };
    // Written by hand so the fields keep the documented order.
    line.push(b'{');
    line.extend_from_slice(
        serde_json::Value::String(key_field.to_owned())
            .to_string()
            .as_bytes(),
    );
    line.push(b':');
    line.extend_from_slice(key_json);
    line.extend_from_slice(
        format!(
            ",\"{DELETED_FIELD}\":true,\"{DELETED_AT_FIELD}\":\"{}\"}}\n",
            format_deleted_at(at)
        )
        .as_bytes(),
    );
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tombstone_becomes_a_delete_line_at_its_header_time() {
        let mut line = Vec::new();
        let at = write_delete_line(
            "id",
            b"42",
            Some(b"2026-12-01T10:00:00.000123Z"),
            Some(1),
            &mut line,
        )
        .expect("a delete line");
        assert_eq!(
            String::from_utf8(line).expect("utf-8"),
            "{\"id\":42,\"deleted\":true,\"deleted_at\":\"2026-12-01T10:00:00.000123Z\"}\n"
        );
        assert_eq!(format_deleted_at(at), "2026-12-01T10:00:00.000123Z");
        let mut line = Vec::new();
        write_delete_line(
            "code",
            b"\"Ab \"",
            Some(b"2026-12-01T10:00:00Z"),
            None,
            &mut line,
        )
        .expect("a delete line");
        assert!(String::from_utf8_lossy(&line).starts_with("{\"code\":\"Ab \",\"deleted\":true,"));
    }

    #[test]
    fn without_a_header_the_record_timestamp_says_when() {
        let mut line = Vec::new();
        write_delete_line("id", b"7", None, Some(1_764_583_200_000), &mut line)
            .expect("a delete line");
        assert!(String::from_utf8_lossy(&line)
            .contains("\"deleted_at\":\"2025-12-01T10:00:00.000000Z\""));
    }

    #[test]
    fn a_bad_time_is_refused() {
        let mut line = Vec::new();
        assert!(matches!(
            write_delete_line("id", b"1", Some(b"yesterday"), Some(1), &mut line),
            Err(TombstoneError::Time(_))
        ));
        assert!(matches!(
            write_delete_line("id", b"1", None, None, &mut line),
            Err(TombstoneError::Time(_))
        ));
        assert!(line.is_empty(), "nothing written for a refused tombstone");
    }
}
