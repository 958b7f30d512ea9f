//! Which writer and reader schemas a record can be written from its bytes for, and how: each
//! writer field's shape, the reader field it fills (with the promotion the Avro specification
//! allows), and the line's fields after the transformation's renames and drops.
//!
//! Invariant: a plan exists only where apache-avro's resolving reader gives every reader field
//! a value taken from one writer field (no defaults, no aliases) and every field is flat: a
//! primitive, a date or time, or a union of null and one of those. Anything else is left to the
//! generic path, which stays the reference for what a line holds.

use apache_avro::schema::{RecordField, RecordSchema};
use apache_avro::Schema;

use crate::record::transform::{Plan, PlannedChange};

/// The flat types a field can hold, as Avro writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    String,
    Bytes,
    Date,
    TimeMillis,
    TimeMicros,
    TimestampMillis,
    TimestampMicros,
    LocalTimestampMillis,
    LocalTimestampMicros,
}

impl Scalar {
    fn of(schema: &Schema) -> Option<Self> {
        Some(match schema {
            Schema::Null => Self::Null,
            Schema::Boolean => Self::Boolean,
            Schema::Int => Self::Int,
            Schema::Long => Self::Long,
            Schema::Float => Self::Float,
            Schema::Double => Self::Double,
            Schema::String => Self::String,
            Schema::Bytes => Self::Bytes,
            Schema::Date => Self::Date,
            Schema::TimeMillis => Self::TimeMillis,
            Schema::TimeMicros => Self::TimeMicros,
            Schema::TimestampMillis => Self::TimestampMillis,
            Schema::TimestampMicros => Self::TimestampMicros,
            Schema::LocalTimestampMillis => Self::LocalTimestampMillis,
            Schema::LocalTimestampMicros => Self::LocalTimestampMicros,
            _ => return None,
        })
    }

    /// Whether a value written as `self` can be read as `reader` (the specification's
    /// promotions; logical types only as themselves).
    fn reads_as(self, reader: Self) -> bool {
        use Scalar::*;
        self == reader
            || matches!(
                (self, reader),
                (Int, Long | Float | Double)
                    | (Long, Float | Double)
                    | (Float, Double)
                    | (String, Bytes)
                    | (Bytes, String)
            )
    }
}

/// A field's schema: a flat type, or a union of null and one flat type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Always this type.
    Plain(Scalar),
    /// A union whose branch `null_branch` is null and whose other branch is this type.
    Nullable { null_branch: i64, value: Scalar },
}

impl Shape {
    fn of(schema: &Schema) -> Option<Self> {
        match schema {
            Schema::Union(union) => match union.variants() {
                [Schema::Null, other] => Some(Self::Nullable {
                    null_branch: 0,
                    value: Scalar::of(other).filter(|s| *s != Scalar::Null)?,
                }),
                [other, Schema::Null] => Some(Self::Nullable {
                    null_branch: 1,
                    value: Scalar::of(other).filter(|s| *s != Scalar::Null)?,
                }),
                _ => None,
            },
            other => Scalar::of(other).map(Self::Plain),
        }
    }

    /// The type a value of this shape is read as, were it not null.
    pub fn value(self) -> Scalar {
        match self {
            Self::Plain(scalar) | Self::Nullable { value: scalar, .. } => scalar,
        }
    }

    /// Whether every value written in `self` can be read in `reader`.
    fn reads_as(self, reader: Self) -> bool {
        match (self, reader) {
            (Self::Plain(w), Self::Plain(r)) => w.reads_as(r),
            (Self::Plain(Scalar::Null), Self::Nullable { .. }) => true,
            (Self::Plain(w), Self::Nullable { value, .. }) => w.reads_as(value),
            (Self::Nullable { value: w, .. }, Self::Nullable { value: r, .. }) => w.reads_as(r),
            (Self::Nullable { .. }, Self::Plain(_)) => false,
        }
    }
}

/// One writer field, in the order the datum holds them.
#[derive(Debug, Clone, Copy)]
pub struct WriterField {
    /// How it is written.
    pub shape: Shape,
    /// The reader field it fills and the type it is read as; `None`: read past.
    pub target: Option<(usize, Scalar)>,
}

/// What one step does, by reader field index.
#[derive(Debug, Clone)]
pub enum FlatChange {
    /// The field's text in upper case.
    UpperCase(usize),
    /// Percent off the field's number, when the condition field holds the text (in upper
    /// case), ignoring case.
    PercentOff {
        field: usize,
        percent: rust_decimal::Decimal,
        number: crate::record::transform::Number,
        when: Option<(usize, String)>,
    },
}

