//! Testing rows against a query, a column at a time: what the scan's row
//! filter stages run ([`Matcher`]).
//!
//! String columns may arrive dictionary-encoded (the scan asks the Parquet
//! reader to keep dictionaries for filter columns with few values): a test
//! then runs once per distinct value and the rows take the result of their
//! key. Others arrive as string views (tested in place, not copied).

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, TimestampMicrosecondType, UInt16Type};
use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch};
use arrow_schema::{ArrowError, DataType};

use crate::query::Query;
use crate::{Error, Result};

/// A query made ready to test rows: its substring finder and regular
/// expression built once.
pub struct Matcher {
    query: Query,
    check_time: bool,
    needle: Option<memchr::memmem::Finder<'static>>,
    needle_has_question_mark: bool,
    regex: Option<regex::bytes::Regex>,
}

impl Matcher {
    /// Prepares `query`; a regular expression that does not compile is an
    /// error naming it. With `check_time` false the time range is not
    /// tested (nor are the time columns read).
    pub fn new(query: &Query, check_time: bool) -> Result<Matcher> {
        let regex = match &query.url_regex {
            Some(r) => Some(
                regex::bytes::RegexBuilder::new(r)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| Error::InvalidQuery(format!("--url-regex {r:?}: {e}")))?,
            ),
            None => None,
        };
        let needle = query.url_contains.as_deref().map(|n| memchr::memmem::Finder::new(n.as_bytes()).into_owned());
        let needle_has_question_mark = query.url_contains.as_deref().is_some_and(|n| n.contains('?'));
        Ok(Matcher { query: query.clone(), check_time, needle, needle_has_question_mark, regex })
    }

    /// Which rows of `batch` (the filter columns) match.
    pub fn matching_rows(&self, batch: &RecordBatch) -> std::result::Result<BooleanArray, ArrowError> {
        let query = &self.query;
        let n = batch.num_rows();
        let column = |name: &str| {
            batch.column_by_name(name).ok_or_else(|| ArrowError::SchemaError(format!("filter column {name} not read")))
        };
        let mut ok = vec![true; n];
        let and = |ok: &mut Vec<bool>, hits: Vec<bool>| ok.iter_mut().zip(hits).for_each(|(o, h)| *o &= h);
        if self.check_time {
            let time = column("time")?.as_primitive::<TimestampMicrosecondType>();
            let received = column("received_at")?.as_primitive::<TimestampMicrosecondType>();
            for (row, o) in ok.iter_mut().enumerate() {
                let at = if time.is_valid(row) { time.value(row) } else { received.value(row) };
                *o &= at >= query.from_us && at < query.to_us;
            }
        }
        for (tag, name) in [(&query.ip_tag, "ip_tag"), (&query.user_tag, "user_tag")] {
            if let Some(tag) = tag {
                and(&mut ok, rows_where_bytes(column(name)?, &|v| v == &tag[..])?);
            }
        }
        if let Some(range) = &query.status {
            let statuses = column("status")?.as_primitive::<UInt16Type>();
            for (row, o) in ok.iter_mut().enumerate() {
                *o &= statuses.is_valid(row) && range.contains(&statuses.value(row));
            }
        }
        for (wanted, name) in
            [(&query.host, "host"), (&query.method, "method"), (&query.source, "source"), (&query.user_id, "user_id")]
        {
            if let Some(wanted) = wanted {
                and(&mut ok, rows_where_str(column(name)?, &|v| v == wanted)?);
            }
        }
        if let Some(net) = &query.client_net {
            and(&mut ok, rows_where_str(column("client_ip")?, &|v| v.parse().is_ok_and(|ip| net.contains(ip)))?);
        }
        let url = self.needle.is_some() || self.regex.is_some();
        if url || query.url_prefix.is_some() {
            let paths = column("url_path")?;
            if let Some(prefix) = &query.url_prefix {
                and(&mut ok, rows_where_str(paths, &|p| p.starts_with(prefix.as_str()))?);
            }
            let queries = match url && query.url_with_query {
                true => Some(column("url_query")?),
                false => None,
            };
            if let Some(needle) = &self.needle {
                and(
                    &mut ok,
                    self.url_rows(paths, queries, &|u| needle.find(u).is_some(), !self.needle_has_question_mark)?,
                );
            }
            if let Some(regex) = &self.regex {
                and(&mut ok, self.url_rows(paths, queries, &|u| regex.is_match(u), false)?);
            }
        }
        Ok(BooleanArray::from(ok))
    }

    /// Rows whose URL (the path, or `path?query` when the row has a query
    /// string and `queries` is read) passes `test`. With `separable`, a
    /// URL passes exactly when its path or its query string does (a
    /// substring without '?'), so both are tested per distinct value.
    fn url_rows(
        &self,
        paths: &ArrayRef,
        queries: Option<&ArrayRef>,
        test: &dyn Fn(&[u8]) -> bool,
        separable: bool,
    ) -> std::result::Result<Vec<bool>, ArrowError> {
        let path_hits = rows_where_str(paths, &|p| test(p.as_bytes()))?;
        let Some(queries) = queries else { return Ok(path_hits) };
        if separable {
            let has_path = rows_where_str(paths, &|_| true)?;
            let query_hits = rows_where_str(queries, &|q| test(q.as_bytes()))?;
            return Ok((0..paths.len()).map(|i| path_hits[i] || (has_path[i] && query_hits[i])).collect());
        }
        let mut joined = Vec::new();
        (0..paths.len())
            .map(|row| match (str_at(paths, row)?, str_at(queries, row)?) {
                (Some(p), Some(q)) => {
                    joined.clear();
                    joined.extend_from_slice(p.as_bytes());
                    joined.push(b'?');
                    joined.extend_from_slice(q.as_bytes());
                    Ok(test(&joined))
                }
                _ => Ok(path_hits[row]),
            })
            .collect()
    }
}

