//! The values that travel through the log: a [`Record`] as appended, a [`Message`] as
//! consumed (a record plus where it lives), and [`TopicPartition`], the name of one log.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// One record to append: an optional key (the hash partitioner keeps one key on one
/// partition), a value and a timestamp in milliseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Routing key; `None` spreads records over partitions.
    pub key: Option<Vec<u8>>,
    /// The payload.
    pub value: Vec<u8>,
    /// Milliseconds since the Unix epoch; retention by age reads it.
    pub timestamp: i64,
}

impl Record {
    /// A record stamped with the current wall-clock time.
    pub fn new(key: Option<Vec<u8>>, value: Vec<u8>) -> Record {
        Record {
            key,
            value,
            timestamp: now_ms(),
        }
    }
}

/// A record read back from a partition, with its coordinates.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    /// The topic it was read from (shared, so a batch costs no string copies).
    pub topic: Arc<str>,
    /// The partition it was read from.
    pub partition: u32,
    /// Its offset in that partition.
    pub offset: u64,
    /// Milliseconds since the Unix epoch, as appended.
    pub timestamp: i64,
    /// The key it was produced with.
    pub key: Option<Vec<u8>>,
    /// The payload.
    pub value: Vec<u8>,
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Payloads may be large or binary: show their sizes, not their bytes.
        f.debug_struct("Message")
            .field("topic", &self.topic)
            .field("partition", &self.partition)
            .field("offset", &self.offset)
            .field("timestamp", &self.timestamp)
            .field("key_len", &self.key.as_ref().map(Vec::len))
            .field("value_len", &self.value.len())
            .finish()
    }
}

/// A topic and one of its partitions: the name of one log.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// Topic name.
    pub topic: String,
    /// Partition number, from 0.
    pub partition: u32,
}

impl TopicPartition {
    /// `topic`/`partition`.
    pub fn new(topic: impl Into<String>, partition: u32) -> TopicPartition {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.topic, self.partition)
    }
}

/// Wall-clock milliseconds since the Unix epoch (0 if the clock is before 1970).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
