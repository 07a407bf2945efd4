//! A disk-backed FIFO of messages, as nsqd's `diskqueue`: append-only segment files
//! of length-prefixed records, a read cursor, and a metadata file.
//!
//! Files, under the data path, for a queue named `NAME`:
//!
//! ```text
//! NAME.diskqueue.000000.dat   records: [4-byte big-endian size][message encoding]
//! NAME.diskqueue.000001.dat   ... a new file once one reaches --max-bytes-per-file
//! NAME.diskqueue.meta.dat     "depth\nreadFileNum,readPos\nwriteFileNum,writePos\n"
//! ```
//!
//! One goroutine (`io_loop`) owns the files and every cursor, as nsqd's `ioLoop` does;
//! the rest of the broker talks to it over channels: puts go in on `ops` and are
//! answered once written, and the next unread message is offered on an unbuffered
//! channel, [`DiskQueue::read_chan`], which every consumer of the queue selects on.
//!
//! Invariants:
//! 1. The read cursor moves past a record only when a receiver has taken it from the
//!    rendezvous (select's "a case not chosen leaves no trace"), so a message is never
//!    both on disk ahead of the cursor and in a consumer's hands, and never in neither.
//! 2. A segment is deleted only once the cursor has left it, and the writer has too.
//! 3. The metadata is written (atomically: a temporary file, then a rename) every
//!    `sync_every` writes, every `sync_timeout` while dirty, and on close.
//!
//! Recovery on open: the metadata gives the cursors; records found past the write
//! cursor (written after the last sync, before a crash) are re-validated one by one
//! and adopted up to the first torn or corrupt one, where the file is truncated.
//! Without metadata the queue starts at the lowest segment that exists. Either way a
//! crash can only repeat deliveries (reads since the last sync), never lose a record
//! that reached the file. A record that cannot be decoded when read is skipped with
//! its file (renamed `.bad`), as nsqd does, rather than wedging the queue.

use super::message::{Message, MSG_HEADER_LENGTH};
use gort::chan::{bounded, unbounded, Receiver, Sender};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How a disk queue is set up.
#[derive(Debug, Clone)]
pub struct DiskQueueConfig {
    /// The directory holding the files.
    pub data_path: PathBuf,
    /// Size at which a new segment starts.
    pub max_bytes_per_file: u64,
    /// Largest record payload accepted when reading back (a larger size means
    /// corruption).
    pub max_msg_size: usize,
    /// Writes between metadata syncs.
    pub sync_every: u64,
    /// Longest time between syncs while there are unsynced changes.
    pub sync_timeout: Duration,
}

enum Op {
    Put(Vec<u8>, Sender<io::Result<()>>),
    Close(Sender<()>),
}

/// A handle on a disk queue; cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct DiskQueue {
    name: String,
    read_rx: Receiver<Message>,
    ops: Sender<Op>,
    depth: Arc<AtomicU64>,
    closed: Mutex<bool>,
}

impl std::fmt::Debug for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Op::Put(..) => "Put",
            Op::Close(_) => "Close",
        })
    }
}

impl DiskQueue {
    /// Opens (recovering) or creates the queue `name` and starts its goroutine.
    pub fn open(name: &str, cfg: DiskQueueConfig) -> io::Result<DiskQueue> {
        fs::create_dir_all(&cfg.data_path)?;
        let mut state = gort::blocking(|| State::recover(name, cfg))?;
        let depth = Arc::new(AtomicU64::new(state.depth));
        state.depth_out = depth.clone();
        let (read_tx, read_rx) = bounded(0);
        let (ops_tx, ops_rx) = unbounded();
        // Detached: `close` (or every handle dropped) ends it.
        drop(gort::go(state.io_loop(read_tx, ops_rx)));
        Ok(DiskQueue {
            name: name.to_string(),
            read_rx,
            ops: ops_tx,
            depth,
            closed: Mutex::new(false),
        })
    }

    /// The queue's name (its files' stem).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Appends a message; returns once it is written to the file.
    pub async fn put(&self, msg: &Message) -> io::Result<()> {
        let mut rec = Vec::with_capacity(4 + msg.encoded_len());
        rec.extend_from_slice(&(msg.encoded_len() as u32).to_be_bytes());
        msg.encode(&mut rec);
        let (tx, rx) = bounded(1);
        self.ops
            .send(Op::Put(rec, tx))
            .await
            .map_err(|_| closed_err())?;
        rx.recv().await.unwrap_or_else(|| Err(closed_err()))
    }

    /// The channel offering the next unread message; taking one consumes it.
    pub fn read_chan(&self) -> &Receiver<Message> {
        &self.read_rx
    }

