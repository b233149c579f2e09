//! Result rows as JSON lines: one object per row, keys in column order,
//! null columns left out; timestamps as RFC 3339 (UTC, microseconds),
//! binary pseudonyms as hex.
//!
//! Written by hand rather than with `arrow-json`: the sealed schema has
//! six column types, and `arrow-json` would bring `arrow-cast` and its
//! number-formatting crates into the build for them.

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, TimestampMicrosecondType, UInt16Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use logseal_core::timefmt::format_rfc3339_utc;

use crate::{Error, Result};

/// Appends one JSON line per row of `batch` to `out`.
pub fn write_ndjson(batch: &RecordBatch, out: &mut Vec<u8>) -> Result<()> {
    let schema = batch.schema();
    let columns: Vec<(&str, &dyn Array)> =
        schema.fields().iter().zip(batch.columns()).map(|(f, c)| (f.name().as_str(), c.as_ref())).collect();
    for (name, column) in &columns {
        check_type(name, column.data_type())?;
    }
    for row in 0..batch.num_rows() {
        out.push(b'{');
        let mut first = true;
        for (name, column) in &columns {
            if column.is_null(row) {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            write_string(out, name);
            out.push(b':');
            write_value(out, *column, row);
        }
        out.extend_from_slice(b"}\n");
    }
    Ok(())
}

fn check_type(name: &str, data_type: &DataType) -> Result<()> {
    match data_type {
        DataType::UInt64
        | DataType::UInt16
        | DataType::Int32
        | DataType::Utf8
        | DataType::FixedSizeBinary(_)
        | DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, _) => Ok(()),
        other => Err(Error::InvalidQuery(format!("column {name}: type {other} cannot be written as JSON"))),
    }
}

fn write_value(out: &mut Vec<u8>, column: &dyn Array, row: usize) {
    match column.data_type() {
        DataType::UInt64 => {
            out.extend_from_slice(column.as_primitive::<UInt64Type>().value(row).to_string().as_bytes())
        }
        DataType::UInt16 => {
            out.extend_from_slice(column.as_primitive::<UInt16Type>().value(row).to_string().as_bytes())
        }
        DataType::Int32 => out.extend_from_slice(column.as_primitive::<Int32Type>().value(row).to_string().as_bytes()),
        DataType::Utf8 => write_string(out, column.as_string::<i32>().value(row)),
        DataType::FixedSizeBinary(_) => {
            out.push(b'"');
            out.extend_from_slice(hex::encode(column.as_fixed_size_binary().value(row)).as_bytes());
            out.push(b'"');
        }
        DataType::Timestamp(..) => {
            out.push(b'"');
            let micros = column.as_primitive::<TimestampMicrosecondType>().value(row);
            out.extend_from_slice(format_rfc3339_utc(micros).as_bytes());
            out.push(b'"');
        }
        _ => out.extend_from_slice(b"null"),
    }
}

fn write_string(out: &mut Vec<u8>, text: &str) {
    // serde_json's escaping: valid JSON for any string, control
    // characters included (log lines carry them).
    serde_json::to_writer(&mut *out, text).expect("writing to a Vec cannot fail");
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{FixedSizeBinaryArray, StringArray, TimestampMicrosecondArray, UInt16Array, UInt64Array};
    use arrow_schema::{Field, Schema, TimeUnit};

    use super::*;

    #[test]
    fn rows_become_json_objects_in_column_order_without_nulls() {
        let schema = Schema::new(vec![
            Field::new("seq", DataType::UInt64, false),
            Field::new("time", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), true),
            Field::new("url_path", DataType::Utf8, true),
            Field::new("status", DataType::UInt16, true),
            Field::new("ip_tag", DataType::FixedSizeBinary(2), true),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(UInt64Array::from(vec![7, 8])),
                Arc::new(TimestampMicrosecondArray::from(vec![Some(1_795_860_000_000_001), None]).with_timezone("UTC")),
                Arc::new(StringArray::from(vec![Some("/a\"b\u{1}"), None])),
                Arc::new(UInt16Array::from(vec![Some(200), None])),
                Arc::new(
                    FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                        vec![Some(vec![0xab, 0x01]), None].into_iter(),
                        2,
                    )
                    .unwrap(),
                ),
            ],
        )
        .unwrap();
        let mut out = Vec::new();
        write_ndjson(&batch, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            r#"{"seq":7,"time":"2026-11-28T10:00:00.000001Z","url_path":"/a\"b\u0001","status":200,"ip_tag":"ab01"}"#
        );
        assert_eq!(lines[1], r#"{"seq":8}"#);
        for line in lines {
            serde_json::from_str::<serde_json::Value>(line).unwrap();
        }
    }
}
