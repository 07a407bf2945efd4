//! The broker: the topics stored under one directory, the groups' committed offsets,
//! and one coordinator per consumer group — everything a Kafka cluster would hold,
//! in-process.
//!
//! Layout under the caller's directory:
//!
//! ```text
//! topics/<topic>/<partition>/{base:020}.log, .index
//! offsets/<group>.offsets
//! ```
//!
//! [`Broker::open`] recovers every topic found there, so a restart loses nothing that
//! was appended. `Broker` is a cheap handle (`Clone`); producers and consumers each
//! hold one.
//!
//! Lock order: `topics` before a topic's own locks; `groups` is never held while
//! calling into a coordinator.

use super::error::{Error, Result};
use super::group::{Coordinator, GroupConfig};
use super::offsets::OffsetStore;
use super::partition::LogConfig;
use super::topic::{self, Topic};
use gort::context::Context;
use gort::JoinHandle;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// A handle to an in-process broker.
#[derive(Debug, Clone)]
pub struct Broker {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    config: LogConfig,
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
    offsets: Arc<OffsetStore>,
    groups: Mutex<HashMap<String, Arc<Coordinator>>>,
}

impl Broker {
    /// Opens the broker stored in `dir` (created if missing), recovering every topic.
    /// Blocking I/O: call it before `gort::run` or inside `gort::blocking`.
    pub fn open(dir: impl AsRef<Path>, config: LogConfig) -> Result<Broker> {
        let dir = dir.as_ref().to_path_buf();
        let topics_dir = dir.join("topics");
        fs::create_dir_all(&topics_dir)?;
        let mut topics = BTreeMap::new();
        for entry in fs::read_dir(&topics_dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type()?.is_dir() && topic::valid_name(&name) {
                let t = Topic::open(&entry.path(), &name, config.clone(), 0)?;
                topics.insert(name, Arc::new(t));
            }
        }
        let offsets = Arc::new(OffsetStore::open(&dir.join("offsets"))?);
        Ok(Broker {
            inner: Arc::new(Inner {
                dir,
                config,
                topics: RwLock::new(topics),
                offsets,
                groups: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The directory the broker stores everything under.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Creates `name` with `partitions` partitions. Blocking I/O.
    pub fn create_topic(&self, name: &str, partitions: u32) -> Result<Arc<Topic>> {
        let mut topics = self.inner.topics.write().unwrap_or_else(|e| e.into_inner());
        if topics.contains_key(name) {
            return Err(Error::TopicExists(name.to_string()));
        }
        if !topic::valid_name(name) {
            return Err(Error::InvalidTopic(name.to_string()));
        }
        let dir = self.inner.dir.join("topics").join(name);
        let t = Arc::new(Topic::open(
            &dir,
            name,
            self.inner.config.clone(),
            partitions.max(1),
        )?);
        topics.insert(name.to_string(), Arc::clone(&t));
        Ok(t)
    }

    /// The topic `name`.
    pub fn topic(&self, name: &str) -> Result<Arc<Topic>> {
        self.inner
            .topics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
            .ok_or_else(|| Error::UnknownTopicOrPartition {
                topic: name.to_string(),
                partition: None,
            })
    }

    /// The names of every topic, sorted.
    pub fn topics(&self) -> Vec<String> {
        self.inner
            .topics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    /// Adds `n` partitions to `name`; returns the new count. Producers pick them up
    /// at their next message, consumer groups at their next heartbeat. Blocking I/O.
    pub fn add_partitions(&self, name: &str, n: u32) -> Result<u32> {
        self.topic(name)?.add_partitions(n)
    }

    /// Applies retention to every partition of every topic; returns the segments
    /// deleted. Blocking I/O.
    pub fn enforce_retention(&self) -> Result<usize> {
        let topics: Vec<_> = self
            .inner
            .topics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        let mut n = 0;
        for t in topics {
            n += t.enforce_retention()?;
        }
        Ok(n)
    }

    /// Applies retention every `every` until `ctx` is done (Kafka's
    /// `log.retention.check.interval.ms`), on a goroutine; the file work runs in
    /// `gort::blocking`. A failed pass is reported on stderr and retried next time.
    pub fn retain_every(&self, ctx: &Context, every: Duration) -> JoinHandle<()> {
        let (broker, done) = (self.clone(), ctx.done());
        gort::go(async move {
            let ticker = gort::time::Ticker::new(every);
            loop {
                gort::select! {
                    recv(done) -> _ => break,
                    recv(ticker.chan()) -> _ => {
                        let b = broker.clone();
                        if let Err(e) = gort::blocking(move || b.enforce_retention()) {
                            eprintln!("kafka: retention pass failed: {e}");
                        }
                    },
                }
            }
            ticker.stop();
        })
    }

    /// `fsync`s every active segment. Blocking I/O.
    pub fn sync(&self) -> Result<()> {
        for name in self.topics() {
            self.topic(&name)?.sync()?;
        }
        Ok(())
    }

    /// The committed offsets of every group.
    pub fn offsets(&self) -> &Arc<OffsetStore> {
        &self.inner.offsets
    }

    /// The coordinator of `group`, made on first use with `config` (later callers
    /// share the first one's, as the members of a Kafka group share one protocol).
    pub fn coordinator(&self, group: &str, config: &GroupConfig) -> Arc<Coordinator> {
        let mut groups = self.inner.groups.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(groups.entry(group.to_string()).or_insert_with(|| {
            Arc::new(Coordinator::new(
                group.to_string(),
                self.clone(),
                config.clone(),
            ))
        }))
    }
}
