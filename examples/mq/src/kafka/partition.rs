//! One partition: an append-only log of offsets `[log_start, log_end)` kept as a run
//! of [`Segment`]s in the partition's directory, the newest being the active one.
//!
//! It owns appending (rolling to a new segment past `segment_bytes`), reading from an
//! offset, retention (dropping whole old segments by total size or by age, rolling an
//! aged-out active segment first; `Broker::retain_every` runs it periodically), and the
//! wake-up of readers waiting at the end of the log.
//!
//! Waiting for data: [`Partition::subscribe`] hands out a channel that the next append
//! closes (Go's `close(ch)` broadcast), so a consumer at the end of the log parks in a
//! `select!` beside its context's `done()` instead of polling with sleeps. No wake-up
//! is lost: an appender publishes `log_end` and then takes the waiters' lock to close
//! the channel; a reader takes that lock to subscribe and then reads `log_end`. Either
//! the reader's subscribe came first (the appender closes its channel) or the
//! appender's came first (the reader sees the new end).
//!
//! Lock order: `log` before `waiters` (append releases `log` before notifying, so in
//! practice they are never held together). The file I/O here is blocking and short
//! (page-cache writes and `pread`s); async callers wrap calls in `gort::blocking`.
//!
//! Invariants:
//! 1. There is always at least one segment; the last is the only one appended to.
//! 2. `log_end` (atomic copy) equals the active segment's `next_offset`, and moves only
//!    after the records below it are written; `log_start` equals the first segment's
//!    base. Both only grow.
//! 3. The active segment is never deleted by retention, so `log_end` survives a
//!    restart even when every record has aged out.

use super::error::{Error, Result};
use super::message::{now_ms, Message, Record};
use super::segment::{self, Recovery, Segment};
use gort::chan::{bounded, Receiver, Sender};
use std::collections::VecDeque;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How a partition's log is laid out and kept.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// Roll to a new segment once the active one holds this many bytes.
    pub segment_bytes: u64,
    /// Bytes of log between two sparse index entries.
    pub index_interval: u64,
    /// Drop the oldest segments while the log is larger than this.
    pub retention_bytes: Option<u64>,
    /// Drop segments whose newest record is older than this.
    pub retention: Option<Duration>,
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        LogConfig {
            segment_bytes: 64 << 20,
            index_interval: 4096,
            retention_bytes: None,
            retention: None,
        }
    }
}

/// One partition of a topic.
#[derive(Debug)]
pub struct Partition {
    topic: Arc<str>,
    id: u32,
    dir: PathBuf,
    config: LogConfig,
    log: Mutex<Log>,
    /// The channel the next append closes; `None` when nobody waits (appends then
    /// skip making a new one).
    waiters: Mutex<Option<(Sender<()>, Receiver<()>)>>,
    /// Copy of the active segment's `next_offset`. Written under `log` after the
    /// write; SeqCst store/load: pairs with the waiters' protocol in the module doc.
    log_end: AtomicU64,
    /// Copy of the first segment's base. Written under `log`; Relaxed readers only
    /// report it (lag, out-of-range resets re-check under the lock).
    log_start: AtomicU64,
    recovery: Recovery,
}

#[derive(Debug)]
struct Log {
    segments: VecDeque<Segment>,
}

impl Partition {
    /// Opens (recovering) or creates the partition stored in `dir`.
    pub fn open(dir: &Path, topic: Arc<str>, id: u32, config: LogConfig) -> Result<Partition> {
        fs::create_dir_all(dir)?;
        let mut segments = VecDeque::new();
        let mut recovery = Recovery::default();
        for base in segment::list_bases(dir)? {
            let (seg, rec) = Segment::open(dir, base, config.index_interval)?;
            recovery.truncated_bytes += rec.truncated_bytes;
            segments.push_back(seg);
        }
        if segments.is_empty() {
            segments.push_back(Segment::create(dir, 0, config.index_interval)?);
        }
        let log_start = segments.front().map_or(0, Segment::base_offset);
        let log_end = segments.back().map_or(0, Segment::next_offset);
        Ok(Partition {
            topic,
            id,
            dir: dir.to_path_buf(),
            config,
            log: Mutex::new(Log { segments }),
            waiters: Mutex::new(None),
            log_end: AtomicU64::new(log_end),
            log_start: AtomicU64::new(log_start),
            recovery,
        })
    }

    /// The topic this partition belongs to.
    pub fn topic(&self) -> &Arc<str> {
        &self.topic
    }

    /// Its number in the topic.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// What opening it repaired.
    pub fn recovery(&self) -> Recovery {
        self.recovery
    }

    /// The first offset still stored.
    pub fn log_start(&self) -> u64 {
        self.log_start.load(Ordering::Relaxed)
    }

    /// The offset the next append gets (Kafka's high watermark).
    pub fn log_end(&self) -> u64 {
        self.log_end.load(Ordering::SeqCst)
    }

    /// Appends `records` in order; returns the first one's offset. Blocking I/O.
    pub fn append(&self, records: &[Record]) -> Result<u64> {
        if records.is_empty() {
            return Ok(self.log_end());
        }
        let first = {
            let mut log = self.lock();
            let needs_roll = log
                .segments
                .back()
                .is_some_and(|s| s.size() > 0 && s.size() >= self.config.segment_bytes);
            if needs_roll {
                let _deleted = self.roll_locked(&mut log)?;
            }
            let active = log.segments.back_mut().expect("invariant 1: a segment");
            let first = active.append(records)?;
            self.log_end.store(active.next_offset(), Ordering::SeqCst);
            first
        };
        self.wake_readers();
        Ok(first)
    }

