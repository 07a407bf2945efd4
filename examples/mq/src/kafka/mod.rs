//! Kafka-style partitioned log, producers and consumer groups, in-process — what the
//! Go seeds' users had from sarama and sarama-cluster.
//!
//! - [`Broker`] holds topics under a directory; a [`Topic`] is N [`Partition`]s, each an
//!   append-only log of offsets in [`segment`] files (length + CRC32 framing, a sparse
//!   offset index, torn tails truncated on recovery), with retention by size or age.
//! - [`SyncProducer`] returns `(partition, offset)`; [`AsyncProducer`] has `input`,
//!   `successes` and `errors` channels, batches per partition with a linger time, and
//!   routes with a [`Partitioner`] (hash of key, random, round-robin).
//! - [`Consumer`] is a group member: the [`Coordinator`] assigns partitions (range or
//!   round-robin), rebalances on join, leave, missed heartbeats and added partitions,
//!   and fences commits by generation; each member runs one goroutine per partition
//!   and commits marked offsets on an interval, before a rebalance and on close.
//! - [`demo`] is the `consumer_group` example's logic: producers, a group, a live
//!   throughput/lag line, shutdown on SIGINT through the context tree.
//!
//! Lock order across modules: coordinator state → offset store; broker `topics` →
//! a topic's partitions → a partition's log → its waiters.

pub mod assignor;
pub mod broker;
pub mod consumer;
pub mod demo;
pub mod error;
pub mod group;
pub mod message;
pub mod offsets;
pub mod partition;
pub mod partitioner;
pub mod producer;
pub mod segment;
pub mod topic;

pub use assignor::Strategy;
pub use broker::Broker;
pub use consumer::{
    AutoMark, Consumer, ConsumerConfig, Handler, InitialOffset, Notification, NotificationKind,
    Session,
};
pub use error::{Error, Result};
pub use group::{Coordinator, GroupConfig};
pub use message::{Message, Record, TopicPartition};
pub use offsets::OffsetStore;
pub use partition::{LogConfig, Partition};
pub use partitioner::{HashPartitioner, Partitioner, RandomPartitioner, RoundRobinPartitioner};
pub use producer::{AsyncProducer, ProducerConfig, ProducerError, ProducerMessage, SyncProducer};
pub use topic::Topic;
