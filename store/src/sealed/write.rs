//! Records → one encrypted Parquet file (bytes in memory).
//!
//! Encodings follow the format's storage budget: the v2 writer with
//! `DELTA_BINARY_PACKED` for sequence numbers and times, dictionaries for
//! repetitive values (falling back to plain), plain otherwise, zstd on top. No statistics and no Bloom filter on a
//! `pii` column (the Parquet writer stores Bloom filters unencrypted);
//! the pseudonyms `ip_tag` and `user_tag` have Bloom filters instead. The
//! derived columns (`ip_tag`, `client_prefix`, `user_tag`) are computed
//! here from the record (`logseal_core::derived`). `raw` is stored only
//! where the renderer does not reproduce the line.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, FixedSizeBinaryBuilder, Int32Builder, StringBuilder, TimestampMicrosecondBuilder, UInt16Builder,
    UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use logseal_core::Record;
use logseal_core::blind::{IP_TAG_LEN, IpTag, IpTagger};
use logseal_core::derived::client_prefix as prefix_of;
use logseal_core::parse::url_path as url_path_of;
use logseal_core::render::reproduces_raw;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::encryption::encrypt::FileEncryptionProperties;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;

use super::schema::{COLUMNS, arrow_schema};
use crate::error::{Error, ErrorKind, Result};
use crate::keys::KeyDomain;

/// How files are laid out.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// Rows per row group (the unit a scan skips or reads).
    pub row_group_rows: usize,
    /// zstd level.
    pub zstd_level: i32,
    /// Bloom filter false-positive rate of `ip_tag`.
    pub ip_tag_fpp: f64,
    /// Bloom filter false-positive rate of `user_tag`.
    pub user_tag_fpp: f64,
    /// Largest dictionary page; a column whose dictionary outgrows it falls
    /// back to plain encoding for the rest of the row group.
    pub dictionary_page_bytes: usize,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            row_group_rows: 1 << 20,
            zstd_level: 6,
            ip_tag_fpp: 0.01,
            user_tag_fpp: 0.01,
            dictionary_page_bytes: 16 << 20,
        }
    }
}

/// A written file.
#[derive(Debug)]
pub struct WrittenFile {
    /// The encrypted Parquet bytes.
    pub bytes: Vec<u8>,
    /// Rows whose `raw` column is set.
    pub raw_stored: u64,
}

/// Monotonic integer columns: delta-encoded, no dictionary.
const DELTA_COLUMNS: [&str; 3] = ["seq", "received_at", "time"];

fn writer_properties(
    options: &WriteOptions,
    encryption: Arc<FileEncryptionProperties>,
    rows: usize,
) -> Result<WriterProperties> {
    let level = ZstdLevel::try_new(options.zstd_level)
        .map_err(|e| Error::new(ErrorKind::InvalidInput, format!("zstd level {}: {e}", options.zstd_level)))?;
    let mut builder = WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_2_0)
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(options.row_group_rows))
        .set_dictionary_page_size_limit(options.dictionary_page_bytes)
        .set_created_by(format!("logseal {}", env!("CARGO_PKG_VERSION")))
        .with_file_encryption_properties(encryption);
    for name in DELTA_COLUMNS {
        builder = builder
            .set_column_dictionary_enabled(ColumnPath::from(name), false)
            .set_column_encoding(ColumnPath::from(name), Encoding::DELTA_BINARY_PACKED);
    }
    for name in ["request_id", "raw"] {
        builder = builder.set_column_dictionary_enabled(ColumnPath::from(name), false);
    }
    // Every other column falls back to PLAIN (instead of the v2 defaults,
    // DELTA_BINARY_PACKED and DELTA_BYTE_ARRAY) when its dictionary
    // overflows, and `request_id`, `raw` are PLAIN: the delta encoders
    // reserve 1-3 MiB per column up front, which an agent with one writer
    // per shard pays in resident memory, and zstd recovers shared prefixes
    // anyway (same file size on the benchmark corpus).
    for column in COLUMNS.iter().filter(|c| !DELTA_COLUMNS.contains(&c.name)) {
        builder = builder.set_column_encoding(ColumnPath::from(column.name), Encoding::PLAIN);
    }
    for column in COLUMNS.iter().filter(|c| c.domain == KeyDomain::Pii) {
        builder = builder
            .set_column_statistics_enabled(ColumnPath::from(column.name), EnabledStatistics::None)
            .set_column_bloom_filter_enabled(ColumnPath::from(column.name), false);
    }
    // Sized for every row distinct; the writer folds each filter down to
    // the distinct values actually written.
    let ndv = (rows.min(options.row_group_rows) as u64).max(1);
    for (name, fpp) in [("ip_tag", options.ip_tag_fpp), ("user_tag", options.user_tag_fpp)] {
        builder = builder
            .set_column_bloom_filter_enabled(ColumnPath::from(name), true)
            .set_column_bloom_filter_fpp(ColumnPath::from(name), fpp)
            .set_column_bloom_filter_ndv(ColumnPath::from(name), ndv);
    }
    Ok(builder.build())
}