/// How records of one writer schema are written into lines of one reader schema.
#[derive(Debug)]
pub struct FlatPlan {
    /// The writer's fields, in datum order.
    pub writer: Vec<WriterField>,
    /// The reader's field count.
    pub reader_fields: usize,
    /// The steps, in order.
    pub changes: Vec<FlatChange>,
    /// The line's fields: reader index and name, in the line's order.
    pub line: Vec<(usize, String)>,
    /// The reader field `last_updated`, whose instant the latency is measured by.
    pub last_updated: Option<usize>,
}

impl FlatPlan {
    /// A plan for records of `writer` resolved into `reader` and transformed by `steps`, when
    /// every field is flat; `None` leaves them to the generic path.
    pub fn new(writer: &Schema, reader: &Schema, steps: &Plan) -> Option<Self> {
        let (Schema::Record(writer), Schema::Record(reader)) = (writer, reader) else {
            return None;
        };
        let reader_fields = reader_shapes(reader)?;
        let mut filled = vec![false; reader_fields.len()];
        let mut fields = Vec::with_capacity(writer.fields.len());
        for field in &writer.fields {
            let shape = Shape::of(&field.schema)?;
            let target = match reader.lookup.get(&field.name) {
                Some(&index) => {
                    let read_as = *reader_fields.get(index)?;
                    if !shape.reads_as(read_as) {
                        return None;
                    }
                    filled[index] = true;
                    Some((index, read_as.value()))
                }
                None => None,
            };
            fields.push(WriterField { shape, target });
        }
        if filled.contains(&false) {
            // A reader field the writer lacks takes its default: the generic path's work.
            return None;
        }
        let changes = steps
            .planned()
            .iter()
            .map(|change| match change {
                PlannedChange::UpperCase(index) => Some(FlatChange::UpperCase(*index)),
                PlannedChange::PercentOff {
                    index,
                    percent,
                    number,
                    when,
                } => Some(FlatChange::PercentOff {
                    field: *index,
                    percent: *percent,
                    number: *number,
                    when: when.clone(),
                }),
                PlannedChange::Mask => None,
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            writer: fields,
            reader_fields: reader_fields.len(),
            changes,
            line: steps.line_fields(),
            last_updated: reader.lookup.get("last_updated").copied(),
        })
    }
}

/// The shape of each reader field, when every one is flat and has no aliases.
fn reader_shapes(reader: &RecordSchema) -> Option<Vec<Shape>> {
    reader
        .fields
        .iter()
        .map(
            |RecordField {
                 schema, aliases, ..
             }| {
                aliases.is_empty().then_some(())?;
                Shape::of(schema)
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str) -> Option<Shape> {
        Shape::of(&Schema::parse_str(text).expect("schema"))
    }

    #[test]
    fn flat_shapes_are_primitives_dates_and_nullable_unions_of_them() {
        assert_eq!(shape(r#""float""#), Some(Shape::Plain(Scalar::Float)));
        assert_eq!(
            shape(r#"["null","string"]"#),
            Some(Shape::Nullable {
                null_branch: 0,
                value: Scalar::String
            })
        );
        assert_eq!(
            shape(r#"[{"type":"long","logicalType":"timestamp-micros"},"null"]"#),
            Some(Shape::Nullable {
                null_branch: 1,
                value: Scalar::TimestampMicros
            })
        );
        assert_eq!(shape(r#"["null","int","string"]"#), None);
        assert_eq!(shape(r#"{"type":"array","items":"int"}"#), None);
        assert_eq!(
            shape(r#"{"type":"bytes","logicalType":"decimal","precision":5,"scale":2}"#),
            None
        );
    }

    #[test]
    fn promotions_are_the_specifications_and_a_union_never_reads_as_a_plain_type() {
        assert!(Scalar::Int.reads_as(Scalar::Double));
        assert!(Scalar::Float.reads_as(Scalar::Double));
        assert!(!Scalar::Double.reads_as(Scalar::Float));
        assert!(!Scalar::Long.reads_as(Scalar::TimestampMicros));
        let nullable_long = Shape::Nullable {
            null_branch: 0,
            value: Scalar::Long,
        };
        assert!(Shape::Plain(Scalar::Int).reads_as(nullable_long));
        assert!(!nullable_long.reads_as(Shape::Plain(Scalar::Long)));
    }
}
