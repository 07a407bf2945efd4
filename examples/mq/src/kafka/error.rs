//! Every error the Kafka-style log hands out, in one enum, with Kafka's names where
//! Kafka has one (`UnknownTopicOrPartition`, `OffsetOutOfRange`, `IllegalGeneration`,
//! `UnknownMemberId`, `RebalanceInProgress`) so a sarama user recognises them.

use std::fmt;
use std::io;

/// What went wrong in a broker, producer or consumer-group call.
#[derive(Debug)]
pub enum Error {
    /// The storage below failed (a segment, index or offsets file).
    Io(io::Error),
    /// No topic of that name, or no partition of that number in it.
    UnknownTopicOrPartition {
        /// The topic asked for.
        topic: String,
        /// The partition asked for, if one was.
        partition: Option<u32>,
    },
    /// `create_topic` on a name that exists.
    TopicExists(String),
    /// A topic name that cannot be a directory name (empty, `.`, `/`, …).
    InvalidTopic(String),
    /// A read below the log start (deleted by retention) or past the end.
    OffsetOutOfRange {
        /// The offset asked for.
        offset: u64,
        /// The first offset still stored.
        log_start: u64,
        /// The offset the next append will get.
        log_end: u64,
    },
    /// A group call from a member the coordinator does not know (it left, or its
    /// session timed out and it was evicted).
    UnknownMemberId(String),
    /// A commit or heartbeat from an older generation of the group: the partitions
    /// it speaks for may already belong to someone else.
    IllegalGeneration {
        /// The generation the caller holds.
        got: u64,
        /// The group's current generation.
        current: u64,
    },
    /// The group is rebalancing: stop, commit and rejoin.
    RebalanceInProgress,
    /// The producer, consumer or broker was closed.
    Closed,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "storage error: {e}"),
            Error::UnknownTopicOrPartition {
                topic,
                partition: Some(p),
            } => write!(f, "unknown topic or partition: {topic}/{p}"),
            Error::UnknownTopicOrPartition {
                topic,
                partition: None,
            } => write!(f, "unknown topic: {topic}"),
            Error::TopicExists(t) => write!(f, "topic already exists: {t}"),
            Error::InvalidTopic(t) => write!(f, "invalid topic name: {t:?}"),
            Error::OffsetOutOfRange {
                offset,
                log_start,
                log_end,
            } => write!(f, "offset {offset} out of range [{log_start}, {log_end}]"),
            Error::UnknownMemberId(m) => write!(f, "unknown member id: {m}"),
            Error::IllegalGeneration { got, current } => {
                write!(f, "illegal generation {got} (current {current})")
            }
            Error::RebalanceInProgress => write!(f, "rebalance in progress"),
            Error::Closed => write!(f, "closed"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Io(e)
    }
}

/// The result of a Kafka-style call.
pub type Result<T> = std::result::Result<T, Error>;