/// Writes `records` (in sequence order) as one encrypted file.
pub fn write_sealed_file(
    records: &[Record],
    tagger: &IpTagger,
    encryption: Arc<FileEncryptionProperties>,
    options: &WriteOptions,
) -> Result<WrittenFile> {
    let mut writer = SealedFileWriter::new(tagger.clone(), encryption, options, records.len())?;
    writer.write(records)?;
    writer.finish()
}

/// Writes one encrypted file from records handed in chunk by chunk, so
/// that encoding overlaps with whatever produces the records.
pub struct SealedFileWriter {
    writer: ArrowWriter<Vec<u8>>,
    schema: Arc<arrow_schema::Schema>,
    tags: TagCache,
    raw_stored: u64,
    rendered: Vec<u8>,
}

impl std::fmt::Debug for SealedFileWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedFileWriter({} raw stored)", self.raw_stored)
    }
}

fn parquet_err(e: parquet::errors::ParquetError) -> Error {
    Error::new(ErrorKind::Io, format!("writing Parquet: {e}"))
}

impl SealedFileWriter {
    /// A writer for a file of about `expected_rows` rows (sizes the
    /// `ip_tag` Bloom filter).
    pub fn new(
        tagger: IpTagger,
        encryption: Arc<FileEncryptionProperties>,
        options: &WriteOptions,
        expected_rows: usize,
    ) -> Result<SealedFileWriter> {
        let schema = arrow_schema();
        let props = writer_properties(options, encryption, expected_rows)?;
        let writer = ArrowWriter::try_new(Vec::with_capacity(expected_rows * 16), Arc::clone(&schema), Some(props))
            .map_err(parquet_err)?;
        Ok(SealedFileWriter {
            writer,
            schema,
            tags: TagCache { tagger, tags: HashMap::new(), users: HashMap::new() },
            raw_stored: 0,
            rendered: Vec::with_capacity(512),
        })
    }

    /// Appends records (continuing in sequence order).
    pub fn write(&mut self, records: &[Record]) -> Result<()> {
        for chunk in records.chunks(8 * 1024) {
            let (batch, raws) = to_batch(chunk, &mut self.tags, &mut self.rendered, &self.schema)?;
            self.raw_stored += raws;
            self.writer.write(&batch).map_err(parquet_err)?;
        }
        Ok(())
    }

    /// Closes the file and returns its bytes.
    pub fn finish(self) -> Result<WrittenFile> {
        let bytes = self.writer.into_inner().map_err(parquet_err)?;
        Ok(WrittenFile { bytes, raw_stored: self.raw_stored })
    }
}

/// Remembers the tags of recent addresses and user ids: both repeat a lot
/// (a few clients make most requests), and a lookup is far cheaper than
/// an HMAC.
struct TagCache {
    tagger: IpTagger,
    tags: HashMap<IpAddr, IpTag>,
    users: HashMap<Box<str>, IpTag>,
}

impl TagCache {
    const MAX: usize = 1 << 20;

    fn tag(&mut self, ip: IpAddr) -> IpTag {
        if let Some(tag) = self.tags.get(&ip) {
            return *tag;
        }
        if self.tags.len() == Self::MAX {
            self.tags.clear();
        }
        let tag = self.tagger.tag(ip);
        self.tags.insert(ip, tag);
        tag
    }

    fn user_tag(&mut self, user_id: &str) -> IpTag {
        if let Some(tag) = self.users.get(user_id) {
            return *tag;
        }
        if self.users.len() == Self::MAX {
            self.users.clear();
        }
        let tag = self.tagger.user_tag(user_id);
        self.users.insert(user_id.into(), tag);
        tag
    }
}

