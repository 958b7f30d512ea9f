//! The row images of a rows event, each value read by mysql_common's own decoder
//! (`BinlogValue`), without the column descriptions its `RowsEventRows` builds for every image:
//! a `Column` of seven allocations per column, its name formatted as `@N` when the table map
//! carries none (MariaDB's default `binlog_row_metadata`), and each column's metadata found by
//! walking the columns before it, for every row. That was over half the producer's CPU on a stream of updates;
//! sluice reads the values only.
//!
//! Invariant: the images hold the values `RowsEventRows` gives, in the same places (a live test
//! reads both over the server's own events of a table of every column type). Partial JSON
//! updates (MySQL's `PARTIAL_UPDATE_ROWS_EVENT`) are read by `RowsEventRows` itself.

use std::io;
use std::sync::Arc;

use mysql_async::binlog::events::{RowsEventData, TableMapEvent};
use mysql_async::binlog::row::BinlogRow;
use mysql_async::binlog::value::BinlogValue;
use mysql_async::consts::ColumnType;
use mysql_async::Value;
use mysql_common::io::ParseBuf;
use mysql_common::packets::Column;

/// One column as its values are read: type, metadata, signedness.
struct ColumnCodec<'t> {
    column_type: ColumnType,
    meta: &'t [u8],
    unsigned: bool,
}

/// The images (before, after) of each row of `rows`, a rows event of the table `table_map`
/// describes. `columns` is given to every image as its column descriptions (sluice reads none).
pub fn row_images(
    rows: &RowsEventData<'_>,
    table_map: &TableMapEvent<'_>,
    columns: &Arc<[Column]>,
) -> io::Result<Vec<(Option<BinlogRow>, Option<BinlogRow>)>> {
    if matches!(rows, RowsEventData::PartialUpdateRowsEvent(_)) {
        return rows.rows(table_map).collect();
    }
    let count = usize::try_from(rows.num_columns())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let codecs = codecs(table_map, count)?;
    let before: Option<Vec<bool>> = rows.columns_before_image().map(|bits| {
        (0..count)
            .map(|i| bits.get(i).is_some_and(|bit| *bit))
            .collect()
    });
    let after: Option<Vec<bool>> = rows.columns_after_image().map(|bits| {
        (0..count)
            .map(|i| bits.get(i).is_some_and(|bit| *bit))
            .collect()
    });
    let mut buf = ParseBuf(rows.rows_data());
    let mut images = Vec::new();
    while !buf.is_empty() {
        let before = match &before {
            Some(present) => Some(image(&codecs, present, &mut buf, columns)?),
            None => None,
        };
        let after = match &after {
            Some(present) => Some(image(&codecs, present, &mut buf, columns)?),
            None => None,
        };
        images.push((before, after));
    }
    Ok(images)
}

/// Each column's codec, from the table map (its optional metadata says which numeric columns
/// are unsigned, when the server writes it), made once per event: finding a column's metadata
/// walks every column before it.
fn codecs<'t>(table_map: &'t TableMapEvent<'_>, count: usize) -> io::Result<Vec<ColumnCodec<'t>>> {
    let invalid = |e: String| io::Error::new(io::ErrorKind::InvalidData, e);
    let extractor =
        mysql_common::binlog::events::OptionalMetaExtractor::new(table_map.iter_optional_meta())?;
    let mut signedness = extractor.iter_signedness();
    (0..count)
        .map(|i| {
            let column_type = match table_map.get_column_type(i) {
                Ok(Some(column_type)) => column_type,
                Ok(None) => return Err(invalid("No column type".into())),
                Err(e) => return Err(invalid(e.to_string())),
            };
            let unsigned = column_type.is_numeric_type() && signedness.next().unwrap_or_default();
            Ok(ColumnCodec {
                column_type,
                meta: table_map.get_column_metadata(i).unwrap_or(&[]),
                unsigned,
            })
        })
        .collect()
}

/// One image: the null bitmap of its present columns, then each present non-null value.
fn image<'a>(
    codecs: &[ColumnCodec<'a>],
    present: &[bool],
    buf: &mut ParseBuf<'a>,
    columns: &Arc<[Column]>,
) -> io::Result<BinlogRow> {
    let count = present.iter().filter(|p| **p).count();
    let nulls: &[u8] = buf.parse(count.div_ceil(8))?;
    let mut values = Vec::with_capacity(count);
    let present_codecs = codecs.iter().zip(present).filter(|(_, present)| **present);
    for (place, (codec, _)) in present_codecs.enumerate() {
        let null = nulls
            .get(place / 8)
            .is_none_or(|byte| byte >> (place % 8) & 1 == 1);
        values.push(Some(if null {
            BinlogValue::Value(Value::NULL)
        } else {
            let context = (codec.column_type, codec.meta, codec.unsigned, false);
            buf.parse::<BinlogValue<'_>>(context)?.into_owned()
        }));
    }
    Ok(BinlogRow::new(values, Arc::clone(columns)))
}
