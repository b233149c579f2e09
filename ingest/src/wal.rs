//! The write-ahead log: records are durable here before anything is
//! acknowledged, and stay until the sealed file that holds them, its
//! manifest and its checkpoint are stored.
//!
//! A stream's WAL is a directory of segments named by the sequence number
//! of their first record (`<seq:020>.wal`). A segment is the magic
//! `LSWAL02\n` followed by frames: `len: u32 LE ‖ crc32c(payload): u32 LE
//! ‖ payload`, the payload being one record (`wal_frame`: the line alone
//! where replay can parse it again, else the canonical encoding). Segments
//! of version 1 (`LSWAL01\n`, canonical encodings only) are still
//! replayed; new records always go to a version 2 segment. Writes append whole groups of frames and
//! `fdatasync` them; a crash can only tear the last write of the last
//! segment, which replay detects (short frame, bad checksum) and cuts off.
//! Damage anywhere else is an error: acknowledged records are never
//! skipped silently.

use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use logseal_core::{Record, canonical};

use crate::error::{Error, ErrorKind, Result};
use crate::wal_frame;

const MAGIC: &[u8; 8] = b"LSWAL02\n";
/// Segments written before 2026-11-28: canonical encodings only.
const MAGIC_V1: &[u8; 8] = b"LSWAL01\n";
const FRAME_HEADER: usize = 8;

/// Sizes of the WAL.
#[derive(Debug, Clone)]
pub struct WalOptions {
    /// Start a new segment after this many bytes.
    pub segment_bytes: u64,
    /// The largest frame (one record) accepted on replay.
    pub max_frame: usize,
    /// The largest single write; a torn tail longer than this is not a
    /// torn write but damage.
    pub max_write: usize,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions { segment_bytes: 16 << 20, max_frame: 32 << 20, max_write: 64 << 20 }
    }
}

#[derive(Debug)]
struct Segment {
    first_seq: u64,
    path: PathBuf,
    bytes: u64,
}

/// One stream's write-ahead log.
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    options: WalOptions,
    segments: Vec<Segment>,
    file: File,
    next_seq: u64,
    buffer: Vec<u8>,
}

/// What replay found.
#[derive(Debug)]
pub struct Replay {
    /// Every record in the WAL, in sequence order.
    pub records: Vec<Record>,
    /// Bytes cut from a torn last write, if any.
    pub torn_bytes: u64,
}

fn segment_name(first_seq: u64) -> String {
    format!("{first_seq:020}.wal")
}

fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".wal")?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.parse().ok()).flatten()
}

fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io(format!("syncing {}", dir.display()), &e))
}

