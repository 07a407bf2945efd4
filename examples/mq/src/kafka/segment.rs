//! One segment of a partition's log: a `.log` file of framed records and a sparse
//! `.index` file, both named after the segment's base offset (`{base:020}.log`), as
//! Kafka names them.
//!
//! Record frame (big-endian, as Kafka writes):
//!
//! ```text
//! len: u32        bytes after this field (crc + body)
//! crc: u32        CRC32 (IEEE) of the body
//! body:
//!   offset: u64   absolute offset; consecutive within a segment from `base`
//!   timestamp: i64  ms since the Unix epoch
//!   key_len: i32  -1 for no key
//!   key, value_len: u32, value
//! ```
//!
//! The index holds `(offset - base: u32, position: u32)` pairs, one each time at least
//! `index_interval` bytes of log were written since the last one, so a read seeks to
//! the nearest entry below its offset and scans at most that many bytes forward.
//!
//! Invariants:
//! 1. `size` is the byte length of whole, CRC-checked records; nothing at or past
//!    `size` is ever served. Each append is one `write` of whole frames, and `size`
//!    (and the partition's high watermark above it) moves only after it succeeded.
//! 2. The log is written before the index entries that point into it, so a crash can
//!    leave index entries past the log's end but never a log region the index skips.
//! 3. Recovery (`open`) trusts nothing: it keeps the index entries that point at a
//!    frame that decodes with the expected offset, scans forward from the last of
//!    them, and truncates the file at the first frame that is short (a torn tail),
//!    fails its CRC, or breaks the offset sequence. A torn record is never served.
//!
//! Durability: an append is a `write(2)` into the page cache, so a process that dies
//! loses nothing appended; `sync` (called on roll and close) adds `fsync` for a
//! machine crash. Rejected: fsync per append — it costs milliseconds per batch and a
//! message queue's producers already retry what a crash loses.
//!
//! Reads take a [`SegmentSlice`] (a shared file handle and a byte range) under the
//! partition's lock and read it after letting go, with positional reads (`pread`),
//! so readers never hold up the appender and a segment deleted by retention stays
//! readable through the open handle until the last reader drops it.

use super::message::Record;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Bytes of `len` + `crc`.
const FRAME_HEADER: usize = 8;
/// Bytes of the body's fixed fields: offset, timestamp, key_len, value_len.
const BODY_FIXED: usize = 8 + 8 + 4 + 4;
/// A frame claiming more than this is garbage (a torn or corrupt length field).
pub const MAX_RECORD_BYTES: usize = 64 << 20;
/// Bytes of one index entry.
const INDEX_ENTRY: usize = 8;

/// A record as stored: its offset and the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// Absolute offset in the partition.
    pub offset: u64,
    /// The record.
    pub record: Record,
}

/// What `open` found and repaired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Recovery {
    /// Bytes cut off the end of the log (a torn or corrupt tail).
    pub truncated_bytes: u64,
}

/// One segment: the open files and what is known of their contents.
#[derive(Debug)]
pub struct Segment {
    base_offset: u64,
    log_path: PathBuf,
    index_path: PathBuf,
    log: Arc<File>,
    index_file: File,
    /// Bytes of whole records (invariant 1).
    size: u64,
    /// Offset the next record appended here gets.
    next_offset: u64,
    /// `(offset - base, position)`, both strictly increasing.
    index: Vec<(u32, u32)>,
    /// Log bytes written since the last index entry.
    since_index: u64,
    index_interval: u64,
    /// Timestamp of the newest record (retention by age reads it); `i64::MIN` if empty.
    last_timestamp: i64,
}

/// A byte range of one segment's log, to read without the partition's lock.
#[derive(Debug, Clone)]
pub struct SegmentSlice {
    file: Arc<File>,
    /// Where to start scanning (an index position at or before the wanted offset).
    start: u64,
    /// The segment's `size` when the slice was taken: nothing past it is read.
    end: u64,
}

/// `{base:020}.log` / `.index` in `dir`.
pub fn file_names(dir: &Path, base_offset: u64) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("{base_offset:020}.log")),
        dir.join(format!("{base_offset:020}.index")),
    )
}

