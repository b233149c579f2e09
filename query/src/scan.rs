//! One sealed file, read for a query with ranged reads only: the footer,
//! then the row groups whose statistics (and `ip_tag` and `user_tag` Bloom
//! filters) allow a match, the filter columns of those, and — through
//! Parquet's row filter and page index — only the pages of the output
//! columns that hold matching rows (late materialization: wide `pii`
//! columns are fetched and decrypted for matching rows only).
//!
//! Built on parquet's push decoder, which says which byte ranges it needs
//! and takes them from us: the store's `get_range` (local or S3) runs on
//! the calling thread, never inside an async runtime.

use std::ops::Range;
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use bytes::Bytes;
use logseal_store::object::ObjectStore;
use parquet::DecodeResult;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowPredicate, ArrowPredicateFn, ArrowReaderMetadata, ArrowReaderOptions, RowFilter,
};
use parquet::arrow::push_decoder::ParquetPushDecoderBuilder;
use parquet::bloom_filter::Sbbf;
use parquet::encryption::decrypt::FileDecryptionProperties;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData, ParquetMetaDataPushDecoder};
use parquet::file::statistics::Statistics;

use crate::filter::Matcher;
use crate::query::Query;
use crate::{Error, Result};

/// How much of a file's end is read first: the footer (and usually the
/// page indexes) in one request.
const TAIL_PREFETCH: u64 = 256 << 10;
/// Rows per decoded batch.
const BATCH_ROWS: usize = 8192;
/// Ranges the decoder asks for together are fetched as one read when the
/// gap between them is at most this (one S3 GET instead of many small
/// ones; the gap's bytes are cheaper than a request's latency).
const COALESCE_GAP: u64 = 1 << 20;

/// What reading one file took.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileScanStats {
    /// Row groups in the file.
    pub row_groups: usize,
    /// Row groups read after pruning.
    pub row_groups_read: usize,
    /// Bytes fetched from the store.
    pub bytes_fetched: u64,
    /// Ranged reads made.
    pub requests: u64,
    /// Rows handed to the sink.
    pub rows: u64,
}

/// A sealed data object to scan.
pub struct SealedObject<'a> {
    /// Where it is.
    pub store: &'a dyn ObjectStore,
    /// Its key.
    pub key: &'a str,
    /// Its size (from the manifest).
    pub size: u64,
    /// Keys to decrypt it (the domains the reader may see).
    pub decryption: Arc<FileDecryptionProperties>,
}

/// Scans `object` for `query`, handing batches of the `columns` of
/// matching rows to `sink` until it returns false.
pub fn scan_file(
    object: &SealedObject<'_>,
    query: &Query,
    columns: &[&str],
    sink: &mut dyn FnMut(RecordBatch) -> bool,
) -> Result<FileScanStats> {
    let fail = |message: String| Error::File { key: object.key.to_owned(), message };
    // A damaged file must be an error, not a crash of the server: the
    // decoder has panicked on hostile input before.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scan(object, query, columns, sink)))
        .unwrap_or_else(|_| Err(fail("the Parquet decoder failed on this file (damaged?)".to_owned())))
}