fn to_batch(
    records: &[Record],
    tagger: &mut TagCache,
    rendered: &mut Vec<u8>,
    schema: &Arc<arrow_schema::Schema>,
) -> Result<(RecordBatch, u64)> {
    let n = records.len();
    let strings = || StringBuilder::with_capacity(n, n * 16);
    let mut seq = UInt64Builder::with_capacity(n);
    let mut received_at = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut source = strings();
    let mut format = strings();
    let mut time = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut offset = Int32Builder::with_capacity(n);
    let mut client_ip = strings();
    let mut ip_tag = FixedSizeBinaryBuilder::with_capacity(n, IP_TAG_LEN as i32);
    let mut client_prefix = strings();
    let mut method = strings();
    let mut url_query = strings();
    let mut url_path = strings();
    let mut protocol = strings();
    let mut status = UInt16Builder::with_capacity(n);
    let mut bytes_sent = UInt64Builder::with_capacity(n);
    let mut duration = UInt64Builder::with_capacity(n);
    let mut referer = strings();
    let mut user_agent = strings();
    let mut user_id = strings();
    let mut user_tag = FixedSizeBinaryBuilder::with_capacity(n, IP_TAG_LEN as i32);
    let mut request_id = strings();
    let mut host = strings();
    let mut raw = BinaryBuilder::with_capacity(n, 0);
    let mut parse_error = strings();
    let mut raw_stored = 0;

    for r in records {
        seq.append_value(r.seq);
        received_at.append_value(r.received_at);
        source.append_value(&r.source);
        format.append_option(r.format.map(|f| f.name()));
        time.append_option(r.time.map(|t| t.utc_micros));
        offset.append_option(r.time.map(|t| t.offset_secs));
        match r.client_ip {
            Some(ip) => {
                // Formats straight into the builder's buffer.
                write!(client_ip, "{ip}").expect("writing to memory");
                client_ip.append_value("");
                ip_tag.append_value(tagger.tag(ip)).expect("tag has IP_TAG_LEN bytes");
                client_prefix.append_value(prefix_of(ip).as_str());
            }
            None => {
                client_ip.append_null();
                ip_tag.append_null();
                client_prefix.append_null();
            }
        }
        method.append_option(r.method.as_deref());
        if r.url.as_deref().map(url_path_of) != r.url_path.as_deref() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("record {}: url_path is not the path of url, so url cannot be stored as path + query", r.seq),
            ));
        }
        url_query.append_option(r.url.as_deref().and_then(|u| u.split_once('?')).map(|(_, q)| q));
        url_path.append_option(r.url_path.as_deref());
        protocol.append_option(r.protocol.as_deref());
        status.append_option(r.status);
        bytes_sent.append_option(r.bytes_sent);
        duration.append_option(r.duration_us);
        referer.append_option(r.referer.as_deref());
        user_agent.append_option(r.user_agent.as_deref());
        user_id.append_option(r.user_id.as_deref());
        match r.user_id.as_deref() {
            Some(u) => user_tag.append_value(tagger.user_tag(u)).expect("tag has IP_TAG_LEN bytes"),
            None => user_tag.append_null(),
        }
        request_id.append_option(r.request_id.as_deref());
        host.append_option(r.host.as_deref());
        if reproduces_raw(r, rendered) {
            raw.append_null();
        } else {
            raw.append_value(&r.raw);
            raw_stored += 1;
        }
        parse_error.append_option(r.parse_error.as_deref());
    }

    let columns: Vec<ArrayRef> = vec![
        Arc::new(seq.finish()),
        Arc::new(received_at.finish()),
        Arc::new(source.finish()),
        Arc::new(format.finish()),
        Arc::new(time.finish()),
        Arc::new(offset.finish()),
        Arc::new(client_ip.finish()),
        Arc::new(ip_tag.finish()),
        Arc::new(client_prefix.finish()),
        Arc::new(method.finish()),
        Arc::new(url_query.finish()),
        Arc::new(url_path.finish()),
        Arc::new(protocol.finish()),
        Arc::new(status.finish()),
        Arc::new(bytes_sent.finish()),
        Arc::new(duration.finish()),
        Arc::new(referer.finish()),
        Arc::new(user_agent.finish()),
        Arc::new(user_id.finish()),
        Arc::new(user_tag.finish()),
        Arc::new(request_id.finish()),
        Arc::new(host.finish()),
        Arc::new(raw.finish()),
        Arc::new(parse_error.finish()),
    ];
    let batch = RecordBatch::try_new(Arc::clone(schema), columns)
        .map_err(|e| Error::new(ErrorKind::Malformed, format!("building record batch: {e}")))?;
    Ok((batch, raw_stored))
}
