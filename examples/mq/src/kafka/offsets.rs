//! Committed offsets of consumer groups, persisted so that a restarted group resumes
//! where it left off: one file per group, `offsets/<group>.offsets`, lines of
//! `topic partition offset`, where `offset` is the next one to consume (Kafka's
//! convention: last processed + 1).
//!
//! A commit replaces the whole file atomically: write `<group>.offsets.tmp`, `fsync`,
//! `rename` over the old one, `fsync` the directory. A crash at any point leaves either
//! the old file or the new one, never a mix. The in-memory table changes only after
//! the rename succeeded, so what readers see is always what a restart would see.
//!
//! Fencing (who may commit) is the coordinator's job ([`super::group`]); this store
//! only keeps what it is given. Lock order: the coordinator's state, then `groups`.

use super::error::{Error, Result};
use super::message::TopicPartition;
use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The committed offsets of every group of one broker.
#[derive(Debug)]
pub struct OffsetStore {
    dir: PathBuf,
    /// Loaded lazily per group, then kept in step with its file.
    groups: Mutex<HashMap<String, BTreeMap<TopicPartition, u64>>>,
}

impl OffsetStore {
    /// The store in `dir` (created if missing).
    pub fn open(dir: &Path) -> Result<OffsetStore> {
        fs::create_dir_all(dir)?;
        Ok(OffsetStore {
            dir: dir.to_path_buf(),
            groups: Mutex::new(HashMap::new()),
        })
    }

    /// The offset `group` committed for `tp` (the next to consume), if any.
    pub fn committed(&self, group: &str, tp: &TopicPartition) -> Result<Option<u64>> {
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        Ok(self.load(&mut groups, group)?.get(tp).copied())
    }

    /// Everything `group` has committed.
    pub fn snapshot(&self, group: &str) -> Result<BTreeMap<TopicPartition, u64>> {
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        Ok(self.load(&mut groups, group)?.clone())
    }

    /// Records `offsets` for `group` and persists them before returning. Blocking I/O.
    pub fn commit(&self, group: &str, offsets: &[(TopicPartition, u64)]) -> Result<()> {
        if offsets.is_empty() {
            return Ok(());
        }
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        let mut next = self.load(&mut groups, group)?.clone();
        for (tp, off) in offsets {
            next.insert(tp.clone(), *off);
        }
        self.persist(group, &next)?;
        groups.insert(group.to_string(), next);
        Ok(())
    }

    fn path(&self, group: &str) -> PathBuf {
        self.dir.join(format!("{}.offsets", file_safe(group)))
    }

    fn load<'a>(
        &self,
        groups: &'a mut HashMap<String, BTreeMap<TopicPartition, u64>>,
        group: &str,
    ) -> Result<&'a BTreeMap<TopicPartition, u64>> {
        if !groups.contains_key(group) {
            let table = match fs::read_to_string(self.path(group)) {
                Ok(text) => parse(&text)?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => BTreeMap::new(),
                Err(e) => return Err(e.into()),
            };
            groups.insert(group.to_string(), table);
        }
        Ok(&groups[group])
    }

    fn persist(&self, group: &str, table: &BTreeMap<TopicPartition, u64>) -> Result<()> {
        let path = self.path(group);
        let tmp = path.with_extension("offsets.tmp");
        let mut text = String::new();
        for (tp, off) in table {
            text.push_str(&format!("{} {} {}\n", tp.topic, tp.partition, off));
        }
        let mut f = File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, &path)?;
        // The rename is durable only once the directory entry is.
        File::open(&self.dir)?.sync_all()?;
        Ok(())
    }
}

fn parse(text: &str) -> Result<BTreeMap<TopicPartition, u64>> {
    let bad = || {
        Error::Io(io::Error::new(
            io::ErrorKind::InvalidData,
            "corrupt offsets file",
        ))
    };
    let mut table = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut f = line.split(' ');
        let (Some(topic), Some(p), Some(off), None) = (f.next(), f.next(), f.next(), f.next())
        else {
            return Err(bad());
        };
        let p = p.parse().map_err(|_| bad())?;
        let off = off.parse().map_err(|_| bad())?;
        table.insert(TopicPartition::new(topic, p), off);
    }
    Ok(table)
}

/// A group name as a file name: anything but `[A-Za-z0-9._-]` becomes `%XX`.
fn file_safe(group: &str) -> String {
    let mut s = String::new();
    for b in group.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && !s.is_empty()) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}