impl Wal {
    /// Opens (creating if needed) the WAL in `dir` and replays it. A new
    /// segment starts at `start_seq` when the WAL is empty.
    pub fn open(dir: &Path, options: WalOptions, start_seq: u64) -> Result<(Wal, Replay)> {
        fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating WAL directory {}", dir.display()), &e))?;
        let mut names: Vec<(u64, PathBuf)> = Vec::new();
        for entry in fs::read_dir(dir).map_err(|e| Error::io(format!("listing {}", dir.display()), &e))? {
            let entry = entry.map_err(|e| Error::io(format!("listing {}", dir.display()), &e))?;
            if let Some(seq) = entry.file_name().to_str().and_then(parse_segment_name) {
                names.push((seq, entry.path()));
            }
        }
        names.sort();
        let mut records = Vec::new();
        let mut segments = Vec::new();
        let mut torn_bytes = 0;
        let mut last_version = 2;
        let last = names.len().checked_sub(1);
        for (i, (first_seq, path)) in names.into_iter().enumerate() {
            let SegmentRead { records: mut segment_records, good_len, file_len, version } =
                read_segment(&path, &options)?;
            last_version = version;
            if good_len < file_len {
                let torn = file_len - good_len;
                if Some(i) != last || torn > options.max_write as u64 + FRAME_HEADER as u64 {
                    return Err(Error::new(
                        ErrorKind::Corrupt,
                        format!(
                            "WAL segment {} is damaged at byte {good_len} ({torn} bytes after it): not a torn last write; \
                             the records after it were acknowledged and cannot be skipped — keep the file for inspection",
                            path.display()
                        ),
                    ));
                }
                torn_bytes = torn;
                if good_len == 0 {
                    // Its creation was cut short: start it again.
                    fs::remove_file(&path).map_err(|e| Error::io(path.display(), &e))?;
                    segments.push(create_segment(dir, first_seq)?);
                    continue;
                }
                let file = OpenOptions::new().write(true).open(&path).map_err(|e| Error::io(path.display(), &e))?;
                file.set_len(good_len).and_then(|()| file.sync_all()).map_err(|e| Error::io(path.display(), &e))?;
            }
            if let Some(first) = segment_records.first()
                && first.seq != first_seq
            {
                return Err(Error::new(
                    ErrorKind::Corrupt,
                    format!("WAL segment {} starts with seq {}, its name says {first_seq}", path.display(), first.seq),
                ));
            }
            segments.push(Segment { first_seq, path, bytes: good_len });
            records.append(&mut segment_records);
        }
        for pair in records.windows(2) {
            if pair[1].seq != pair[0].seq + 1 {
                return Err(Error::new(
                    ErrorKind::Corrupt,
                    format!("WAL in {} jumps from seq {} to {}", dir.display(), pair[0].seq, pair[1].seq),
                ));
            }
        }
        let next_seq = records.last().map_or(start_seq, |r| r.seq + 1);
        if last_version == 1 {
            // New records go to a segment of the current version.
            if segments.last().is_some_and(|s| s.first_seq == next_seq) {
                let empty = segments.pop().expect("a last segment");
                fs::remove_file(&empty.path).map_err(|e| Error::io(empty.path.display(), &e))?;
            }
            segments.push(create_segment(dir, next_seq)?);
        }
        // An empty last segment named for another sequence number (a crash
        // between emptying it and renaming it in `release_through`) would
        // take records it is not named for: start it again at next_seq.
        if segments.last().is_some_and(|s| s.bytes == MAGIC.len() as u64 && s.first_seq != next_seq) {
            let empty = segments.pop().expect("a last segment");
            fs::remove_file(&empty.path).map_err(|e| Error::io(empty.path.display(), &e))?;
        }
        if segments.is_empty() {
            segments.push(create_segment(dir, next_seq)?);
        }
        let current = segments.last().expect("at least one segment");
        let mut file =
            OpenOptions::new().append(true).open(&current.path).map_err(|e| Error::io(current.path.display(), &e))?;
        file.seek(SeekFrom::End(0)).map_err(|e| Error::io(current.path.display(), &e))?;
        let wal = Wal { dir: dir.to_owned(), options, segments, file, next_seq, buffer: Vec::with_capacity(1 << 20) };
        Ok((wal, Replay { records, torn_bytes }))
    }