fn unexpected(column: &dyn Array) -> ArrowError {
    ArrowError::SchemaError(format!("filter column of unexpected type {}", column.data_type()))
}

/// Per row: the (string) column's value passes `test`; null: false.
fn rows_where_str(column: &ArrayRef, test: &dyn Fn(&str) -> bool) -> std::result::Result<Vec<bool>, ArrowError> {
    match column.data_type() {
        DataType::Utf8 => {
            let values = column.as_string::<i32>();
            Ok((0..values.len()).map(|i| values.is_valid(i) && test(values.value(i))).collect())
        }
        DataType::Utf8View => {
            let values = column.as_string_view();
            Ok((0..values.len()).map(|i| values.is_valid(i) && test(values.value(i))).collect())
        }
        DataType::Dictionary(key, value) if **key == DataType::Int32 && **value == DataType::Utf8 => {
            let dictionary = column.as_dictionary::<Int32Type>();
            let values = dictionary.values().as_string::<i32>();
            let hits: Vec<bool> = (0..values.len()).map(|i| values.is_valid(i) && test(values.value(i))).collect();
            Ok(dictionary
                .keys()
                .iter()
                .map(|k| k.is_some_and(|k| hits.get(k as usize).copied().unwrap_or(false)))
                .collect())
        }
        _ => Err(unexpected(column.as_ref())),
    }
}

/// Per row: the (fixed-size binary) column's value passes `test`; null:
/// false. (Never dictionary-encoded here: the scan reads pseudonym
/// columns plain, see `scan::DICTIONARY_FILTER_COLUMNS`.)
fn rows_where_bytes(column: &ArrayRef, test: &dyn Fn(&[u8]) -> bool) -> std::result::Result<Vec<bool>, ArrowError> {
    match column.data_type() {
        DataType::FixedSizeBinary(_) => {
            let values = column.as_fixed_size_binary();
            Ok((0..values.len()).map(|i| values.is_valid(i) && test(values.value(i))).collect())
        }
        _ => Err(unexpected(column.as_ref())),
    }
}

/// One row's value of a string column (plain or dictionary-encoded).
fn str_at(column: &ArrayRef, row: usize) -> std::result::Result<Option<&str>, ArrowError> {
    match column.data_type() {
        DataType::Utf8 => {
            let values = column.as_string::<i32>();
            Ok(values.is_valid(row).then(|| values.value(row)))
        }
        DataType::Utf8View => {
            let values = column.as_string_view();
            Ok(values.is_valid(row).then(|| values.value(row)))
        }
        DataType::Dictionary(..) => {
            let dictionary = column.as_dictionary::<Int32Type>();
            let values = dictionary.values().as_string::<i32>();
            Ok(dictionary
                .keys()
                .is_valid(row)
                .then(|| dictionary.keys().value(row) as usize)
                .and_then(|k| (k < values.len() && values.is_valid(k)).then(|| values.value(k))))
        }
        _ => Err(unexpected(column.as_ref())),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{DictionaryArray, StringArray};
    use arrow_schema::{Field, Schema};

    use super::*;

    /// URL filters give the same answer on plain and dictionary-encoded
    /// columns as testing `path?query` (or the path) row by row.
    #[test]
    fn url_filters_agree_with_the_joined_url_on_plain_and_dictionary_columns() {
        let paths = [Some("/login"), Some("/a?b"), None, Some("/x"), Some("/login"), Some("/q")];
        let queries = [Some("next=/home"), None, Some("login=1"), Some("a=login"), None, Some("x=1?y")];
        let dictionary: DictionaryArray<Int32Type> = paths.iter().copied().collect();
        for (name, path_column) in [
            ("plain", Arc::new(StringArray::from(paths.to_vec())) as ArrayRef),
            ("dictionary", Arc::new(dictionary) as ArrayRef),
        ] {
            let schema = Schema::new(vec![
                Field::new("url_path", path_column.data_type().clone(), true),
                Field::new("url_query", DataType::Utf8, true),
            ]);
            let batch = RecordBatch::try_new(
                Arc::new(schema),
                vec![path_column, Arc::new(StringArray::from(queries.to_vec())) as ArrayRef],
            )
            .unwrap();
            for with_query in [false, true] {
                for (needle, regex) in
                    [("login", None), ("?", None), ("1?y", None), ("/x?a", None), ("", Some("^/q\\?x"))]
                {
                    let mut q = Query::between(0, 1).unwrap();
                    q.url_with_query = with_query;
                    match regex {
                        Some(r) => q.url_regex = Some(r.to_owned()),
                        None => q.url_contains = Some(needle.to_owned()),
                    }
                    let got: Vec<bool> = Matcher::new(&q, false)
                        .unwrap()
                        .matching_rows(&batch)
                        .unwrap()
                        .iter()
                        .map(|b| b.unwrap())
                        .collect();
                    let want: Vec<bool> = (0..paths.len())
                        .map(|i| {
                            let Some(p) = paths[i] else { return false };
                            let url = match (with_query, queries[i]) {
                                (true, Some(q)) => format!("{p}?{q}"),
                                _ => p.to_owned(),
                            };
                            match regex {
                                Some(r) => regex::Regex::new(r).unwrap().is_match(&url),
                                None => url.contains(needle),
                            }
                        })
                        .collect();
                    assert_eq!(got, want, "{name} with_query={with_query} needle={needle:?} regex={regex:?}");
                }
            }
        }
    }
}
