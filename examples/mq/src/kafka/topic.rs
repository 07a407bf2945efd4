//! A topic: a name and a growing list of partitions, stored as `<topic>/<n>/` under the
//! broker's `topics/` directory.
//!
//! Partitions can be added while producers and consumer groups run. Each change closes
//! the channel handed out by [`Topic::changes`] and replaces it (a broadcast by close),
//! so a waiter learns of it without polling; producers instead read
//! [`Topic::partition_count`] on every message, which costs one atomic load.
//!
//! Invariants:
//! 1. Partitions are numbered `0..count` with no gaps; the list only grows.
//! 2. `count` is published (Release) only after the partition is open and in the
//!    list, so whoever reads a count (Acquire) finds every partition below it.
//!
//! Lock order: `partitions` (write) before `changed`.

use super::error::{Error, Result};
use super::partition::{LogConfig, Partition};
use gort::chan::{bounded, Receiver, Sender};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// A named, partitioned log.
#[derive(Debug)]
pub struct Topic {
    name: Arc<str>,
    dir: PathBuf,
    config: LogConfig,
    partitions: RwLock<Vec<Arc<Partition>>>,
    /// Number of partitions. Written under `partitions`' write lock (Release, after
    /// the push); read lock-free by producers (Acquire): invariant 2.
    count: AtomicU32,
    /// Closed and replaced on every change.
    changed: Mutex<(Sender<()>, Receiver<()>)>,
}

/// Whether `name` may be a topic (it becomes a directory name).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name.len() <= 249
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

impl Topic {
    /// Opens the topic stored in `dir` (partitions `0/`, `1/`, … until one is
    /// missing), adding partitions up to `min_partitions`.
    pub fn open(dir: &Path, name: &str, config: LogConfig, min_partitions: u32) -> Result<Topic> {
        if !valid_name(name) {
            return Err(Error::InvalidTopic(name.to_string()));
        }
        fs::create_dir_all(dir)?;
        let name: Arc<str> = Arc::from(name);
        let mut partitions = Vec::new();
        loop {
            let id = partitions.len() as u32;
            let pdir = dir.join(id.to_string());
            if id >= min_partitions && !pdir.is_dir() {
                break;
            }
            let p = Partition::open(&pdir, Arc::clone(&name), id, config.clone())?;
            partitions.push(Arc::new(p));
        }
        let count = partitions.len() as u32;
        Ok(Topic {
            name,
            dir: dir.to_path_buf(),
            config,
            partitions: RwLock::new(partitions),
            count: AtomicU32::new(count),
            changed: Mutex::new(bounded(1)),
        })
    }

    /// The topic's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many partitions it has now.
    pub fn partition_count(&self) -> u32 {
        self.count.load(Ordering::Acquire)
    }

    /// Partition `id`.
    pub fn partition(&self, id: u32) -> Result<Arc<Partition>> {
        self.partitions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id as usize)
            .cloned()
            .ok_or_else(|| Error::UnknownTopicOrPartition {
                topic: self.name.to_string(),
                partition: Some(id),
            })
    }

    /// Every partition, in order.
    pub fn partitions(&self) -> Vec<Arc<Partition>> {
        self.partitions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Adds `n` partitions; returns the new count. Blocking I/O (creates directories).
    pub fn add_partitions(&self, n: u32) -> Result<u32> {
        let count = {
            let mut parts = self.partitions.write().unwrap_or_else(|e| e.into_inner());
            for _ in 0..n {
                let id = parts.len() as u32;
                let p = Partition::open(
                    &self.dir.join(id.to_string()),
                    Arc::clone(&self.name),
                    id,
                    self.config.clone(),
                )?;
                parts.push(Arc::new(p));
                // Release: the partition is in the list; pairs with the Acquire in
                // partition_count (invariant 2).
                self.count.store(parts.len() as u32, Ordering::Release);
            }
            parts.len() as u32
        };
        if n > 0 {
            let (old, _) = std::mem::replace(
                &mut *self.changed.lock().unwrap_or_else(|e| e.into_inner()),
                bounded(1),
            );
            old.close();
        }
        Ok(count)
    }

    /// A channel closed at the next change of the partition list.
    pub fn changes(&self) -> Receiver<()> {
        self.changed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .clone()
    }

    /// Applies retention to every partition; returns the segments deleted.
    pub fn enforce_retention(&self) -> Result<usize> {
        let mut n = 0;
        for p in self.partitions() {
            n += p.enforce_retention()?;
        }
        Ok(n)
    }

    /// `fsync`s every partition's active segment.
    pub fn sync(&self) -> Result<()> {
        for p in self.partitions() {
            p.sync()?;
        }
        Ok(())
    }
}