    /// Messages on disk not yet read.
    pub fn depth(&self) -> u64 {
        // Relaxed: a statistic; the io loop is its only writer.
        self.depth.load(Ordering::Relaxed)
    }

    /// Persists the metadata and stops the goroutine; later puts fail. Idempotent.
    pub async fn close(&self) {
        {
            let mut closed = self.closed.lock().unwrap_or_else(|e| e.into_inner());
            if *closed {
                return;
            }
            *closed = true;
        }
        let (tx, rx) = bounded(1);
        if self.ops.send(Op::Close(tx)).await.is_ok() {
            let _ = rx.recv().await;
        }
    }
}

fn closed_err() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "disk queue is closed")
}

/// Everything the io loop owns.
struct State {
    name: String,
    cfg: DiskQueueConfig,
    depth: u64,
    depth_out: Arc<AtomicU64>,
    read_file_num: u64,
    read_pos: u64,
    write_file_num: u64,
    write_pos: u64,
    writer: Option<File>,
    reader: Option<BufReader<File>>,
    /// The next record, read but not yet taken, and where the cursor goes after it.
    peeked: Option<(Message, u64)>,
    unsynced: u64,
}

impl State {
    fn file_name(&self, num: u64) -> PathBuf {
        self.cfg
            .data_path
            .join(format!("{}.diskqueue.{num:06}.dat", self.name))
    }

    fn meta_name(&self) -> PathBuf {
        self.cfg
            .data_path
            .join(format!("{}.diskqueue.meta.dat", self.name))
    }

