//! One encrypted sealed file → rows, batch by batch.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, TimestampMicrosecondType, UInt16Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use logseal_core::blind::{IP_TAG_LEN, IpTag};
use logseal_core::derived::Derived;
use logseal_core::{EventTime, LineFormat, Record};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::encryption::decrypt::FileDecryptionProperties;

use super::schema::arrow_schema;
use crate::error::{Error, ErrorKind, Result};

/// A row as stored: the record (with `raw` empty when the file did not
/// store it) and the stored extras.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRow {
    /// The record's fields; `raw` is empty when `raw_stored` is false.
    pub record: Record,
    /// Whether the file stores `raw` (otherwise the renderer gives it).
    pub raw_stored: bool,
    /// The stored derived columns: `ip_tag`, `client_prefix`, `user_tag`.
    pub derived: Derived,
}

/// Reads a sealed file batch by batch.
pub struct SealedFileReader {
    inner: ParquetRecordBatchReader,
    path: String,
}

impl std::fmt::Debug for SealedFileReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedFileReader({})", self.path)
    }
}

fn read_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Malformed, format!("reading sealed file {}: {e}", path.display()))
}

impl SealedFileReader {
    /// Opens `path` with `decryption`; every column is read.
    pub fn open(path: &Path, decryption: Arc<FileDecryptionProperties>) -> Result<SealedFileReader> {
        let file = File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), &e))?;
        guarded(&path.display().to_string(), || {
            let options = ArrowReaderOptions::new().with_file_decryption_properties(decryption);
            let builder =
                ParquetRecordBatchReaderBuilder::try_new_with_options(file, options).map_err(|e| classify(path, e))?;
            let expected = arrow_schema();
            if builder.schema().fields() != expected.fields() {
                return Err(read_err(path, "columns differ from the sealed-file schema v1"));
            }
            let inner = builder
                .with_projection(ProjectionMask::all())
                .with_batch_size(8192)
                .build()
                .map_err(|e| classify(path, e))?;
            Ok(SealedFileReader { inner, path: path.display().to_string() })
        })
    }

    /// The next batch of rows, or `None` at the end.
    pub fn next_rows(&mut self) -> Option<Result<Vec<StoredRow>>> {
        let path = self.path.clone();
        let inner = &mut self.inner;
        let batch = match guarded(&path, || Ok(inner.next())) {
            Ok(batch) => batch?,
            Err(e) => return Some(Err(e)),
        };
        Some(
            batch
                .map_err(|e| Error::new(ErrorKind::Malformed, format!("reading sealed file {path}: {e}")))
                .and_then(|b| rows_of(&b).map_err(|e| e.context(&path))),
        )
    }
}

/// Runs a Parquet decoding step, turning a panic into an error.
///
/// The parquet crate (58.x) panics on some damaged encrypted input instead
/// of returning an error: `RingGcmBlockDecryptor::decrypt` subtracts the
/// nonce and tag lengths from a ciphertext length it never checked. A
/// verifier must report a damaged file, not die on it, so every decoding
/// call goes through here.
fn guarded<T>(path: &str, step: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(step)).unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown failure".into());
        Err(Error::new(
            ErrorKind::Malformed,
            format!("reading sealed file {path}: the Parquet decoder failed on damaged data ({why})"),
        ))
    })
}

/// Key errors surface as parquet errors; give them the key kind back.
fn classify(path: &Path, e: parquet::errors::ParquetError) -> Error {
    let text = e.to_string();
    if text.contains("key file") || text.contains("master key") || text.contains("decrypt") {
        Error::new(ErrorKind::BadKey, format!("reading sealed file {}: {text}", path.display()))
    } else {
        read_err(path, text)
    }
}

