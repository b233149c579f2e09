//! Aggregates over search results (`logseal stats`): a count, the top
//! values of a field, counts per hour or day. They are computed from the
//! batches the reader may see — already masked for roles that may not see
//! personal data — so no aggregate reveals a value its rows would hide.

use std::collections::{BTreeMap, HashMap};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, TimestampMicrosecondType, UInt16Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use logseal_core::timefmt::format_rfc3339_utc;

use crate::{Error, Result};

/// What to compute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Aggregate {
    /// Matching rows.
    Count,
    /// The `n` most frequent values of `field` (ties by value).
    Top {
        /// The column.
        field: String,
        /// How many.
        n: usize,
    },
    /// Rows per time bucket (event time, else receive time).
    ByTime(Bucket),
}

/// A time bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// Hours (UTC).
    Hour,
    /// Days (UTC).
    Day,
}

impl Bucket {
    fn micros(self) -> i64 {
        match self {
            Bucket::Hour => 3_600_000_000,
            Bucket::Day => 86_400_000_000,
        }
    }
}

/// The result: `(label, count)` rows.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StatsResult {
    /// Rows counted.
    pub rows: u64,
    /// Labels (a value, or a bucket's start) and their counts.
    pub groups: Vec<(String, u64)>,
}

/// Accumulates batches.
#[derive(Debug)]
pub struct Aggregator {
    what: Aggregate,
    rows: u64,
    counts: HashMap<String, u64>,
    buckets: BTreeMap<i64, u64>,
}

impl Aggregator {
    /// An empty aggregate.
    pub fn new(what: Aggregate) -> Aggregator {
        Aggregator { what, rows: 0, counts: HashMap::new(), buckets: BTreeMap::new() }
    }

    /// The columns a batch must have.
    pub fn columns(&self) -> Vec<String> {
        match &self.what {
            Aggregate::Count => vec![],
            Aggregate::Top { field, .. } => vec![field.clone()],
            Aggregate::ByTime(_) => vec!["time".into(), "received_at".into()],
        }
    }

    /// Adds a batch.
    pub fn add(&mut self, batch: &RecordBatch) -> Result<()> {
        self.rows += batch.num_rows() as u64;
        match &self.what {
            Aggregate::Count => {}
            Aggregate::Top { field, .. } => {
                let column = batch
                    .column_by_name(field)
                    .ok_or_else(|| Error::InvalidQuery(format!("--top {field}: no such field in the results")))?;
                for row in 0..batch.num_rows() {
                    *self.counts.entry(label(column.as_ref(), row, field)?).or_default() += 1;
                }
            }
            Aggregate::ByTime(bucket) => {
                let times = |name| batch.column_by_name(name).map(|c| c.as_primitive::<TimestampMicrosecondType>());
                let (Some(time), Some(received)) = (times("time"), times("received_at")) else {
                    return Err(Error::InvalidQuery("--by needs the time columns".into()));
                };
                for row in 0..batch.num_rows() {
                    let at = if time.is_valid(row) { time.value(row) } else { received.value(row) };
                    *self.buckets.entry(at.div_euclid(bucket.micros()) * bucket.micros()).or_default() += 1;
                }
            }
        }
        Ok(())
    }

    /// The result.
    pub fn finish(self) -> StatsResult {
        let groups = match self.what {
            Aggregate::Count => vec![],
            Aggregate::Top { n, .. } => {
                let mut all: Vec<(String, u64)> = self.counts.into_iter().collect();
                all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                all.truncate(n);
                all
            }
            Aggregate::ByTime(_) => self.buckets.into_iter().map(|(at, n)| (format_rfc3339_utc(at), n)).collect(),
        };
        StatsResult { rows: self.rows, groups }
    }
}

/// A value as a label; null is `(none)`.
fn label(column: &dyn Array, row: usize, field: &str) -> Result<String> {
    if column.is_null(row) {
        return Ok("(none)".into());
    }
    Ok(match column.data_type() {
        DataType::Utf8 => column.as_string::<i32>().value(row).to_owned(),
        DataType::FixedSizeBinary(_) => hex::encode(column.as_fixed_size_binary().value(row)),
        DataType::UInt16 => column.as_primitive::<UInt16Type>().value(row).to_string(),
        DataType::UInt64 => column.as_primitive::<UInt64Type>().value(row).to_string(),
        DataType::Int32 => column.as_primitive::<Int32Type>().value(row).to_string(),
        other => return Err(Error::InvalidQuery(format!("--top {field}: cannot group values of type {other}"))),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{StringArray, TimestampMicrosecondArray, UInt16Array};
    use arrow_schema::{Field, Schema, TimeUnit};

    use super::*;

    fn batch() -> RecordBatch {
        let ts = || DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let hour = 3_600_000_000i64;
        RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("time", ts(), true),
                Field::new("received_at", ts(), false),
                Field::new("status", DataType::UInt16, true),
                Field::new("url_path", DataType::Utf8, true),
            ])),
            vec![
                Arc::new(
                    TimestampMicrosecondArray::from(vec![Some(0), Some(hour + 5), None, Some(25 * hour)])
                        .with_timezone("UTC"),
                ),
                Arc::new(TimestampMicrosecondArray::from(vec![1, 2, hour * 2 + 1, 3]).with_timezone("UTC")),
                Arc::new(UInt16Array::from(vec![Some(200), Some(404), Some(200), None])),
                Arc::new(StringArray::from(vec![Some("/a"), Some("/b"), Some("/a"), Some("/a")])),
            ],
        )
        .unwrap()
    }

    #[test]
    fn counts_tops_and_buckets() {
        let run = |what| {
            let mut a = Aggregator::new(what);
            a.add(&batch()).unwrap();
            a.add(&batch()).unwrap();
            a.finish()
        };
        assert_eq!(run(Aggregate::Count), StatsResult { rows: 8, groups: vec![] });
        let top = run(Aggregate::Top { field: "status".into(), n: 2 });
        assert_eq!(top.groups, vec![("200".to_owned(), 4), ("(none)".to_owned(), 2)]);
        let top = run(Aggregate::Top { field: "url_path".into(), n: 5 });
        assert_eq!(top.groups, vec![("/a".to_owned(), 6), ("/b".to_owned(), 2)]);
        let hours = run(Aggregate::ByTime(Bucket::Hour));
        assert_eq!(
            hours.groups.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
            vec![2, 2, 2, 2],
            "hours 0, 1, 2 (received_at of the row without time) and 25: {hours:?}"
        );
        let days = run(Aggregate::ByTime(Bucket::Day));
        assert_eq!(
            days.groups,
            vec![("1970-01-01T00:00:00.000000Z".to_owned(), 6), ("1970-01-02T00:00:00.000000Z".to_owned(), 2)]
        );
        let mut a = Aggregator::new(Aggregate::Top { field: "client_ip".into(), n: 3 });
        assert!(a.add(&batch()).unwrap_err().to_string().contains("no such field"));
    }
}