    /// The sequence number the next appended record must have.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Bytes on disk.
    pub fn bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes).sum()
    }

    /// Appends records (contiguous, continuing the WAL) as one write. Not
    /// durable until [`Wal::sync`]. On failure nothing of the write stays.
    pub fn append(&mut self, records: &[Record]) -> Result<()> {
        let Some(first) = records.first() else { return Ok(()) };
        if first.seq != self.next_seq {
            return Err(Error::new(
                ErrorKind::Io,
                format!("WAL continues at seq {}, not {}", self.next_seq, first.seq),
            ));
        }
        if self.current().bytes >= self.options.segment_bytes {
            self.rotate(first.seq)?;
        }
        self.buffer.clear();
        for r in records {
            let start = self.buffer.len();
            self.buffer.extend_from_slice(&[0; FRAME_HEADER]);
            wal_frame::encode_into(r, &mut self.buffer);
            let payload = &self.buffer[start + FRAME_HEADER..];
            let len = u32::try_from(payload.len()).expect("records are far below 4 GiB");
            let crc = crc32c::crc32c(payload);
            self.buffer[start..start + 4].copy_from_slice(&len.to_le_bytes());
            self.buffer[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
        }
        let before = self.current().bytes;
        if let Err(e) = self.file.write_all(&self.buffer) {
            // Cut a partial write so the next one starts on a frame boundary.
            let _ = self.file.set_len(before);
            let _ = self.file.seek(SeekFrom::End(0));
            return Err(Error::io(format!("writing WAL segment {}", self.current().path.display()), &e));
        }
        let written = self.buffer.len() as u64;
        self.segments.last_mut().expect("current segment").bytes += written;
        self.next_seq = records.last().map_or(self.next_seq, |r| r.seq + 1);
        Ok(())
    }

    /// Makes everything appended durable.
    pub fn sync(&mut self) -> Result<()> {
        self.file
            .sync_data()
            .map_err(|e| Error::io(format!("syncing WAL segment {}", self.current().path.display()), &e))
    }

    /// Continues at `seq` when the WAL is behind it (its records were all
    /// sealed already): a fresh segment starts there.
    pub fn skip_to(&mut self, seq: u64) -> Result<()> {
        if self.next_seq < seq {
            self.rotate(seq)?;
            self.next_seq = seq;
        }
        Ok(())
    }

    /// Releases every segment whose records all have `seq <= sealed_through`
    /// and returns them; the caller deletes them with [`Released::delete`]
    /// outside any lock (deleting a large file takes tens of milliseconds).
    /// When every record is sealed, the current segment is emptied in place
    /// and renamed after the next sequence number: no new file is needed,
    /// so this works on a full disk.
    pub fn release_through(&mut self, sealed_through: u64) -> Result<Released> {
        let mut files = Vec::new();
        while self.segments.len() > 1 && self.segments[1].first_seq <= sealed_through + 1 {
            files.push(self.segments.remove(0).path);
        }
        if sealed_through + 1 == self.next_seq && self.segments.len() == 1 && self.current().bytes > MAGIC.len() as u64
        {
            let old = self.current().path.clone();
            let new = self.dir.join(segment_name(self.next_seq));
            self.file
                .set_len(MAGIC.len() as u64)
                .and_then(|()| self.file.sync_all())
                .map_err(|e| Error::io(old.display(), &e))?;
            fs::rename(&old, &new).map_err(|e| Error::io(format!("renaming {}", old.display()), &e))?;
            let segment = self.segments.last_mut().expect("current segment");
            *segment = Segment { first_seq: self.next_seq, path: new, bytes: MAGIC.len() as u64 };
            fsync_dir(&self.dir)?;
        }
        Ok(Released { dir: self.dir.clone(), files })
    }

    fn current(&self) -> &Segment {
        self.segments.last().expect("at least one segment")
    }

    fn rotate(&mut self, first_seq: u64) -> Result<()> {
        self.sync()?;
        let segment = create_segment(&self.dir, first_seq)?;
        self.file =
            OpenOptions::new().append(true).open(&segment.path).map_err(|e| Error::io(segment.path.display(), &e))?;
        self.segments.push(segment);
        Ok(())
    }
}

/// Segments released by [`Wal::release_through`], to delete.
#[derive(Debug)]
#[must_use = "released segments must be deleted"]
pub struct Released {
    dir: PathBuf,
    files: Vec<PathBuf>,
}

impl Released {
    /// Deletes the released segment files.
    pub fn delete(self) -> Result<()> {
        for path in &self.files {
            fs::remove_file(path).map_err(|e| Error::io(format!("deleting {}", path.display()), &e))?;
        }
        if !self.files.is_empty() {
            fsync_dir(&self.dir)?;
        }
        Ok(())
    }
}

fn create_segment(dir: &Path, first_seq: u64) -> Result<Segment> {
    let path = dir.join(segment_name(first_seq));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| Error::io(format!("creating WAL segment {}", path.display()), &e))?;
    file.write_all(MAGIC).and_then(|()| file.sync_all()).map_err(|e| Error::io(path.display(), &e))?;
    fsync_dir(dir)?;
    Ok(Segment { first_seq, path, bytes: MAGIC.len() as u64 })
}

/// What a segment holds.
struct SegmentRead {
    records: Vec<Record>,
    /// The length of its intact prefix.
    good_len: u64,
    /// Its length on disk.
    file_len: u64,
    /// Its format version (0: its creation was cut short).
    version: u8,
}

