//! What a sealed file looks like inside: every column encrypted with its
//! domain's key, Bloom filters on the pseudonyms `ip_tag` and `user_tag`
//! only, no statistics on `pii` columns, zstd, and `raw` stored only where rendering does not
//! reproduce the line. Garbage never makes the reader panic.

use std::sync::Arc;

use logseal_core::blind::IpTagger;
use logseal_core::parse::{JsonMapping, parse_line};
use logseal_core::{LineFormat, Record};
use logseal_store::ErrorKind;
use logseal_store::keys::KeyDomain;
use logseal_store::keys::local::LocalKeys;
use logseal_store::keys::pme::PmeKeys;
use logseal_store::sealed::read::SealedFileReader;
use logseal_store::sealed::schema::{COLUMNS, columns_of};
use logseal_store::sealed::write::{WriteOptions, write_sealed_file};
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::basic::Compression;

fn lines() -> Vec<&'static [u8]> {
    vec![
        b"192.0.2.1 - carol-user [10/Oct/2025:13:55:36 -0700] \"GET /alpha-path?q=1 HTTP/1.1\" 200 5 \"-\" \"curl/8\"",
        b"192.0.2.1 - - [10/Oct/2025:13:55:36 -0700] \"GET /b HTTP/1.1\" 200 5 \"-\" \"curl/8\"\r",
        b"garbage",
    ]
}

fn write(dir: &std::path::Path) -> (std::path::PathBuf, PmeKeys) {
    let keys = Arc::new(LocalKeys::create(dir.join("keys")).unwrap());
    let pme = PmeKeys::new(keys);
    let records: Vec<Record> = lines()
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let parsed = parse_line(LineFormat::Combined, l, &JsonMapping::default()).map_err(|e| e.to_string());
            Record::from_parse(i as u64, 1, "file:x", LineFormat::Combined, l.to_vec(), parsed)
        })
        .collect();
    let encryption = pme.encryption(&columns_of(KeyDomain::Base), &columns_of(KeyDomain::Pii)).unwrap();
    let written = write_sealed_file(&records, &IpTagger::new(&[1; 32]), encryption, &WriteOptions::default()).unwrap();
    assert_eq!(written.raw_stored, 2, "the CRLF line and the garbage line keep their raw bytes");
    let path = dir.join("f.parquet");
    std::fs::write(&path, &written.bytes).unwrap();
    (path, pme)
}

#[test]
fn bloom_filters_on_ip_tag_and_user_tag_only_and_no_statistics_on_pii_columns() {
    let dir = tempfile::tempdir().unwrap();
    let (path, pme) = write(dir.path());
    let options = ArrowReaderOptions::new().with_file_decryption_properties(pme.decryption().unwrap());
    let builder =
        ParquetRecordBatchReaderBuilder::try_new_with_options(std::fs::File::open(&path).unwrap(), options).unwrap();
    let meta = builder.metadata();
    assert_eq!(meta.num_row_groups(), 1);
    for (column, chunk) in COLUMNS.iter().zip(meta.row_group(0).columns()) {
        assert_eq!(chunk.column_path().string(), column.name);
        assert!(matches!(chunk.compression(), Compression::ZSTD(_)), "{} is not zstd", column.name);
        let has_bloom = chunk.bloom_filter_offset().is_some();
        assert_eq!(has_bloom, ["ip_tag", "user_tag"].contains(&column.name), "Bloom filter on {}", column.name);
        if column.domain == KeyDomain::Pii {
            assert!(chunk.statistics().is_none(), "statistics on pii column {}", column.name);
        }
    }
}

#[test]
fn every_column_is_encrypted() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write(dir.path());
    // Without decryption properties nothing can be read, not even the schema.
    let err = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap()).unwrap_err();
    assert!(err.to_string().to_lowercase().contains("encrypt"), "{err}");
    // No plaintext value of the file appears in its bytes.
    let bytes = std::fs::read(&path).unwrap();
    // Needles of 6+ bytes: shorter ones turn up in random ciphertext by chance.
    for needle in [&b"192.0.2.1"[..], b"192.0.2.0/24", b"carol-user", b"curl/8", b"garbage", b"/alpha-path", b"file:x"]
    {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "{:?} appears in clear",
            String::from_utf8_lossy(needle)
        );
    }
}

#[test]
fn garbage_and_truncated_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let (path, pme) = write(dir.path());
    let bytes = std::fs::read(&path).unwrap();
    let bad = dir.path().join("bad.parquet");
    let cases: Vec<Vec<u8>> = vec![
        b"not parquet".to_vec(),
        Vec::new(),
        bytes[..bytes.len() / 2].to_vec(),
        bytes[..bytes.len() - 1].to_vec(),
        bytes[bytes.len() / 2..].to_vec(),
        [&bytes[..100], &[0u8; 64][..], &bytes[164..]].concat(),
    ];
    for case in cases {
        std::fs::write(&bad, &case).unwrap();
        let result = SealedFileReader::open(&bad, pme.decryption().unwrap()).and_then(|mut r| {
            while let Some(rows) = r.next_rows() {
                rows?;
            }
            Ok(())
        });
        let err = result.expect_err("a damaged file must not read");
        assert!(matches!(err.kind(), ErrorKind::Malformed | ErrorKind::BadKey | ErrorKind::Io), "{err}");
    }
}
