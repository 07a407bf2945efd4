//! Partitioners: which partition a produced message goes to, given its key and the
//! topic's partition count at that moment — sarama's `HashPartitioner`,
//! `RandomPartitioner` and `RoundRobinPartitioner`.
//!
//! The hash partitioner uses FNV-1a (32-bit), as sarama does, so one key always maps
//! to one partition while the count stays the same: that is what keeps per-key
//! order. When partitions are added, keys move (as in Kafka). A message without a key
//! goes to a random partition, again as sarama's does.

use std::fmt::Debug;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Chooses a partition in `0..partitions` for a message.
pub trait Partitioner: Send + Sync + Debug + 'static {
    /// The partition for a message with `key` (`partitions` is at least 1).
    fn partition(&self, key: Option<&[u8]>, partitions: u32) -> u32;
}

/// `fnv1a(key) % partitions`; random for messages without a key.
#[derive(Debug, Default)]
pub struct HashPartitioner {
    random: RandomPartitioner,
}

/// A uniformly random partition for each message.
#[derive(Debug)]
pub struct RandomPartitioner {
    /// xorshift64* state. Relaxed: a lost update between two threads only repeats a
    /// draw, which a random spread does not mind.
    state: AtomicU64,
}

/// Partitions in turn: 0, 1, …, n-1, 0, …
#[derive(Debug, Default)]
pub struct RoundRobinPartitioner {
    /// Relaxed: a counter whose increments are atomic is all the fairness asked.
    next: AtomicU32,
}

impl HashPartitioner {
    /// A new hash partitioner.
    pub fn new() -> HashPartitioner {
        HashPartitioner::default()
    }
}

impl Partitioner for HashPartitioner {
    fn partition(&self, key: Option<&[u8]>, partitions: u32) -> u32 {
        match key {
            Some(k) => fnv1a(k) % partitions.max(1),
            None => self.random.partition(None, partitions),
        }
    }
}

impl RandomPartitioner {
    /// A new random partitioner seeded from the clock and its own address.
    pub fn new() -> RandomPartitioner {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let seed = (t ^ (&t as *const u64 as u64).rotate_left(32)) | 1;
        RandomPartitioner {
            state: AtomicU64::new(seed),
        }
    }
}

impl Default for RandomPartitioner {
    fn default() -> RandomPartitioner {
        RandomPartitioner::new()
    }
}

impl Partitioner for RandomPartitioner {
    fn partition(&self, _key: Option<&[u8]>, partitions: u32) -> u32 {
        let mut x = self.state.load(Ordering::Relaxed);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state.store(x, Ordering::Relaxed);
        let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
        ((r >> 32) % u64::from(partitions.max(1))) as u32
    }
}

impl RoundRobinPartitioner {
    /// A new round-robin partitioner starting at partition 0.
    pub fn new() -> RoundRobinPartitioner {
        RoundRobinPartitioner::default()
    }
}

impl Partitioner for RoundRobinPartitioner {
    fn partition(&self, _key: Option<&[u8]>, partitions: u32) -> u32 {
        self.next.fetch_add(1, Ordering::Relaxed) % partitions.max(1)
    }
}

/// FNV-1a, 32-bit.
pub fn fnv1a(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in bytes {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}