    /// Reads records from `offset` on: at most `max_records`, and about `max_bytes` of
    /// log (at least one record if any is there). Empty at `log_end`. Blocking I/O.
    pub fn read(&self, offset: u64, max_bytes: usize, max_records: usize) -> Result<Vec<Message>> {
        let slices = {
            let log = self.lock();
            let start = log.segments.front().map_or(0, Segment::base_offset);
            let end = log.segments.back().map_or(0, Segment::next_offset);
            if offset < start || offset > end {
                return Err(Error::OffsetOutOfRange {
                    offset,
                    log_start: start,
                    log_end: end,
                });
            }
            if offset == end {
                return Ok(Vec::new());
            }
            // The segment holding `offset`, then the later ones: a segment cut short
            // by recovery leaves a gap that the read steps over.
            let i = log
                .segments
                .partition_point(|s| s.base_offset() <= offset)
                .saturating_sub(1);
            log.segments
                .iter()
                .skip(i)
                .map(|s| s.slice_from(offset))
                .collect::<Vec<_>>()
        };
        for slice in slices {
            let records = slice.read(offset, max_bytes, max_records)?;
            if !records.is_empty() {
                return Ok(records
                    .into_iter()
                    .map(|r| Message {
                        topic: Arc::clone(&self.topic),
                        partition: self.id,
                        offset: r.offset,
                        timestamp: r.record.timestamp,
                        key: r.record.key,
                        value: r.record.value,
                    })
                    .collect());
            }
        }
        Ok(Vec::new())
    }

    /// A channel closed by the next append. Subscribe first, then check `log_end`, then
    /// wait (see the module doc).
    pub fn subscribe(&self) -> Receiver<()> {
        let mut w = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        w.get_or_insert_with(|| bounded(1)).1.clone()
    }

    /// Starts a new active segment now (also done by `append` past `segment_bytes`).
    pub fn roll(&self) -> Result<()> {
        let mut log = self.lock();
        if log.segments.back().is_some_and(|s| s.size() == 0) {
            return Ok(()); // an empty active segment: nothing to roll away from
        }
        self.roll_locked(&mut log).map(drop)
    }

    /// Deletes old segments by the configured size and age limits; returns how many.
    /// An active segment whose newest record has aged out is rolled first, as Kafka
    /// does, so a partition nobody writes to any more still empties (invariant 3 then
    /// keeps the new, empty active segment, and `log_end` with it).
    pub fn enforce_retention(&self) -> Result<usize> {
        let mut log = self.lock();
        let now = now_ms();
        let active = log.segments.back().expect("invariant 1: a segment");
        if active.size() > 0 && self.expired(active, now) {
            return self.roll_locked(&mut log);
        }
        self.retention_locked(&mut log, now)
    }

    /// `fsync`s the active segment.
    pub fn sync(&self) -> Result<()> {
        let log = self.lock();
        if let Some(s) = log.segments.back() {
            s.sync()?;
        }
        Ok(())
    }

    /// Bytes of records stored.
    pub fn size_bytes(&self) -> u64 {
        self.lock().segments.iter().map(Segment::size).sum()
    }

    /// Number of segments (at least one).
    pub fn segment_count(&self) -> usize {
        self.lock().segments.len()
    }

    /// The directory the segments live in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Rolls, then applies retention; returns the segments deleted.
    fn roll_locked(&self, log: &mut Log) -> Result<usize> {
        let active = log.segments.back().expect("invariant 1: a segment");
        active.sync()?;
        let next = active.next_offset();
        log.segments.push_back(Segment::create(
            &self.dir,
            next,
            self.config.index_interval,
        )?);
        self.retention_locked(log, now_ms())
    }

    /// Whether `seg`'s newest record is older than the age limit.
    fn expired(&self, seg: &Segment, now: i64) -> bool {
        self.config.retention.is_some_and(|age| {
            let age = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
            seg.last_timestamp()
                .is_some_and(|ts| ts < now.saturating_sub(age))
        })
    }

    fn retention_locked(&self, log: &mut Log, now: i64) -> Result<usize> {
        let mut deleted = 0;
        // Invariant 3: never the active (last) segment.
        while log.segments.len() > 1 {
            let total: u64 = log.segments.iter().map(Segment::size).sum();
            let front = log.segments.front().expect("len > 1");
            let too_big = self.config.retention_bytes.is_some_and(|max| total > max);
            if !(too_big || self.expired(front, now)) {
                break;
            }
            let seg = log.segments.pop_front().expect("len > 1");
            seg.delete()?;
            deleted += 1;
        }
        let start = log.segments.front().map_or(0, Segment::base_offset);
        self.log_start.store(start, Ordering::Relaxed);
        Ok(deleted)
    }

    fn wake_readers(&self) {
        let tx = self
            .waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some((tx, _)) = tx {
            tx.close();
        }
    }

    fn lock(&self) -> MutexGuard<'_, Log> {
        // A panic while holding the lock leaves the log in a state the invariants
        // still describe (sizes move only after writes), so poisoning is not fatal.
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }
}