    fn recover(name: &str, cfg: DiskQueueConfig) -> io::Result<State> {
        let mut s = State {
            name: name.to_string(),
            cfg,
            depth: 0,
            depth_out: Arc::new(AtomicU64::new(0)),
            read_file_num: 0,
            read_pos: 0,
            write_file_num: 0,
            write_pos: 0,
            writer: None,
            reader: None,
            peeked: None,
            unsynced: 0,
        };
        match fs::read_to_string(s.meta_name()) {
            Ok(text) => match parse_meta(&text) {
                Some((d, rf, rp, wf, wp)) => {
                    (
                        s.depth,
                        s.read_file_num,
                        s.read_pos,
                        s.write_file_num,
                        s.write_pos,
                    ) = (d, rf, rp, wf, wp)
                }
                None => {
                    eprintln!("nsqd: diskqueue {name}: unreadable metadata; rescanning files");
                    s.start_at_lowest_segment()?;
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => s.start_at_lowest_segment()?,
            Err(e) => return Err(e),
        }
        s.adopt_unsynced_records()?;
        s.sync()?;
        Ok(s)
    }

    /// No metadata: the first existing segment is where reading resumes (earlier ones
    /// were deleted because they had been read).
    fn start_at_lowest_segment(&mut self) -> io::Result<()> {
        let prefix = format!("{}.diskqueue.", self.name);
        let mut lowest = None;
        for entry in fs::read_dir(&self.cfg.data_path)? {
            let file = entry?.file_name();
            let Some(rest) = file.to_str().and_then(|f| f.strip_prefix(&prefix)) else {
                continue;
            };
            if let Some(n) = rest
                .strip_suffix(".dat")
                .and_then(|n| n.parse::<u64>().ok())
            {
                lowest = Some(lowest.map_or(n, |l: u64| l.min(n)));
            }
        }
        let n = lowest.unwrap_or(0);
        (
            self.read_file_num,
            self.read_pos,
            self.write_file_num,
            self.write_pos,
        ) = (n, 0, n, 0);
        self.depth = 0;
        Ok(())
    }

    /// Walks records past the write cursor (written since the last sync) and adopts
    /// every whole, decodable one; truncates at the first that is not.
    fn adopt_unsynced_records(&mut self) -> io::Result<()> {
        loop {
            let path = self.file_name(self.write_file_num);
            let mut f = match File::open(&path) {
                Ok(f) => BufReader::new(f),
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(e),
            };
            let len = f.get_ref().metadata()?.len();
            f.seek(SeekFrom::Start(self.write_pos))?;
            let mut adopted = 0;
            while self.write_pos < len {
                match read_record(&mut f, self.cfg.max_msg_size) {
                    Ok(Some(_)) => {}
                    _ => break,
                }
                let rec_len = f.stream_position()? - self.write_pos;
                self.write_pos += rec_len;
                self.depth += 1;
                adopted += 1;
            }
            if adopted > 0 {
                eprintln!(
                    "nsqd: diskqueue {}: recovered {adopted} record(s) written after the last sync",
                    self.name
                );
            }
            if self.write_pos < len {
                eprintln!(
                    "nsqd: diskqueue {}: truncating a torn record at {}:{}",
                    self.name, self.write_file_num, self.write_pos
                );
                OpenOptions::new()
                    .write(true)
                    .open(&path)?
                    .set_len(self.write_pos)?;
            }
            if self.write_pos >= self.cfg.max_bytes_per_file
                || self.file_name(self.write_file_num + 1).exists()
            {
                self.write_file_num += 1;
                self.write_pos = 0;
            } else {
                return Ok(());
            }
        }
    }

    async fn io_loop(mut self, read_tx: Sender<Message>, ops: Receiver<Op>) {
        let ticker = gort::time::tick(self.cfg.sync_timeout);
        loop {
            if self.peeked.is_none() && self.has_unread() {
                let r = gort::blocking(|| self.peek());
                if let Err(e) = r {
                    eprintln!("nsqd: diskqueue {}: read failed: {e}", self.name);
                    gort::blocking(|| self.skip_bad_file());
                }
            }
            let op = match &self.peeked {
                Some((msg, _)) => {
                    gort::select! {
                        send(read_tx, msg.clone()) -> res => {
                            if res.is_ok() {
                                self.commit_read();
                            }
                            continue;
                        }
                        recv(ops) -> op => op,
                        recv(ticker) -> _ => { self.sync_if_dirty(); continue; }
                    }
                }
                None => {
                    gort::select! {
                        recv(ops) -> op => op,
                        recv(ticker) -> _ => { self.sync_if_dirty(); continue; }
                    }
                }
            };
            match op {
                Some(Op::Put(rec, done)) => {
                    let r = gort::blocking(|| self.write(&rec));
                    let _ = done.try_send(r);
                }
                Some(Op::Close(done)) => {
                    if let Err(e) = gort::blocking(|| self.sync()) {
                        eprintln!("nsqd: diskqueue {}: sync on close failed: {e}", self.name);
                    }
                    let _ = done.try_send(());
                    return;
                }
                None => {
                    let _ = gort::blocking(|| self.sync());
                    return;
                }
            }
        }
    }

    fn has_unread(&self) -> bool {
        (self.read_file_num, self.read_pos) < (self.write_file_num, self.write_pos)
    }

    fn peek(&mut self) -> io::Result<()> {
        if self.reader.is_none() {
            let mut f = File::open(self.file_name(self.read_file_num))?;
            f.seek(SeekFrom::Start(self.read_pos))?;
            self.reader = Some(BufReader::with_capacity(64 * 1024, f));
        }
        let r = self.reader.as_mut().expect("just opened");
        if self.read_file_num < self.write_file_num {
            // A finished segment ends where its file ends.
            let len = r.get_ref().metadata()?.len();
            if self.read_pos >= len {
                self.next_read_file();
                return self.peek();
            }
        }
        match read_record(r, self.cfg.max_msg_size)? {
            Some((msg, rec_len)) => {
                self.peeked = Some((msg, self.read_pos + rec_len));
                Ok(())
            }
            None => Err(io::Error::new(io::ErrorKind::InvalidData, "corrupt record")),
        }
    }

    fn commit_read(&mut self) {
        let Some((_, next)) = self.peeked.take() else {
            return;
        };
        self.read_pos = next;
        self.depth = self.depth.saturating_sub(1);
        self.depth_out.store(self.depth, Ordering::Relaxed);
        self.dirty();
        if self.read_file_num < self.write_file_num {
            let done = self
                .reader
                .as_ref()
                .and_then(|r| r.get_ref().metadata().ok())
                .is_some_and(|m| self.read_pos >= m.len());
            if done {
                self.next_read_file();
            }
        } else if !self.has_unread() && self.write_pos > 0 {
            // Caught up: start the file over rather than let it grow while it holds
            // nothing unread.
            self.read_pos = 0;
            self.write_pos = 0;
            self.reader = None;
            // The file must really be emptied (the writer may not be open in this
            // run): recovery adopts whatever lies past the write cursor.
            let emptied = match &self.writer {
                Some(w) => w.set_len(0),
                None => OpenOptions::new()
                    .write(true)
                    .open(self.file_name(self.write_file_num))
                    .and_then(|f| f.set_len(0)),
            };
            if let Err(e) = emptied {
                eprintln!("nsqd: diskqueue {}: truncating: {e}", self.name);
            }
            let _ = self.sync();
        }
    }

    /// Leaves a finished read segment, deleting it (invariant 2).
    fn next_read_file(&mut self) {
        self.reader = None;
        let old = self.file_name(self.read_file_num);
        self.read_file_num += 1;
        self.read_pos = 0;
        let _ = self.sync();
        if let Err(e) = fs::remove_file(&old) {
            eprintln!(
                "nsqd: diskqueue {}: removing {}: {e}",
                self.name,
                old.display()
            );
        }
    }

    /// The segment being read is corrupt: put it aside and go on from the next one.
    fn skip_bad_file(&mut self) {
        self.peeked = None;
        self.reader = None;
        let bad = self.file_name(self.read_file_num);
        let _ = fs::rename(&bad, bad.with_extension("bad"));
        if self.read_file_num == self.write_file_num {
            self.writer = None;
            self.write_file_num += 1;
            self.write_pos = 0;
        }
        self.read_file_num += 1;
        self.read_pos = 0;
        // The depth of what was skipped is unknown; recount what remains.
        self.depth = self.count_unread().unwrap_or(0);
        self.depth_out.store(self.depth, Ordering::Relaxed);
        let _ = self.sync();
    }

    fn count_unread(&self) -> io::Result<u64> {
        let mut n = 0;
        for num in self.read_file_num..=self.write_file_num {
            let Ok(f) = File::open(self.file_name(num)) else {
                continue;
            };
            let mut r = BufReader::new(f);
            if num == self.read_file_num {
                r.seek(SeekFrom::Start(self.read_pos))?;
            }
            while let Ok(Some(_)) = read_record(&mut r, self.cfg.max_msg_size) {
                n += 1;
            }
        }
        Ok(n)
    }

    fn write(&mut self, rec: &[u8]) -> io::Result<()> {
        if self.writer.is_none() {
            let f = OpenOptions::new()
                .create(true)
                .append(false)
                .write(true)
                .truncate(false)
                .open(self.file_name(self.write_file_num))?;
            f.set_len(self.write_pos)?;
            self.writer = Some(f);
        }
        let w = self.writer.as_mut().expect("just opened");
        w.seek(SeekFrom::Start(self.write_pos))?;
        w.write_all(rec)?;
        self.write_pos += rec.len() as u64;
        self.depth += 1;
        self.depth_out.store(self.depth, Ordering::Relaxed);
        if self.write_pos >= self.cfg.max_bytes_per_file {
            if let Some(w) = self.writer.take() {
                w.sync_data()?;
            }
            self.write_file_num += 1;
            self.write_pos = 0;
            self.sync()?;
        }
        self.dirty();
        Ok(())
    }

    fn dirty(&mut self) {
        self.unsynced += 1;
        if self.unsynced >= self.cfg.sync_every {
            if let Err(e) = self.sync() {
                eprintln!("nsqd: diskqueue {}: sync failed: {e}", self.name);
            }
        }
    }

    fn sync_if_dirty(&mut self) {
        if self.unsynced > 0 {
            if let Err(e) = gort::blocking(|| self.sync()) {
                eprintln!("nsqd: diskqueue {}: sync failed: {e}", self.name);
            }
        }
    }

    /// Flushes the segment being written and writes the metadata (invariant 3).
    fn sync(&mut self) -> io::Result<()> {
        if let Some(w) = &self.writer {
            w.sync_data()?;
        }
        let meta = format!(
            "{}\n{},{}\n{},{}\n",
            self.depth, self.read_file_num, self.read_pos, self.write_file_num, self.write_pos
        );
        let path = self.meta_name();
        let tmp = path.with_extension("tmp");
        write_file_synced(&tmp, meta.as_bytes())?;
        fs::rename(&tmp, &path)?;
        self.unsynced = 0;
        Ok(())
    }
}

fn write_file_synced(path: &Path, data: &[u8]) -> io::Result<()> {
    let mut f = File::create(path)?;
    f.write_all(data)?;
    f.sync_all()
}

fn parse_meta(text: &str) -> Option<(u64, u64, u64, u64, u64)> {
    let mut lines = text.lines();
    let depth = lines.next()?.trim().parse().ok()?;
    let pair = |l: Option<&str>| -> Option<(u64, u64)> {
        let (a, b) = l?.trim().split_once(',')?;
        Some((a.parse().ok()?, b.parse().ok()?))
    };
    let (rf, rp) = pair(lines.next())?;
    let (wf, wp) = pair(lines.next())?;
    ((rf, rp) <= (wf, wp)).then_some((depth, rf, rp, wf, wp))
}

/// Reads one record; `Ok(None)` if it is torn or corrupt, `Err` on an I/O error.
/// Returns the message and the record's length on disk.
fn read_record(r: &mut impl Read, max_msg_size: usize) -> io::Result<Option<(Message, u64)>> {
    let mut size = [0u8; 4];
    match r.read_exact(&mut size) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let size = u32::from_be_bytes(size) as usize;
    if size < MSG_HEADER_LENGTH || size > MSG_HEADER_LENGTH + max_msg_size {
        return Ok(None);
    }
    let mut data = vec![0u8; size];
    match r.read_exact(&mut data) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    Ok(Message::decode(&data).map(|m| (m, 4 + size as u64)))
}
