//! Per-column storage of a sealed file: compressed bytes and bytes per
//! record, to see where the bytes of indefinite retention go.
//!
//! `sealed-stats --keys DATA_DIR/keys FILE.parquet...`

use std::sync::Arc;

use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (keys, files) = match args.split_first() {
        Some((flag, rest)) if flag == "--keys" && rest.len() >= 2 => (&rest[0], &rest[1..]),
        _ => return Err("usage: sealed-stats --keys KEYS_DIR FILE.parquet...".into()),
    };
    let pme = logseal_store::keys::pme::PmeKeys::new(Arc::new(logseal_store::keys::local::LocalKeys::open(keys)));
    let mut totals: Vec<(String, i64, i64)> = Vec::new();
    let mut rows = 0i64;
    let mut file_bytes = 0u64;
    for path in files {
        let file = std::fs::File::open(path)?;
        file_bytes += file.metadata()?.len();
        let options = ArrowReaderOptions::new().with_file_decryption_properties(pme.decryption()?);
        let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(file, options)?;
        let meta = builder.metadata();
        rows += meta.file_metadata().num_rows();
        for rg in meta.row_groups() {
            for (i, col) in rg.columns().iter().enumerate() {
                if totals.len() <= i {
                    totals.push((col.column_path().string(), 0, 0));
                }
                totals[i].1 += col.compressed_size();
                totals[i].2 += col.uncompressed_size();
            }
        }
    }
    let rows_f = rows.max(1) as f64;
    println!("{rows} records, {file_bytes} bytes on disk = {:.2} B/record", file_bytes as f64 / rows_f);
    println!("{:<16} {:>12} {:>10} {:>12}", "column", "compressed", "B/record", "uncompressed");
    let mut sum = 0;
    for (name, c, u) in &totals {
        sum += c;
        println!("{name:<16} {c:>12} {:>10.3} {u:>12}", *c as f64 / rows_f);
    }
    println!("{:<16} {sum:>12} {:>10.3}   (rest: footer, indexes, Bloom filters)", "columns", sum as f64 / rows_f);
    Ok(())
}