fn scan(
    object: &SealedObject<'_>,
    query: &Query,
    columns: &[&str],
    sink: &mut dyn FnMut(RecordBatch) -> bool,
) -> Result<FileScanStats> {
    let parquet = |e: parquet::errors::ParquetError| Error::File { key: object.key.to_owned(), message: e.to_string() };
    let mut stats = FileScanStats::default();
    let metadata = Arc::new(read_metadata(object, &mut stats).map_err(parquet)?);
    let descr = metadata.file_metadata().schema_descr_ptr();
    let index_of = |name: &str| descr.columns().iter().position(|c| c.name() == name);
    stats.row_groups = metadata.num_row_groups();

    let mut keep = Vec::new();
    // Whether some kept row group has rows outside the time range (else
    // no row needs its time checked).
    let mut time_needed = false;
    for rg in 0..metadata.num_row_groups() {
        let group = metadata.row_group(rg);
        let time_meets = |name: &str| match index_of(name).and_then(|i| group.column(i).statistics()) {
            Some(Statistics::Int64(s)) => match (s.min_opt(), s.max_opt()) {
                (Some(&min), Some(&max)) => query.meets(min, max),
                _ => false, // no non-null value: nothing of this column meets it
            },
            _ => true,
        };
        if !(time_meets("time") || time_meets("received_at")) {
            continue;
        }
        // A pseudonym asked for that the row group's Bloom filter does not
        // hold rules the row group out.
        let mut may_match = true;
        for (tag, name) in [(&query.ip_tag, "ip_tag"), (&query.user_tag, "user_tag")] {
            let (Some(tag), Some(i)) = (tag, index_of(name)) else { continue };
            let chunk = group.column(i);
            if let (Some(offset), Some(length)) = (chunk.bloom_filter_offset(), chunk.bloom_filter_length()) {
                let start = u64::try_from(offset).unwrap_or(0);
                let range = start..start + u64::try_from(length).unwrap_or(0);
                let bytes = fetch(object, range, &mut stats)?;
                if !Sbbf::from_bytes(&bytes).map_err(parquet)?.check(&tag[..]) {
                    may_match = false;
                    break;
                }
            }
        }
        if may_match {
            keep.push(rg);
            time_needed |= !all_rows_in_range(group, &index_of, query);
        }
    }
    stats.row_groups_read = keep.len();
    if keep.is_empty() {
        return Ok(stats);
    }

    // One predicate per stage, the most selective first: each later stage
    // decodes its columns only for the rows earlier ones kept.
    let mut predicates: Vec<Box<dyn ArrowPredicate>> = Vec::new();
    for (stage, check_time) in stages(query, time_needed) {
        let filter_columns: Vec<&str> = stage
            .filter_columns()
            .into_iter()
            .filter(|c| check_time || !matches!(*c, "time" | "received_at"))
            .collect();
        let matcher = Matcher::new(&stage, check_time)?;
        predicates.push(Box::new(ArrowPredicateFn::new(
            ProjectionMask::columns(&descr, filter_columns.iter().copied()),
            move |batch: RecordBatch| matcher.matching_rows(&batch),
        )));
    }
    // Filter columns of strings keep their dictionaries
    // (tests run per distinct value, see crate::filter); output batches
    // get plain columns back (`plain_columns`).
    let plain = ArrowReaderMetadata::try_new(Arc::clone(&metadata), ArrowReaderOptions::new()).map_err(parquet)?;
    let filter_columns = query.filter_columns();
    let fields: Vec<Field> = plain
        .schema()
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            // Not FixedSizeBinary: parquet 58 decodes a fixed-length
            // dictionary page as length-prefixed ("eof decoding byte array").
            DataType::Utf8
                if DICTIONARY_FILTER_COLUMNS.contains(&f.name().as_str())
                    && filter_columns.contains(&f.name().as_str()) =>
            {
                let dictionary = DataType::Dictionary(Box::new(DataType::Int32), Box::new(f.data_type().clone()));
                Field::new(f.name(), dictionary, f.is_nullable()).with_metadata(f.metadata().clone())
            }
            // Other string filter columns as views: no string bytes are
            // copied out of the decoded pages to test them.
            DataType::Utf8 if filter_columns.contains(&f.name().as_str()) => {
                Field::new(f.name(), DataType::Utf8View, f.is_nullable()).with_metadata(f.metadata().clone())
            }
            _ => f.as_ref().clone(),
        })
        .collect();
    let hinted = Arc::new(Schema::new_with_metadata(fields, plain.schema().metadata().clone()));
    let reader_metadata =
        ArrowReaderMetadata::try_new(Arc::clone(&metadata), ArrowReaderOptions::new().with_schema(hinted))
            .map_err(parquet)?;
    let mut builder = ParquetPushDecoderBuilder::new_with_metadata(reader_metadata)
        .with_row_groups(keep)
        .with_projection(ProjectionMask::columns(&descr, columns.iter().copied()))
        .with_batch_size(BATCH_ROWS);
    if !predicates.is_empty() {
        builder = builder.with_row_filter(RowFilter::new(predicates));
    }
    if let Some(limit) = query.limit {
        builder = builder.with_limit(limit);
    }
    let mut decoder = builder.build().map_err(parquet)?;
    loop {
        match decoder.try_decode().map_err(parquet)? {
            DecodeResult::NeedsData(ranges) => {
                let data = fetch_many(object, &ranges, &mut stats)?;
                decoder.push_ranges(ranges, data).map_err(parquet)?;
            }
            DecodeResult::Data(batch) => {
                let batch = plain_columns(batch)
                    .map_err(|e| Error::File { key: object.key.to_owned(), message: e.to_string() })?;
                stats.rows += batch.num_rows() as u64;
                if !sink(batch) {
                    break;
                }
            }
            DecodeResult::Finished => break,
        }
    }
    Ok(stats)
}

