//! The NSQ message: its 16-character ID, its wire/disk encoding, and the ID generator.
//!
//! One encoding serves both the wire (the data of a `FrameTypeMessage` frame) and the
//! disk queue (each record's payload), exactly as nsqd's `Message.WriteTo`:
//!
//! ```text
//! [8-byte timestamp, ns since the Unix epoch, big-endian]
//! [2-byte attempts, big-endian]
//! [16-byte ID: hex ASCII]
//! [body: the rest]
//! ```
//!
//! Invariants:
//! 1. A body is shared, never copied, between the channels a topic fans out to
//!    (`Arc<[u8]>`), so a message published to N channels costs one body.
//! 2. IDs are unique within a broker process and, in practice, across its restarts:
//!    the generator starts from the current time in microseconds, so a run would have
//!    to publish faster than one message per microsecond on average to reach IDs a
//!    later run hands out (see [`IdGen`]).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Length of a message ID on the wire: 16 hex characters.
pub const MSG_ID_LENGTH: usize = 16;

/// Bytes of a message before its body: timestamp, attempts, ID.
pub const MSG_HEADER_LENGTH: usize = 8 + 2 + MSG_ID_LENGTH;

/// A message ID as nsqd writes it: 16 ASCII hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub [u8; MSG_ID_LENGTH]);

impl MessageId {
    /// The ID spelling `n` as 16 lowercase hex digits.
    pub fn from_u64(n: u64) -> MessageId {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut id = [0u8; MSG_ID_LENGTH];
        for (i, b) in id.iter_mut().enumerate() {
            *b = HEX[((n >> (60 - 4 * i)) & 0xf) as usize];
        }
        MessageId(id)
    }

    /// Parses an ID given by a client (`FIN`, `REQ`, `TOUCH`): exactly 16 bytes.
    /// nsqd checks only the length, and so does this: an ID that was never handed out
    /// fails later, as "not in flight".
    pub fn parse(bytes: &[u8]) -> Option<MessageId> {
        <[u8; MSG_ID_LENGTH]>::try_from(bytes).ok().map(MessageId)
    }

    /// The ID's characters.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({self})")
    }
}

/// Hands out message IDs for one broker.
///
/// A counter is enough for uniqueness within the process; starting it at the current
/// time in microseconds keeps a restarted broker from reusing the IDs of messages that
/// it recovered from disk (see the module doc).
#[derive(Debug)]
pub struct IdGen(AtomicU64);

impl IdGen {
    /// A generator starting from the current time.
    pub fn new() -> IdGen {
        let micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        IdGen(AtomicU64::new(micros))
    }

    /// The next ID.
    pub fn next(&self) -> MessageId {
        // Relaxed: only uniqueness matters, which the read-modify-write gives alone.
        MessageId::from_u64(self.0.fetch_add(1, Ordering::Relaxed))
    }
}

impl Default for IdGen {
    fn default() -> Self {
        IdGen::new()
    }
}

/// Nanoseconds since the Unix epoch, as nsqd stamps messages.
pub fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// A message, as held by topics and channels and as sent to consumers.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    /// Its ID, unique within the broker.
    pub id: MessageId,
    /// When it was published, ns since the Unix epoch.
    pub timestamp: i64,
    /// How many times it has been delivered (the delivery about to happen included,
    /// once a client's pump has counted it).
    pub attempts: u16,
    /// The payload, shared among the channels it was copied to.
    pub body: Arc<[u8]>,
    /// For `DPUB`: how long the topic should hold it back before channels deliver it.
    /// Not part of the encoding (nsqd does not persist it either).
    pub deferred: Duration,
}

impl Message {
    /// A new message stamped now, never delivered.
    pub fn new(id: MessageId, body: Arc<[u8]>) -> Message {
        Message {
            id,
            timestamp: now_nanos(),
            attempts: 0,
            body,
            deferred: Duration::ZERO,
        }
    }

    /// Length of the encoding.
    pub fn encoded_len(&self) -> usize {
        MSG_HEADER_LENGTH + self.body.len()
    }

    /// Appends the encoding (module doc) to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.attempts.to_be_bytes());
        out.extend_from_slice(&self.id.0);
        out.extend_from_slice(&self.body);
    }

    /// Decodes what [`Message::encode`] wrote; `None` if it is shorter than a header.
    pub fn decode(data: &[u8]) -> Option<Message> {
        if data.len() < MSG_HEADER_LENGTH {
            return None;
        }
        let timestamp = i64::from_be_bytes(data[0..8].try_into().ok()?);
        let attempts = u16::from_be_bytes(data[8..10].try_into().ok()?);
        let id = MessageId::parse(&data[10..MSG_HEADER_LENGTH])?;
        Some(Message {
            id,
            timestamp,
            attempts,
            body: Arc::from(&data[MSG_HEADER_LENGTH..]),
            deferred: Duration::ZERO,
        })
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("id", &self.id)
            .field("timestamp", &self.timestamp)
            .field("attempts", &self.attempts)
            .field("body_len", &self.body.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips() {
        let mut m = Message::new(
            MessageId::from_u64(0x0123_4567_89ab_cdef),
            Arc::from(&b"hi"[..]),
        );
        m.attempts = 3;
        let mut buf = Vec::new();
        m.encode(&mut buf);
        assert_eq!(buf.len(), m.encoded_len());
        assert_eq!(&buf[10..26], b"0123456789abcdef");
        assert_eq!(Message::decode(&buf), Some(m));
        assert_eq!(Message::decode(&buf[..25]), None);
    }

    #[test]
    fn ids_are_distinct() {
        let g = IdGen::new();
        assert_ne!(g.next(), g.next());
        assert_eq!(MessageId::parse(b"short"), None);
    }
}
