//! `logseal import`: seal existing access-log files into a stream.
//!
//! A reader thread reads and parses lines into chunks of records; the
//! calling thread pushes each chunk into the stream's open file (whose
//! commitments are computed on a third thread) and seals the file when it
//! is full. Every line becomes a record: a line that does not parse keeps
//! its raw bytes and its parse error.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{RecvTimeoutError, sync_channel};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use logseal_core::parse::{JsonMapping, ParseErrorKind, parse_line};
use logseal_core::{LineFormat, Record};
use logseal_store::sealer::{OpenFile, StreamSealer};

use super::now_micros;
use crate::config::DataDir;
use crate::input::{self, LineRead};
use crate::progress::Progress;

/// What to import.
#[derive(Debug)]
pub struct ImportArgs {
    /// The stream to append to.
    pub stream: String,
    /// How lines are parsed.
    pub format: LineFormat,
    /// Files, `-` for stdin.
    pub files: Vec<String>,
    /// Records per sealed file (overrides the config).
    pub file_records: Option<usize>,
    /// JSON key mapping (overrides the config).
    pub json_mapping: Option<JsonMapping>,
    /// Show a progress bar.
    pub progress: bool,
}

/// What an import did.
#[derive(Debug, Default, serde::Serialize)]
pub struct ImportSummary {
    /// Records sealed.
    pub records: u64,
    /// Lines that did not parse, by kind.
    pub parse_errors: BTreeMap<String, u64>,
    /// Files written.
    pub files: u64,
    /// Bytes of sealed data written.
    pub bytes_written: u64,
    /// Records whose raw bytes had to be stored.
    pub raw_stored: u64,
    /// Bytes of log text read (after decompression).
    pub bytes_read: u64,
    /// First and last sequence numbers sealed.
    pub seq_range: Option<(u64, u64)>,
    /// Seconds taken.
    pub seconds: f64,
}

struct ReaderStats {
    parse_errors: BTreeMap<String, u64>,
    bytes_read: u64,
}

/// Records per chunk handed from the reader to the sealer.
const CHUNK: usize = 16 * 1024;

fn seal(sealer: &mut StreamSealer, file: OpenFile, summary: &mut ImportSummary) -> Result<()> {
    let receipt = sealer.finish_file(file, now_micros())?;
    summary.records += receipt.seq_last - receipt.seq_first + 1;
    summary.files += 1;
    summary.bytes_written += receipt.data_size;
    summary.raw_stored += receipt.raw_stored;
    summary.seq_range = Some((summary.seq_range.map_or(receipt.seq_first, |r| r.0), receipt.seq_last));
    Ok(())
}

/// Runs an import.
pub fn run(dir: &DataDir, args: ImportArgs) -> Result<ImportSummary> {
    let started = Instant::now();
    let store = dir.store()?;
    let keys = dir.keys()?;
    let signer = dir.signer()?;
    let mut sealer = StreamSealer::open(store, keys, signer, &args.stream, dir.sealer_options()?, now_micros())
        .with_context(|| format!("opening stream {:?}", args.stream))?;
    let file_records = args.file_records.unwrap_or(dir.config.sealing.file_records).max(1);
    let mapping = args.json_mapping.clone().unwrap_or_else(|| dir.config.import.json_mapping.clone());
    let heartbeat = Duration::from_secs(dir.config.sealing.heartbeat_secs.max(2) / 2);

    let counter = Arc::new(AtomicU64::new(0));
    // Open every input first: a missing file fails before anything is sealed.
    let inputs = args.files.iter().map(|f| input::open(f, Arc::clone(&counter))).collect::<Result<Vec<_>>>()?;
    let total: Option<u64> = inputs.iter().map(|i| i.size).sum();
    let progress = Progress::bytes(args.progress, total, "importing");

    let (sender, receiver) = sync_channel::<Vec<Record>>(1);
    let first_seq = sealer.next_seq();
    let format = args.format;
    let reader = std::thread::spawn(move || -> Result<ReaderStats> {
        let mut stats = ReaderStats { parse_errors: BTreeMap::new(), bytes_read: 0 };
        let mut seq = first_seq;
        let chunk_len = file_records.min(CHUNK);
        let mut batch = Vec::with_capacity(chunk_len);
        let mut line = Vec::with_capacity(4096);
        let mut continued = false;
        for mut input in inputs {
            let received_at = now_micros();
            loop {
                let read = input.next_line(&mut line).with_context(|| format!("reading {}", input.source))?;
                if read == LineRead::Eof {
                    break;
                }
                stats.bytes_read += line.len() as u64 + 1;
                let parsed = if read == LineRead::Partial || continued {
                    *stats.parse_errors.entry(ParseErrorKind::TooLong.as_str().to_owned()).or_default() += 1;
                    let part = if continued { "continues the previous record" } else { "continues in the next record" };
                    Err(format!("line longer than {} bytes; this part {part}", input::MAX_LINE))
                } else {
                    parse_line(format, &line, &mapping).map_err(|e| {
                        *stats.parse_errors.entry(e.kind().as_str().to_owned()).or_default() += 1;
                        e.to_string()
                    })
                };
                continued = read == LineRead::Partial;
                batch.push(Record::from_parse(seq, received_at, &input.source, format, line.clone(), parsed));
                seq += 1;
                // Chunks never straddle two files.
                if batch.len() == chunk_len || (seq - first_seq) % file_records as u64 == 0 {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(chunk_len));
                    if sender.send(full).is_err() {
                        return Ok(stats); // the sealer stopped; its error is reported
                    }
                }
            }
        }
        if !batch.is_empty() {
            let _ = sender.send(batch);
        }
        Ok(stats)
    });

    let mut summary = ImportSummary::default();
    let mut open: Option<OpenFile> = None;
    let result = (|| -> Result<()> {
        loop {
            match receiver.recv_timeout(heartbeat) {
                Ok(chunk) => {
                    let file = match &mut open {
                        Some(file) => file,
                        None => open.insert(sealer.begin_file(file_records)?),
                    };
                    file.push(chunk)?;
                    if file.len() == file_records as u64 {
                        let full = open.take().expect("just used");
                        seal(&mut sealer, full, &mut summary)?;
                    }
                    // A file can take longer than a heartbeat to fill.
                    sealer.heartbeat(now_micros())?;
                    progress.set(counter.load(Ordering::Relaxed), &format!("{} records sealed", summary.records));
                }
                Err(RecvTimeoutError::Timeout) => {
                    // A slow input (a pipe): keep the heartbeat promise.
                    sealer.heartbeat(now_micros())?;
                    progress.set(counter.load(Ordering::Relaxed), &format!("{} records sealed", summary.records));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    if let Some(last) = open.take() {
                        seal(&mut sealer, last, &mut summary)?;
                    }
                    return Ok(());
                }
            }
        }
    })();
    drop(receiver);
    let stats = reader.join().map_err(|_| anyhow!("the reader thread panicked"))?;
    // Whatever happened, say the writer stopped (if the store still works).
    let paused = sealer.pause(now_micros());
    result?;
    let stats = stats?;
    paused?;
    progress.finish();
    summary.parse_errors = stats.parse_errors;
    summary.bytes_read = stats.bytes_read;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}