fn rows_of(batch: &RecordBatch) -> Result<Vec<StoredRow>> {
    let utf8 = |name: &str| batch.column_by_name(name).map(|c| c.as_string::<i32>().clone());
    let missing = || Error::new(ErrorKind::Malformed, "a column is missing or has the wrong type");
    let col = |name: &str| batch.column_by_name(name).ok_or_else(missing);
    let seq = col("seq")?.as_primitive_opt::<UInt64Type>().ok_or_else(missing)?.clone();
    let received_at = col("received_at")?.as_primitive_opt::<TimestampMicrosecondType>().ok_or_else(missing)?.clone();
    let time = col("time")?.as_primitive_opt::<TimestampMicrosecondType>().ok_or_else(missing)?.clone();
    let offset = col("time_offset_s")?.as_primitive_opt::<Int32Type>().ok_or_else(missing)?.clone();
    let status = col("status")?.as_primitive_opt::<UInt16Type>().ok_or_else(missing)?.clone();
    let bytes_sent = col("bytes_sent")?.as_primitive_opt::<UInt64Type>().ok_or_else(missing)?.clone();
    let duration = col("duration_us")?.as_primitive_opt::<UInt64Type>().ok_or_else(missing)?.clone();
    let ip_tag = col("ip_tag")?.as_fixed_size_binary_opt().ok_or_else(missing)?.clone();
    let user_tag = col("user_tag")?.as_fixed_size_binary_opt().ok_or_else(missing)?.clone();
    let raw = col("raw")?.as_binary_opt::<i32>().ok_or_else(missing)?.clone();
    let strings: Vec<_> = [
        "source",
        "format",
        "client_ip",
        "client_prefix",
        "method",
        "url_query",
        "url_path",
        "protocol",
        "referer",
        "user_agent",
        "user_id",
        "request_id",
        "host",
        "parse_error",
    ]
    .iter()
    .map(|name| utf8(name).ok_or_else(missing))
    .collect::<Result<_>>()?;
    let [
        source,
        format,
        client_ip,
        client_prefix,
        method,
        url_query,
        url_path,
        protocol,
        referer,
        user_agent,
        user_id,
        request_id,
        host,
        parse_error,
    ] = &strings[..]
    else {
        unreachable!("14 names give 14 columns")
    };
    let text = |a: &arrow_array::StringArray, i: usize| a.is_valid(i).then(|| a.value(i).to_owned());
    let num = |a: &dyn Array, i: usize| a.is_valid(i);

    let mut rows = Vec::with_capacity(batch.num_rows());
    for i in 0..batch.num_rows() {
        let bad = |what: &str| Error::new(ErrorKind::Malformed, format!("row {i}: {what}"));
        let format_value = match text(format, i) {
            Some(name) => Some(LineFormat::from_name(&name).ok_or_else(|| bad("unknown line format"))?),
            None => None,
        };
        let client_ip_value = match text(client_ip, i) {
            Some(ip) => Some(ip.parse().map_err(|_| bad("client_ip is not an address"))?),
            None => None,
        };
        let time_value = match (num(&time, i), num(&offset, i)) {
            (true, true) => Some(EventTime { utc_micros: time.value(i), offset_secs: offset.value(i) }),
            (false, false) => None,
            _ => return Err(bad("time and time_offset_s disagree on presence")),
        };
        let path = text(url_path, i);
        let url_value = match (&path, text(url_query, i)) {
            (Some(p), Some(q)) => Some(format!("{p}?{q}")),
            (Some(p), None) => Some(p.clone()),
            (None, None) => None,
            (None, Some(_)) => return Err(bad("url_query without url_path")),
        };
        let raw_stored = raw.is_valid(i);
        let record = Record {
            seq: seq.value(i),
            received_at: received_at.value(i),
            source: source.value(i).to_owned(),
            format: format_value,
            time: time_value,
            client_ip: client_ip_value,
            method: text(method, i),
            url: url_value,
            url_path: path,
            protocol: text(protocol, i),
            status: num(&status, i).then(|| status.value(i)),
            bytes_sent: num(&bytes_sent, i).then(|| bytes_sent.value(i)),
            duration_us: num(&duration, i).then(|| duration.value(i)),
            referer: text(referer, i),
            user_agent: text(user_agent, i),
            user_id: text(user_id, i),
            request_id: text(request_id, i),
            host: text(host, i),
            raw: if raw_stored { raw.value(i).to_vec() } else { Vec::new() },
            parse_error: text(parse_error, i),
        };
        let tag = |tags: &arrow_array::FixedSizeBinaryArray| -> Result<Option<IpTag>> {
            if !tags.is_valid(i) {
                return Ok(None);
            }
            let bytes: [u8; IP_TAG_LEN] = tags.value(i).try_into().map_err(|_| bad("a tag has the wrong length"))?;
            Ok(Some(bytes))
        };
        let derived =
            Derived { ip_tag: tag(&ip_tag)?, client_prefix: text(client_prefix, i), user_tag: tag(&user_tag)? };
        rows.push(StoredRow { record, raw_stored, derived });
    }
    Ok(rows)
}
