//! Log input: files, `.gz` and `.zst` files (recognised by their magic
//! bytes, not their names) and stdin (`-`), read line by line with a cap
//! on line length so one runaway line cannot exhaust memory.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};

/// The longest line kept as one record; a longer one is split into
/// records of this size, each marked with a parse error.
pub const MAX_LINE: usize = 16 << 20;

/// Counts the bytes read from the underlying file (compressed bytes for
/// compressed files), for progress.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// An open input.
pub struct Input {
    /// `file:<path>` or `stdin`: the records' source.
    pub source: String,
    /// The bytes of the file as stored (compressed size), when known.
    pub size: Option<u64>,
    reader: Box<dyn BufRead + Send>,
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Input({})", self.source)
    }
}

/// What one read produced.
#[derive(Debug, PartialEq, Eq)]
pub enum LineRead {
    /// End of input.
    Eof,
    /// A whole line (without its `\n`).
    Line,
    /// [`MAX_LINE`] bytes of a longer line; the rest follows.
    Partial,
}

/// Opens `path` (`-` for stdin), decompressing gzip and zstd.
pub fn open(path: &str, counter: Arc<AtomicU64>) -> Result<Input> {
    let (source, size, raw): (String, Option<u64>, Box<dyn Read + Send>) = if path == "-" {
        ("stdin".into(), None, Box::new(io::stdin()))
    } else {
        let file = File::open(path).with_context(|| format!("opening {path}"))?;
        let size = file.metadata().ok().map(|m| m.len());
        (format!("file:{path}"), size, Box::new(file))
    };
    let mut buffered = BufReader::with_capacity(1 << 20, Counting { inner: raw, count: counter });
    let magic = buffered.fill_buf().with_context(|| format!("reading {path}"))?;
    let reader: Box<dyn BufRead + Send> = if magic.starts_with(&[0x1f, 0x8b]) {
        Box::new(BufReader::with_capacity(1 << 20, flate2::bufread::MultiGzDecoder::new(buffered)))
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let decoder = zstd::stream::read::Decoder::with_buffer(buffered)
            .with_context(|| format!("opening zstd stream {path}"))?;
        Box::new(BufReader::with_capacity(1 << 20, decoder))
    } else {
        Box::new(buffered)
    };
    Ok(Input { source, size, reader })
}

impl Input {
    /// Reads the next line into `line` (cleared first).
    pub fn next_line(&mut self, line: &mut Vec<u8>) -> io::Result<LineRead> {
        line.clear();
        loop {
            let available = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                return Ok(if line.is_empty() { LineRead::Eof } else { LineRead::Line });
            }
            let room = MAX_LINE - line.len();
            match memchr::memchr(b'\n', &available[..available.len().min(room)]) {
                Some(i) => {
                    line.extend_from_slice(&available[..i]);
                    self.reader.consume(i + 1);
                    return Ok(LineRead::Line);
                }
                None => {
                    let take = available.len().min(room);
                    line.extend_from_slice(&available[..take]);
                    self.reader.consume(take);
                    if line.len() == MAX_LINE {
                        return Ok(LineRead::Partial);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(bytes: &[u8]) -> Vec<(Vec<u8>, LineRead)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in");
        std::fs::write(&path, bytes).unwrap();
        let mut input = open(path.to_str().unwrap(), Arc::default()).unwrap();
        let mut out = Vec::new();
        let mut line = Vec::new();
        loop {
            match input.next_line(&mut line).unwrap() {
                LineRead::Eof => return out,
                kind => out.push((line.clone(), kind)),
            }
        }
    }

    #[test]
    fn plain_gzip_and_zstd_read_the_same() {
        let text = b"a\r\nb\n\nlast without newline".to_vec();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        io::Write::write_all(&mut gz, &text).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::encode_all(&text[..], 3).unwrap();
        let expected: Vec<Vec<u8>> =
            vec![b"a\r".to_vec(), b"b".to_vec(), b"".to_vec(), b"last without newline".to_vec()];
        for bytes in [text.clone(), gz, zst] {
            let got: Vec<Vec<u8>> = lines_of(&bytes).into_iter().map(|(l, _)| l).collect();
            assert_eq!(got, expected);
        }
    }
}