/// The base offsets of the segments in `dir`, ascending (from the `.log` names).
pub fn list_bases(dir: &Path) -> io::Result<Vec<u64>> {
    let mut bases = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let name = name.to_string_lossy();
        if let Some(stem) = name.strip_suffix(".log") {
            if let Ok(base) = stem.parse::<u64>() {
                bases.push(base);
            }
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

impl Segment {
    /// A new, empty segment starting at `base_offset` (files created or truncated).
    pub fn create(dir: &Path, base_offset: u64, index_interval: u64) -> io::Result<Segment> {
        let (log_path, index_path) = file_names(dir, base_offset);
        let log = open_rw(&log_path, true)?;
        let index_file = open_rw(&index_path, true)?;
        Ok(Segment {
            base_offset,
            log_path,
            index_path,
            log: Arc::new(log),
            index_file,
            size: 0,
            next_offset: base_offset,
            index: Vec::new(),
            since_index: 0,
            index_interval: index_interval.max(1),
            last_timestamp: i64::MIN,
        })
    }

    /// Opens an existing segment and repairs it (invariant 3).
    pub fn open(
        dir: &Path,
        base_offset: u64,
        index_interval: u64,
    ) -> io::Result<(Segment, Recovery)> {
        let (log_path, index_path) = file_names(dir, base_offset);
        let log = open_rw(&log_path, false)?;
        let index_file = open_rw(&index_path, false)?;
        let file_len = log.metadata()?.len();
        let raw_index = read_all(&index_file)?;
        let mut index: Vec<(u32, u32)> = raw_index
            .chunks_exact(INDEX_ENTRY)
            .map(|c| {
                (
                    u32::from_be_bytes(c[0..4].try_into().unwrap()),
                    u32::from_be_bytes(c[4..8].try_into().unwrap()),
                )
            })
            .collect();
        // Keep the longest increasing prefix that points inside the file.
        let mut keep = 0;
        let mut prev: Option<(u32, u32)> = None;
        for &(rel, pos) in &index {
            let ordered = prev.map_or(true, |(pr, pp)| rel > pr && pos > pp);
            if !ordered || u64::from(pos) >= file_len {
                break;
            }
            prev = Some((rel, pos));
            keep += 1;
        }
        index.truncate(keep);
        // Walk back until an entry points at a frame with the offset it claims.
        while let Some(&(rel, pos)) = index.last() {
            match read_frame_at(&log, u64::from(pos), file_len)? {
                Some(r) if r.offset == base_offset + u64::from(rel) => break,
                _ => {
                    index.pop();
                }
            }
        }
        let (scan_pos, expected) = match index.last() {
            Some(&(rel, pos)) => (u64::from(pos), base_offset + u64::from(rel)),
            None => (0, base_offset),
        };
        // Scan the tail: every whole, valid, in-sequence frame counts.
        let mut tail = vec![0u8; (file_len - scan_pos) as usize];
        log.read_exact_at(&mut tail, scan_pos)?;
        let mut at = 0usize;
        let mut next_offset = expected;
        let mut last_timestamp = i64::MIN;
        let mut since_index = 0u64;
        let mut found = Vec::new();
        let mut frames_seen = 0usize;
        while let Some((rec, len)) = decode_frame(&tail[at..]) {
            if rec.offset != next_offset {
                break;
            }
            // The first frame scanned sits at the index entry we started from.
            if frames_seen > 0 && since_index >= index_interval.max(1) {
                let pos = scan_pos + at as u64;
                if let Ok(pos) = u32::try_from(pos) {
                    found.push(((rec.offset - base_offset) as u32, pos));
                }
                since_index = 0;
            }
            frames_seen += 1;
            next_offset = rec.offset + 1;
            last_timestamp = rec.record.timestamp;
            at += len;
            since_index += len as u64;
        }
        let size = scan_pos + at as u64;
        let truncated_bytes = file_len - size;
        if truncated_bytes > 0 {
            log.set_len(size)?;
            log.sync_all()?;
        }
        index.extend(found);
        // The index is derived data: rewrite it to exactly what was verified.
        let mut bytes = Vec::with_capacity(index.len() * INDEX_ENTRY);
        for &(rel, pos) in &index {
            bytes.extend_from_slice(&rel.to_be_bytes());
            bytes.extend_from_slice(&pos.to_be_bytes());
        }
        index_file.set_len(0)?;
        index_file.write_all_at(&bytes, 0)?;
        Ok((
            Segment {
                base_offset,
                log_path,
                index_path,
                log: Arc::new(log),
                index_file,
                size,
                next_offset,
                index,
                since_index,
                index_interval: index_interval.max(1),
                last_timestamp,
            },
            Recovery { truncated_bytes },
        ))
    }

    /// Appends `records` as one write; returns the offset of the first.
    pub fn append(&mut self, records: &[Record]) -> io::Result<u64> {
        let first = self.next_offset;
        let mut buf = Vec::with_capacity(
            records
                .iter()
                .map(|r| {
                    FRAME_HEADER + BODY_FIXED + r.value.len() + r.key.as_ref().map_or(0, Vec::len)
                })
                .sum(),
        );
        let mut new_entries = Vec::new();
        let mut since = self.since_index;
        let mut last_ts = self.last_timestamp;
        for (i, r) in records.iter().enumerate() {
            let offset = first + i as u64;
            let pos = self.size + buf.len() as u64;
            if since >= self.index_interval && pos > 0 {
                if let Ok(pos) = u32::try_from(pos) {
                    new_entries.push(((offset - self.base_offset) as u32, pos));
                }
                since = 0;
            }
            let before = buf.len();
            encode_frame(&mut buf, offset, r);
            since += (buf.len() - before) as u64;
            last_ts = r.timestamp;
        }
        // Invariant 2: the log first, then the index entries pointing into it.
        (&*self.log).write_all(&buf)?;
        if !new_entries.is_empty() {
            let mut ib = Vec::with_capacity(new_entries.len() * INDEX_ENTRY);
            for &(rel, pos) in &new_entries {
                ib.extend_from_slice(&rel.to_be_bytes());
                ib.extend_from_slice(&pos.to_be_bytes());
            }
            self.index_file.write_all(&ib)?;
            self.index.extend(new_entries);
        }
        self.size += buf.len() as u64;
        self.since_index = since;
        self.next_offset = first + records.len() as u64;
        self.last_timestamp = last_ts;
        Ok(first)
    }

    /// The slice to read for records from `offset` on (which must be in this segment).
    pub fn slice_from(&self, offset: u64) -> SegmentSlice {
        let rel = offset.saturating_sub(self.base_offset);
        // The last index entry at or below `rel`.
        let i = self.index.partition_point(|&(r, _)| u64::from(r) <= rel);
        let start = if i == 0 {
            0
        } else {
            u64::from(self.index[i - 1].1)
        };
        SegmentSlice {
            file: Arc::clone(&self.log),
            start,
            end: self.size,
        }
    }

    /// `fsync` of both files.
    pub fn sync(&self) -> io::Result<()> {
        self.log.sync_data()?;
        self.index_file.sync_data()
    }

    /// Removes both files (readers holding a slice can still finish reading).
    pub fn delete(self) -> io::Result<()> {
        fs::remove_file(&self.log_path)?;
        match fs::remove_file(&self.index_path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// The offset of this segment's first record.
    pub fn base_offset(&self) -> u64 {
        self.base_offset
    }

    /// The offset the next record appended here gets.
    pub fn next_offset(&self) -> u64 {
        self.next_offset
    }

    /// Bytes of whole records.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Timestamp of the newest record; `None` for an empty segment. (Recovery always
    /// scans at least the last record, so a reopened segment knows it too.)
    pub fn last_timestamp(&self) -> Option<i64> {
        (self.last_timestamp != i64::MIN).then_some(self.last_timestamp)
    }

    /// Number of index entries (tests look at it).
    pub fn index_entries(&self) -> usize {
        self.index.len()
    }
}

impl SegmentSlice {
    /// Reads whole records with offsets `>= from`, stopping after `max_bytes` of log
    /// (but always returning at least one record if one is there) or `max_records`.
    pub fn read(
        &self,
        from: u64,
        max_bytes: usize,
        max_records: usize,
    ) -> io::Result<Vec<StoredRecord>> {
        let mut out = Vec::new();
        let mut pos = self.start;
        // Records below `from` between the index entry and `from` are skipped, and do
        // not count against the byte budget.
        let mut budget = max_bytes.max(1);
        let chunk = max_bytes.clamp(4096, 1 << 20);
        let mut buf = Vec::new();
        while pos < self.end && out.len() < max_records {
            let want = ((self.end - pos) as usize).min(chunk);
            buf.resize(want, 0);
            self.file.read_exact_at(&mut buf, pos)?;
            let mut at = 0;
            let mut progressed = false;
            while at < buf.len() && out.len() < max_records {
                let Some(len) = frame_len(&buf[at..]) else {
                    break;
                };
                if at + len > buf.len() {
                    break;
                }
                let (rec, _) = decode_frame(&buf[at..at + len]).ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidData, "corrupt record in segment")
                })?;
                at += len;
                progressed = true;
                if rec.offset >= from {
                    out.push(rec);
                    budget = budget.saturating_sub(len);
                    if budget == 0 {
                        return Ok(out);
                    }
                }
            }
            pos += at as u64;
            if !progressed {
                // One frame larger than the chunk: read exactly it.
                let len = frame_len(&buf).ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidData, "short frame in segment")
                })?;
                let mut big = vec![0u8; len];
                self.file.read_exact_at(&mut big, pos)?;
                let (rec, _) = decode_frame(&big).ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidData, "corrupt record in segment")
                })?;
                pos += len as u64;
                if rec.offset >= from {
                    out.push(rec);
                    budget = budget.saturating_sub(len);
                    if budget == 0 {
                        return Ok(out);
                    }
                }
            }
        }
        Ok(out)
    }
}

