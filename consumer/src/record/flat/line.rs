//! One record's line written from its Avro bytes through a [`FlatPlan`]: each field decoded
//! into a slot that borrows its text from the record, the steps taken on the slots, the line
//! written from them. Nothing is allocated for a record whose text needs no case change
//! outside ASCII.
//!
//! Invariant: this path either writes exactly the line the generic path writes (decoded into
//! `apache_avro::Value`s, transformed, written by `json_line`) and returns it, or returns
//! `None` having left `line` as it found it, for the generic path to write the line or say why
//! not. Anything it does not read exactly as apache-avro does (a malformed datum, a value a
//! step refuses) is such a `None`.

use apache_avro::types::Value;
use chrono::{DateTime, Utc};

use super::plan::{FlatChange, FlatPlan, Scalar, Shape};
use crate::record::instant::{instant_of, instant_of_text};
use crate::record::json_line::write_value;
use crate::record::logical_text;
use crate::record::transform::{equals_ignoring_case_text, percent_off};

/// A decoded field: a value, or text or bytes borrowed from the datum.
#[derive(Debug, Clone, PartialEq)]
enum Slot<'d> {
    /// A value holding no heap memory (null, a number, a date or time).
    Value(Value),
    /// Text, checked to be UTF-8.
    Text(&'d str),
    /// Bytes.
    Bytes(&'d [u8]),
}

/// The reusable state of the flat path.
#[derive(Debug, Default)]
pub struct FlatWriter {
    /// The slots' memory, empty between records (see [`recycle`]).
    slots: Vec<Slot<'static>>,
    /// Whether each slot's text is to be written in upper case.
    upper: Vec<bool>,
    /// Scratch for upper-cased text.
    text: String,
}

impl FlatWriter {
    /// Appends the line of `datum` (the Avro bytes after the wire-format header) to `line`
    /// and returns the record's `last_updated`, as the generic path would; `None` (with
    /// `line` untouched) leaves the record to the generic path.
    pub fn write(
        &mut self,
        plan: &FlatPlan,
        datum: &[u8],
        line: &mut Vec<u8>,
    ) -> Option<Option<DateTime<Utc>>> {
        let mut slots = recycle(std::mem::take(&mut self.slots));
        let written = self.write_with(plan, datum, line, &mut slots);
        self.slots = recycle(slots);
        written
    }

    fn write_with<'d>(
        &mut self,
        plan: &FlatPlan,
        datum: &'d [u8],
        line: &mut Vec<u8>,
        slots: &mut Vec<Slot<'d>>,
    ) -> Option<Option<DateTime<Utc>>> {
        self.decode(plan, datum, slots)?;
        self.take_steps(plan, slots)?;
        let start = line.len();
        if self.write_line(plan, slots, line).is_none() {
            line.truncate(start);
            return None;
        }
        Some(plan.last_updated.and_then(|index| instant(&slots[index])))
    }

    fn decode<'d>(
        &mut self,
        plan: &FlatPlan,
        datum: &'d [u8],
        slots: &mut Vec<Slot<'d>>,
    ) -> Option<()> {
        slots.resize(plan.reader_fields, Slot::Value(Value::Null));
        self.upper.clear();
        self.upper.resize(plan.reader_fields, false);
        let mut at = 0;
        for field in &plan.writer {
            let written = match field.shape {
                Shape::Plain(scalar) => scalar,
                Shape::Nullable { null_branch, value } => {
                    let branch = long(datum, &mut at)?;
                    if branch == null_branch {
                        Scalar::Null
                    } else if branch == 1 - null_branch {
                        value
                    } else {
                        return None;
                    }
                }
            };
            let slot = read(datum, &mut at, written)?;
            if let Some((index, read_as)) = field.target {
                slots[index] = promote(slot, read_as)?;
            }
        }
        (at == datum.len()).then_some(())
    }

    fn take_steps(&mut self, plan: &FlatPlan, slots: &mut [Slot<'_>]) -> Option<()> {
        for change in &plan.changes {
            match change {
                FlatChange::UpperCase(index) => match slots[*index] {
                    Slot::Text(_) => self.upper[*index] = true,
                    Slot::Value(Value::Null) => {}
                    _ => return None,
                },
                FlatChange::PercentOff {
                    field,
                    percent,
                    number,
                    when,
                } => {
                    if let Some((condition, equals)) = when {
                        let matches = match slots[*condition] {
                            Slot::Text(text) => equals_ignoring_case_text(text, equals),
                            _ => false,
                        };
                        if !matches {
                            continue;
                        }
                    }
                    let Slot::Value(value) = &mut slots[*field] else {
                        return None;
                    };
                    percent_off(value, *percent, *number).ok()?;
                }
            }
        }
        Some(())
    }

    fn write_line(
        &mut self,
        plan: &FlatPlan,
        slots: &[Slot<'_>],
        line: &mut Vec<u8>,
    ) -> Option<()> {
        line.push(b'{');
        for (position, (index, name)) in plan.line.iter().enumerate() {
            if position > 0 {
                line.push(b',');
            }
            serde_json::to_writer(&mut *line, name).ok()?;
            line.push(b':');
            match &slots[*index] {
                Slot::Value(value) => write_value(value, None, line).ok()?,
                Slot::Text(value) => {
                    let value = if self.upper[*index] {
                        upper_case(value, &mut self.text)
                    } else {
                        value
                    };
                    serde_json::to_writer(&mut *line, value).ok()?;
                }
                Slot::Bytes(bytes) => {
                    serde_json::to_writer(&mut *line, &logical_text::bytes(bytes)).ok()?;
                }
            }
        }
        line.extend_from_slice(b"}\n");
        Some(())
    }
}

/// `slots` emptied, its memory kept for slots of another lifetime: a collect in place, as the
/// vector's element layout does not change.
fn recycle<'a, 'b>(mut slots: Vec<Slot<'a>>) -> Vec<Slot<'b>> {
    slots.clear();
    slots
        .into_iter()
        .map(|_| Slot::Value(Value::Null))
        .collect()
}

/// The instant of a slot, as the generic path reads `last_updated`.
fn instant(slot: &Slot<'_>) -> Option<DateTime<Utc>> {
    match slot {
        Slot::Text(text) => instant_of_text(text),
        Slot::Value(value) => instant_of(value),
        Slot::Bytes(_) => None,
    }
}

/// `value` in upper case: ASCII in `scratch`, other text as `str::to_uppercase` makes it.
fn upper_case<'a>(value: &'a str, scratch: &'a mut String) -> &'a str {
    scratch.clear();
    if value.is_ascii() {
        scratch.push_str(value);
        scratch.make_ascii_uppercase();
    } else {
        *scratch = value.to_uppercase();
    }
    scratch
}

/// Reads one value written as `scalar` at `at`, moving `at` past it.
fn read<'d>(datum: &'d [u8], at: &mut usize, scalar: Scalar) -> Option<Slot<'d>> {
    let int = |at: &mut usize| long(datum, at).and_then(|v| i32::try_from(v).ok());
    Some(Slot::Value(match scalar {
        Scalar::Null => Value::Null,
        Scalar::Boolean => {
            let byte = *datum.get(*at)?;
            *at += 1;
            match byte {
                0 => Value::Boolean(false),
                1 => Value::Boolean(true),
                _ => return None,
            }
        }
        Scalar::Int => Value::Int(int(at)?),
        Scalar::Long => Value::Long(long(datum, at)?),
        Scalar::Float => Value::Float(f32::from_le_bytes(fixed(datum, at)?)),
        Scalar::Double => Value::Double(f64::from_le_bytes(fixed(datum, at)?)),
        Scalar::String | Scalar::Bytes => {
            let length = usize::try_from(long(datum, at)?).ok()?;
            let bytes = datum.get(*at..at.checked_add(length)?)?;
            *at += length;
            return Some(if scalar == Scalar::String {
                Slot::Text(std::str::from_utf8(bytes).ok()?)
            } else {
                Slot::Bytes(bytes)
            });
        }
        Scalar::Date => Value::Date(int(at)?),
        Scalar::TimeMillis => Value::TimeMillis(int(at)?),
        Scalar::TimeMicros => Value::TimeMicros(long(datum, at)?),
        Scalar::TimestampMillis => Value::TimestampMillis(long(datum, at)?),
        Scalar::TimestampMicros => Value::TimestampMicros(long(datum, at)?),
        Scalar::LocalTimestampMillis => Value::LocalTimestampMillis(long(datum, at)?),
        Scalar::LocalTimestampMicros => Value::LocalTimestampMicros(long(datum, at)?),
    }))
}