/// Filter columns read with their dictionaries kept: those with few
/// distinct values per file. Not `url_path` or `url_query`: their
/// dictionaries overflow the dictionary page and the reader then re-packs
/// plain values into a dictionary, which measured slower (URL count over
/// 10M rows: 360 ms plain, 470-520 ms as dictionaries).
const DICTIONARY_FILTER_COLUMNS: [&str; 3] = ["host", "method", "source"];

/// `batch` with its dictionary-encoded columns decoded to their value
/// type and its string views as strings.
fn plain_columns(batch: RecordBatch) -> std::result::Result<RecordBatch, arrow_schema::ArrowError> {
    if !batch.schema().fields().iter().any(|f| matches!(f.data_type(), DataType::Dictionary(..) | DataType::Utf8View)) {
        return Ok(batch);
    }
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if field.data_type() == &DataType::Utf8View {
            let views = column.as_string_view();
            let mut b = StringBuilder::with_capacity(views.len(), 0);
            for value in views.iter() {
                b.append_option(value);
            }
            fields.push(Field::new(field.name(), DataType::Utf8, field.is_nullable()));
            columns.push(Arc::new(b.finish()));
            continue;
        }
        let DataType::Dictionary(_, value_type) = field.data_type() else {
            fields.push(field.as_ref().clone());
            columns.push(Arc::clone(column));
            continue;
        };
        let dictionary = column.as_dictionary::<Int32Type>();
        let keys = dictionary.keys();
        let plain: ArrayRef = match value_type.as_ref() {
            DataType::Utf8 => {
                let values = dictionary.values().as_string::<i32>();
                let mut b = StringBuilder::with_capacity(keys.len(), 0);
                for k in keys.iter() {
                    b.append_option(k.map(|k| k as usize).filter(|&k| values.is_valid(k)).map(|k| values.value(k)));
                }
                Arc::new(b.finish())
            }
            other => {
                return Err(arrow_schema::ArrowError::SchemaError(format!("unexpected dictionary of {other}")));
            }
        };
        fields.push(Field::new(field.name(), value_type.as_ref().clone(), field.is_nullable()));
        columns.push(plain);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

/// Whether every row of a row group lies in the query's time range, by
/// statistics: its event times (those it has) and its receive times do.
fn all_rows_in_range(
    group: &parquet::file::metadata::RowGroupMetaData,
    index_of: &dyn Fn(&str) -> Option<usize>,
    query: &Query,
) -> bool {
    let within = |name: &str| match index_of(name).and_then(|i| group.column(i).statistics()) {
        Some(Statistics::Int64(s)) => match (s.min_opt(), s.max_opt()) {
            (Some(&min), Some(&max)) => min >= query.from_us && max < query.to_us,
            // No value at all: only when every value is null.
            _ => s.null_count_opt() == Some(group.num_rows() as u64),
        },
        _ => false,
    };
    within("time") && within("received_at")
}

/// The query split into row-filter stages, most selective first:
/// pseudonyms (one value among many), exact fields, URL filters, then the
/// time range when some row may lie outside it. Each stage is a query
/// holding only its filters, and whether it checks time.
fn stages(query: &Query, time_needed: bool) -> Vec<(Query, bool)> {
    let bare = Query { limit: None, ..Query::between(query.from_us, query.to_us).unwrap_or_else(|_| query.clone()) };
    let mut out = Vec::new();
    if query.ip_tag.is_some() || query.user_tag.is_some() {
        out.push(Query { ip_tag: query.ip_tag, user_tag: query.user_tag, ..bare.clone() });
    }
    if query.status.is_some()
        || query.host.is_some()
        || query.method.is_some()
        || query.source.is_some()
        || query.user_id.is_some()
        || query.client_net.is_some()
    {
        out.push(Query {
            status: query.status.clone(),
            host: query.host.clone(),
            method: query.method.clone(),
            source: query.source.clone(),
            user_id: query.user_id.clone(),
            client_net: query.client_net,
            ..bare.clone()
        });
    }
    if query.url_contains.is_some() || query.url_regex.is_some() || query.url_prefix.is_some() {
        out.push(Query {
            url_contains: query.url_contains.clone(),
            url_regex: query.url_regex.clone(),
            url_prefix: query.url_prefix.clone(),
            url_with_query: query.url_with_query,
            ..bare.clone()
        });
    }
    let mut stages: Vec<(Query, bool)> = out.into_iter().map(|q| (q, false)).collect();
    if time_needed {
        stages.push((bare, true));
    }
    stages
}

/// The file's metadata (decrypted footer, page indexes when readable).
fn read_metadata(object: &SealedObject<'_>, stats: &mut FileScanStats) -> parquet::errors::Result<ParquetMetaData> {
    let as_parquet = |e: Error| parquet::errors::ParquetError::External(Box::new(e));
    let mut decoder = ParquetMetaDataPushDecoder::try_new(object.size)?
        .with_page_index_policy(PageIndexPolicy::Optional)
        .with_file_decryption_properties(Some(Arc::clone(&object.decryption)));
    let tail = object.size.saturating_sub(TAIL_PREFETCH)..object.size;
    decoder.push_range(tail.clone(), fetch(object, tail, stats).map_err(as_parquet)?)?;
    loop {
        match decoder.try_decode()? {
            DecodeResult::NeedsData(ranges) => {
                let data = ranges
                    .iter()
                    .map(|r| fetch(object, r.clone(), stats))
                    .collect::<Result<Vec<_>>>()
                    .map_err(as_parquet)?;
                decoder.push_ranges(ranges, data)?;
            }
            DecodeResult::Data(metadata) => return Ok(metadata),
            DecodeResult::Finished => {
                return Err(parquet::errors::ParquetError::General("no metadata in the file".to_owned()));
            }
        }
    }
}

/// The bytes of each of `ranges`, read with as few requests as the gaps
/// allow (see [`COALESCE_GAP`]).
fn fetch_many(object: &SealedObject<'_>, ranges: &[Range<u64>], stats: &mut FileScanStats) -> Result<Vec<Bytes>> {
    let mut order: Vec<usize> = (0..ranges.len()).collect();
    order.sort_by_key(|&i| ranges[i].start);
    let mut out = vec![Bytes::new(); ranges.len()];
    let mut group: Vec<usize> = Vec::new();
    let mut flush = |group: &mut Vec<usize>, stats: &mut FileScanStats| -> Result<()> {
        let Some(&first) = group.first() else { return Ok(()) };
        let start = ranges[first].start;
        let end = group.iter().map(|&i| ranges[i].end).max().unwrap_or(start);
        let merged = fetch(object, start..end, stats)?;
        for &i in group.iter() {
            let r = &ranges[i];
            out[i] = merged.slice((r.start - start) as usize..(r.end - start) as usize);
        }
        group.clear();
        Ok(())
    };
    let mut end = 0;
    for i in order {
        if !group.is_empty() && ranges[i].start > end + COALESCE_GAP {
            flush(&mut group, stats)?;
        }
        end = if group.is_empty() { ranges[i].end } else { end.max(ranges[i].end) };
        group.push(i);
    }
    flush(&mut group, stats)?;
    Ok(out)
}

fn fetch(object: &SealedObject<'_>, range: Range<u64>, stats: &mut FileScanStats) -> Result<Bytes> {
    let bytes = object.store.get_range(object.key, range)?;
    stats.requests += 1;
    stats.bytes_fetched += bytes.len() as u64;
    Ok(Bytes::from(bytes))
}