fn open_rw(path: &Path, truncate: bool) -> io::Result<File> {
    // Append mode: every write lands at the end, whatever readers' `pread`s do.
    let mut opts = OpenOptions::new();
    opts.read(true).append(true).create(true);
    let f = opts.open(path)?;
    if truncate {
        f.set_len(0)?;
    }
    Ok(f)
}

fn read_all(f: &File) -> io::Result<Vec<u8>> {
    let len = f.metadata()?.len() as usize;
    let mut buf = vec![0u8; len];
    f.read_exact_at(&mut buf, 0)?;
    Ok(buf)
}

/// Decodes the frame at `pos` if a whole, valid one is there.
fn read_frame_at(f: &File, pos: u64, file_len: u64) -> io::Result<Option<StoredRecord>> {
    if pos + FRAME_HEADER as u64 > file_len {
        return Ok(None);
    }
    let mut head = [0u8; 4];
    f.read_exact_at(&mut head, pos)?;
    let len = u32::from_be_bytes(head) as usize + 4;
    if len > MAX_RECORD_BYTES || pos + len as u64 > file_len {
        return Ok(None);
    }
    let mut buf = vec![0u8; len];
    f.read_exact_at(&mut buf, pos)?;
    Ok(decode_frame(&buf).map(|(r, _)| r))
}