/// `slot`, as the reader's type reads it (the plan allowed the promotion).
fn promote(slot: Slot<'_>, read_as: Scalar) -> Option<Slot<'_>> {
    Some(match (slot, read_as) {
        (Slot::Value(Value::Null), _) => Slot::Value(Value::Null),
        (Slot::Value(Value::Int(v)), Scalar::Long) => Slot::Value(Value::Long(i64::from(v))),
        (Slot::Value(Value::Int(v)), Scalar::Float) => Slot::Value(Value::Float(v as f32)),
        (Slot::Value(Value::Int(v)), Scalar::Double) => Slot::Value(Value::Double(f64::from(v))),
        (Slot::Value(Value::Long(v)), Scalar::Float) => Slot::Value(Value::Float(v as f32)),
        (Slot::Value(Value::Long(v)), Scalar::Double) => Slot::Value(Value::Double(v as f64)),
        (Slot::Value(Value::Float(v)), Scalar::Double) => Slot::Value(Value::Double(f64::from(v))),
        (Slot::Text(text), Scalar::Bytes) => Slot::Bytes(text.as_bytes()),
        (Slot::Bytes(bytes), Scalar::String) => Slot::Text(std::str::from_utf8(bytes).ok()?),
        (slot, _) => slot,
    })
}

/// `N` bytes at `at`, moving `at` past them.
fn fixed<const N: usize>(datum: &[u8], at: &mut usize) -> Option<[u8; N]> {
    let bytes = datum.get(*at..at.checked_add(N)?)?.try_into().ok()?;
    *at += N;
    Some(bytes)
}

/// A zig-zag varint `long` at `at` (at most ten bytes), moving `at` past it.
fn long(datum: &[u8], at: &mut usize) -> Option<i64> {
    let mut value = 0u64;
    for shift in 0..10 {
        let byte = *datum.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << (shift * 7);
        if byte & 0x80 == 0 {
            return Some(((value >> 1) as i64) ^ -((value & 1) as i64));
        }
    }
    None
}