/// Reads a segment.
fn read_segment(path: &Path, options: &WalOptions) -> Result<SegmentRead> {
    let bytes = fs::read(path).map_err(|e| Error::io(format!("reading WAL segment {}", path.display()), &e))?;
    if bytes.len() < MAGIC.len() {
        // A segment whose creation was cut short holds nothing.
        return Ok(SegmentRead { records: Vec::new(), good_len: 0, file_len: bytes.len() as u64, version: 0 });
    }
    let version = match &bytes[..MAGIC.len()] {
        m if m == MAGIC => 2,
        m if m == MAGIC_V1 => 1,
        _ => {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!("{} is not a logseal WAL segment (bad magic)", path.display()),
            ));
        }
    };
    let mut at = MAGIC.len();
    let mut records = Vec::new();
    while bytes.len() - at >= FRAME_HEADER {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes"));
        let end = at + FRAME_HEADER + len;
        if len > options.max_frame || end > bytes.len() || crc32c::crc32c(&bytes[at + FRAME_HEADER..end]) != crc {
            break;
        }
        let payload = &bytes[at + FRAME_HEADER..end];
        let record = if version == 1 {
            canonical::decode(payload).map_err(|e| e.to_string())
        } else {
            wal_frame::decode(payload)
        }
        .map_err(|e| {
            Error::new(
                ErrorKind::Corrupt,
                format!("WAL segment {} at byte {at}: checksum matches but {e}", path.display()),
            )
        })?;
        records.push(record);
        at = end;
    }
    Ok(SegmentRead { records, good_len: at as u64, file_len: bytes.len() as u64, version })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: u64) -> Record {
        Record { seq, source: "test".into(), raw: format!("line {seq}").into_bytes(), ..Record::default() }
    }

    fn seqs(records: &[Record]) -> Vec<u64> {
        records.iter().map(|r| r.seq).collect()
    }

    #[test]
    fn append_sync_replay() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, replay) = Wal::open(dir.path(), WalOptions::default(), 5).unwrap();
        assert!(replay.records.is_empty());
        wal.append(&(5..10).map(record).collect::<Vec<_>>()).unwrap();
        wal.sync().unwrap();
        drop(wal);
        let (wal, replay) = Wal::open(dir.path(), WalOptions::default(), 0).unwrap();
        assert_eq!(seqs(&replay.records), vec![5, 6, 7, 8, 9]);
        assert_eq!(replay.records[2], record(7));
        assert_eq!(wal.next_seq(), 10);
    }

    #[test]
    fn a_torn_last_write_is_cut_at_every_byte() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _) = Wal::open(dir.path(), WalOptions::default(), 0).unwrap();
        wal.append(&(0..3).map(record).collect::<Vec<_>>()).unwrap();
        wal.sync().unwrap();
        let synced = wal.bytes();
        wal.append(&(3..6).map(record).collect::<Vec<_>>()).unwrap();
        let full = fs::read(dir.path().join(segment_name(0))).unwrap();
        drop(wal);
        for cut in synced as usize..full.len() {
            fs::write(dir.path().join(segment_name(0)), &full[..cut]).unwrap();
            let (wal, replay) = Wal::open(dir.path(), WalOptions::default(), 0).unwrap();
            let got = seqs(&replay.records);
            assert!(got.starts_with(&[0, 1, 2]) && got.len() <= 5, "cut at {cut}: {got:?}");
            assert_eq!(wal.next_seq(), got.len() as u64);
            assert_eq!(fs::metadata(dir.path().join(segment_name(0))).unwrap().len(), wal.bytes(), "torn tail removed");
        }
    }

    #[test]
    fn a_flipped_byte_in_a_synced_frame_is_not_replayed_as_data() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _) = Wal::open(dir.path(), WalOptions::default(), 0).unwrap();
        wal.append(&(0..3).map(record).collect::<Vec<_>>()).unwrap();
        wal.sync().unwrap();
        drop(wal);
        let path = dir.path().join(segment_name(0));
        let mut bytes = fs::read(&path).unwrap();
        let at = bytes.len() - 3;
        bytes[at] ^= 1;
        fs::write(&path, &bytes).unwrap();
        let (_, replay) = Wal::open(dir.path(), WalOptions::default(), 0).unwrap();
        assert_eq!(seqs(&replay.records), vec![0, 1], "the damaged last frame is cut, never replayed");
    }

    #[test]
    fn damage_before_acknowledged_data_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let options = WalOptions { max_write: 16, ..WalOptions::default() };
        let (mut wal, _) = Wal::open(dir.path(), options.clone(), 0).unwrap();
        wal.append(&(0..50).map(record).collect::<Vec<_>>()).unwrap();
        wal.sync().unwrap();
        drop(wal);
        let path = dir.path().join(segment_name(0));
        let mut bytes = fs::read(&path).unwrap();
        bytes[20] ^= 1;
        fs::write(&path, &bytes).unwrap();
        let err = Wal::open(dir.path(), options, 0).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt);
        assert!(err.to_string().contains("cannot be skipped"), "{err}");
    }

    #[test]
    fn a_segment_whose_creation_was_cut_short_is_started_again() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(segment_name(7)), b"LSW").unwrap();
        let (mut wal, replay) = Wal::open(dir.path(), WalOptions::default(), 7).unwrap();
        assert!(replay.records.is_empty());
        wal.append(&[record(7)]).unwrap();
        wal.sync().unwrap();
        drop(wal);
        let (_, replay) = Wal::open(dir.path(), WalOptions::default(), 0).unwrap();
        assert_eq!(seqs(&replay.records), vec![7]);
    }

    #[test]
    fn an_emptied_segment_not_yet_renamed_is_started_again_at_the_next_seq() {
        let dir = tempfile::tempdir().unwrap();
        // A crash in release_through: segment 0 emptied, not yet renamed
        // to 5; the sealer's state says the stream continues at 5.
        fs::write(dir.path().join(segment_name(0)), MAGIC).unwrap();
        let (mut wal, replay) = Wal::open(dir.path(), WalOptions::default(), 5).unwrap();
        assert!(replay.records.is_empty());
        assert_eq!(wal.next_seq(), 5);
        wal.append(&[record(5), record(6)]).unwrap();
        wal.sync().unwrap();
        drop(wal);
        let (_, replay) = Wal::open(dir.path(), WalOptions::default(), 5).unwrap();
        assert_eq!(seqs(&replay.records), vec![5, 6]);
        assert!(!dir.path().join(segment_name(0)).exists());
    }

    #[test]
    fn version_1_segments_are_replayed_and_new_records_go_to_a_version_2_segment() {
        let dir = tempfile::tempdir().unwrap();
        let mut v1 = MAGIC_V1.to_vec();
        for seq in 3..6 {
            let payload = canonical::encode(&record(seq));
            v1.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            v1.extend_from_slice(&crc32c::crc32c(&payload).to_le_bytes());
            v1.extend_from_slice(&payload);
        }
        fs::write(dir.path().join(segment_name(3)), &v1).unwrap();
        let (mut wal, replay) = Wal::open(dir.path(), WalOptions::default(), 0).unwrap();
        assert_eq!(replay.records, (3..6).map(record).collect::<Vec<_>>());
        wal.append(&[record(6)]).unwrap();
        wal.sync().unwrap();
        drop(wal);
        assert_eq!(fs::read(dir.path().join(segment_name(3))).unwrap(), v1, "the version 1 segment is left as it was");
        assert!(fs::read(dir.path().join(segment_name(6))).unwrap().starts_with(MAGIC));
        let (_, replay) = Wal::open(dir.path(), WalOptions::default(), 0).unwrap();
        assert_eq!(seqs(&replay.records), vec![3, 4, 5, 6]);
    }

    #[test]
    fn segments_rotate_and_are_released_once_sealed() {
        let dir = tempfile::tempdir().unwrap();
        let options = WalOptions { segment_bytes: 100, ..WalOptions::default() };
        let (mut wal, _) = Wal::open(dir.path(), options.clone(), 0).unwrap();
        for seq in 0..10 {
            wal.append(&[record(seq)]).unwrap();
        }
        wal.sync().unwrap();
        let count = || fs::read_dir(dir.path()).unwrap().count();
        let before = count();
        assert!(before > 2, "{before} segments");
        wal.release_through(4).unwrap().delete().unwrap();
        let after = count();
        assert!(after < before);
        drop(wal);
        let (_, replay) = Wal::open(dir.path(), options, 0).unwrap();
        let got = seqs(&replay.records);
        assert!(got.first().is_some_and(|s| *s <= 5) && got.last() == Some(&9), "{got:?}");
    }
}