/// Total bytes of the frame at the start of `buf`, if its length field is there.
fn frame_len(buf: &[u8]) -> Option<usize> {
    let head: [u8; 4] = buf.get(0..4)?.try_into().ok()?;
    let len = u32::from_be_bytes(head) as usize + 4;
    (FRAME_HEADER + BODY_FIXED..=MAX_RECORD_BYTES)
        .contains(&len)
        .then_some(len)
}

/// Appends one frame for `record` at `offset` to `buf`.
pub fn encode_frame(buf: &mut Vec<u8>, offset: u64, record: &Record) {
    let start = buf.len();
    buf.extend_from_slice(&[0u8; FRAME_HEADER]);
    let body = buf.len();
    buf.extend_from_slice(&offset.to_be_bytes());
    buf.extend_from_slice(&record.timestamp.to_be_bytes());
    match &record.key {
        Some(k) => {
            buf.extend_from_slice(&(k.len() as i32).to_be_bytes());
            buf.extend_from_slice(k);
        }
        None => buf.extend_from_slice(&(-1i32).to_be_bytes()),
    }
    buf.extend_from_slice(&(record.value.len() as u32).to_be_bytes());
    buf.extend_from_slice(&record.value);
    let crc = crc32fast::hash(&buf[body..]);
    let len = (buf.len() - start - 4) as u32;
    buf[start..start + 4].copy_from_slice(&len.to_be_bytes());
    buf[start + 4..start + 8].copy_from_slice(&crc.to_be_bytes());
}

/// Decodes the frame at the start of `buf`: the record and the frame's length, or
/// `None` if it is short, oversized, fails its CRC or is malformed inside.
pub fn decode_frame(buf: &[u8]) -> Option<(StoredRecord, usize)> {
    let len = frame_len(buf)?;
    let frame = buf.get(..len)?;
    let crc = u32::from_be_bytes(frame[4..8].try_into().ok()?);
    let body = &frame[FRAME_HEADER..];
    if crc32fast::hash(body) != crc {
        return None;
    }
    let offset = u64::from_be_bytes(body[0..8].try_into().ok()?);
    let timestamp = i64::from_be_bytes(body[8..16].try_into().ok()?);
    let key_len = i32::from_be_bytes(body[16..20].try_into().ok()?);
    let mut at = 20;
    let key = if key_len < 0 {
        None
    } else {
        let k = body.get(at..at + key_len as usize)?.to_vec();
        at += key_len as usize;
        Some(k)
    };
    let value_len = u32::from_be_bytes(body.get(at..at + 4)?.try_into().ok()?) as usize;
    at += 4;
    let value = body.get(at..at + value_len)?.to_vec();
    if at + value_len != body.len() {
        return None;
    }
    Some((
        StoredRecord {
            offset,
            record: Record {
                key,
                value,
                timestamp,
            },
        },
        len,
    ))
}
