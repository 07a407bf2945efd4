//! The NSQ TCP protocol, version 2: frames, commands and error codes, for both ends.
//!
//! The broker (`client.rs`) reads commands and writes frames; a consumer or producer
//! writes commands ([`Command::encode`]) and reads frames ([`read_frame`]). Everything
//! here is nsqd's wire format to the byte:
//!
//! - A connection opens with the 4-byte magic [`MAGIC_V2`] (`"  V2"`).
//! - A command is a line, `VERB[ param]*\n` (a trailing `\r` is tolerated); `IDENTIFY`,
//!   `AUTH`, `PUB`, `DPUB` and `MPUB` follow it with a 4-byte big-endian size and that
//!   many bytes of body. `MPUB`'s body is a 4-byte count, then each message as a 4-byte
//!   size and its bytes.
//! - A frame is `[4-byte size][4-byte type][data]`, the size counting the type and the
//!   data, all big-endian: type 0 a response (`OK`, `CLOSE_WAIT`, `_heartbeat_`, the
//!   IDENTIFY JSON), 1 an error (`E_CODE description`), 2 a message
//!   ([`Message::encode`]).
//!
//! Errors follow nsqd's `protocol_v2.go`: a [`ClientError`] is sent as an error frame
//! and, when fatal, the broker closes the connection after sending it (nsqd's
//! `FatalClientErr`); `E_FIN_FAILED`, `E_REQ_FAILED` and `E_TOUCH_FAILED` are the
//! non-fatal ones, since a late FIN is the client's business, not a broken stream.

use super::message::{Message, MessageId};
use std::fmt;
use std::io;

/// The magic a V2 client sends first.
pub const MAGIC_V2: &[u8; 4] = b"  V2";

/// The response data of a heartbeat; a client answers it with `NOP`.
pub const HEARTBEAT: &[u8] = b"_heartbeat_";

/// The response to `PUB`, `MPUB`, `DPUB`, `SUB` and a plain `IDENTIFY`.
pub const OK: &[u8] = b"OK";

/// The response to `CLS`: no more messages will come; close once in-flight ones are done.
pub const CLOSE_WAIT: &[u8] = b"CLOSE_WAIT";

/// A topic or channel name's longest length (nsqd's `MaxNameLength`).
pub const MAX_NAME_LENGTH: usize = 64;

/// The suffix that makes a topic or channel ephemeral: memory only, gone with its last
/// subscriber.
pub const EPHEMERAL_SUFFIX: &str = "#ephemeral";

/// A frame's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameType {
    /// A response: `OK`, `CLOSE_WAIT`, `_heartbeat_`, the IDENTIFY JSON.
    Response = 0,
    /// An error: `E_CODE description`.
    Error = 1,
    /// A message.
    Message = 2,
}

impl FrameType {
    /// The type for a wire value, if it is one of the three.
    pub fn from_i32(v: i32) -> Option<FrameType> {
        match v {
            0 => Some(FrameType::Response),
            1 => Some(FrameType::Error),
            2 => Some(FrameType::Message),
            _ => None,
        }
    }
}

/// Appends a frame of `ft` carrying `data` to `out`.
pub fn write_frame(out: &mut Vec<u8>, ft: FrameType, data: &[u8]) {
    out.extend_from_slice(&((data.len() + 4) as u32).to_be_bytes());
    out.extend_from_slice(&(ft as i32).to_be_bytes());
    out.extend_from_slice(data);
}

/// Appends a message frame for `msg` to `out`, encoding in place (no copy of the body
/// beyond the one into `out`).
pub fn write_message_frame(out: &mut Vec<u8>, msg: &Message) {
    out.extend_from_slice(&((msg.encoded_len() + 4) as u32).to_be_bytes());
    out.extend_from_slice(&(FrameType::Message as i32).to_be_bytes());
    msg.encode(out);
}

/// Whether `name` is a valid topic or channel name: `^[.a-zA-Z0-9_-]+(#ephemeral)?$`,
/// 1 to 64 characters in all (nsqd's `IsValidTopicName`/`IsValidChannelName`).
pub fn is_valid_name(name: &str) -> bool {
    if name.is_empty() || name.len() > MAX_NAME_LENGTH {
        return false;
    }
    let stem = name.strip_suffix(EPHEMERAL_SUFFIX).unwrap_or(name);
    !stem.is_empty()
        && stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Whether a valid name asks for an ephemeral topic or channel.
pub fn is_ephemeral(name: &str) -> bool {
    name.ends_with(EPHEMERAL_SUFFIX)
}

/// Parses a non-negative decimal as nsqd's `ByteToBase10` does: digits only, no sign.
pub fn parse_base10(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    b.iter().try_fold(0u64, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u64::from(c - b'0'))
    })
}

/// An error answered to a client: its code (`E_INVALID`, …), a description, and
/// whether the connection closes after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientError {
    /// nsqd's code, e.g. `E_BAD_TOPIC`.
    pub code: &'static str,
    /// What went wrong, in nsqd's words where nsqd has them.
    pub desc: String,
    /// Whether the broker closes the connection after sending it.
    pub fatal: bool,
}

impl ClientError {
    /// An error after which the connection closes.
    pub fn fatal(code: &'static str, desc: impl Into<String>) -> ClientError {
        ClientError {
            code,
            desc: desc.into(),
            fatal: true,
        }
    }

    /// An error after which the connection carries on.
    pub fn non_fatal(code: &'static str, desc: impl Into<String>) -> ClientError {
        ClientError {
            code,
            desc: desc.into(),
            fatal: false,
        }
    }

    /// `E_INVALID`, fatal: the client broke the protocol.
    pub fn invalid(desc: impl Into<String>) -> ClientError {
        ClientError::fatal("E_INVALID", desc)
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.desc)
    }
}

impl std::error::Error for ClientError {}

/// A command as a client sends it. [`Command::encode`] writes nsqd's wire format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `IDENTIFY` with its JSON body.
    Identify(Vec<u8>),
    /// `SUB <topic> <channel>`.
    Sub {
        /// The topic.
        topic: String,
        /// The channel.
        channel: String,
    },
    /// `RDY <count>`: how many messages may be in flight to this connection.
    Rdy(u64),
    /// `FIN <id>`: the message is done.
    Fin(MessageId),
    /// `REQ <id> <ms>`: deliver it again after the delay.
    Req(MessageId, u64),
    /// `TOUCH <id>`: reset the message's timeout.
    Touch(MessageId),
    /// `NOP`: the answer to a heartbeat.
    Nop,
    /// `CLS`: stop sending messages.
    Cls,
    /// `PUB <topic>` with one body.
    Pub {
        /// The topic.
        topic: String,
        /// The message.
        body: Vec<u8>,
    },
    /// `MPUB <topic>` with several bodies, published atomically.
    Mpub {
        /// The topic.
        topic: String,
        /// The messages.
        bodies: Vec<Vec<u8>>,
    },
    /// `DPUB <topic> <ms>`: publish, deliverable after the delay.
    Dpub {
        /// The topic.
        topic: String,
        /// The delay, milliseconds.
        delay_ms: u64,
        /// The message.
        body: Vec<u8>,
    },
}

impl Command {
    /// Appends the command's wire form to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        fn sized(out: &mut Vec<u8>, body: &[u8]) {
            out.extend_from_slice(&(body.len() as u32).to_be_bytes());
            out.extend_from_slice(body);
        }
        match self {
            Command::Identify(json) => {
                out.extend_from_slice(b"IDENTIFY\n");
                sized(out, json);
            }
            Command::Sub { topic, channel } => {
                out.extend_from_slice(format!("SUB {topic} {channel}\n").as_bytes())
            }
            Command::Rdy(n) => out.extend_from_slice(format!("RDY {n}\n").as_bytes()),
            Command::Fin(id) => {
                out.extend_from_slice(b"FIN ");
                out.extend_from_slice(id.as_bytes());
                out.push(b'\n');
            }
            Command::Req(id, ms) => {
                out.extend_from_slice(b"REQ ");
                out.extend_from_slice(id.as_bytes());
                out.extend_from_slice(format!(" {ms}\n").as_bytes());
            }
            Command::Touch(id) => {
                out.extend_from_slice(b"TOUCH ");
                out.extend_from_slice(id.as_bytes());
                out.push(b'\n');
            }
            Command::Nop => out.extend_from_slice(b"NOP\n"),
            Command::Cls => out.extend_from_slice(b"CLS\n"),
            Command::Pub { topic, body } => {
                out.extend_from_slice(format!("PUB {topic}\n").as_bytes());
                sized(out, body);
            }
            Command::Mpub { topic, bodies } => {
                out.extend_from_slice(format!("MPUB {topic}\n").as_bytes());
                let size = 4 + bodies.iter().map(|b| 4 + b.len()).sum::<usize>();
                out.extend_from_slice(&(size as u32).to_be_bytes());
                out.extend_from_slice(&(bodies.len() as u32).to_be_bytes());
                for b in bodies {
                    sized(out, b);
                }
            }
            Command::Dpub {
                topic,
                delay_ms,
                body,
            } => {
                out.extend_from_slice(format!("DPUB {topic} {delay_ms}\n").as_bytes());
                sized(out, body);
            }
        }
    }

    /// The wire form as a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

/// A frame as a client reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A response: `OK`, `CLOSE_WAIT`, `_heartbeat_`, JSON.
    Response(Vec<u8>),
    /// An error: `E_CODE description`.
    Error(Vec<u8>),
    /// A message.
    Message(Message),
}

impl Frame {
    /// Whether this is the heartbeat a client must answer with `NOP`.
    pub fn is_heartbeat(&self) -> bool {
        matches!(self, Frame::Response(d) if d == HEARTBEAT)
    }
}

/// Decodes a frame's type and data (what follows the 4-byte size).
pub fn decode_frame(body: &[u8]) -> io::Result<Frame> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    if body.len() < 4 {
        return Err(bad("frame shorter than its type"));
    }
    let ft = i32::from_be_bytes([body[0], body[1], body[2], body[3]]);
    let data = &body[4..];
    match FrameType::from_i32(ft) {
        Some(FrameType::Response) => Ok(Frame::Response(data.to_vec())),
        Some(FrameType::Error) => Ok(Frame::Error(data.to_vec())),
        Some(FrameType::Message) => Message::decode(data)
            .map(Frame::Message)
            .ok_or_else(|| bad("message frame shorter than a message header")),
        None => Err(bad("unknown frame type")),
    }
}

/// Reads one frame from `rd`, refusing frames larger than `max_size` bytes.
pub async fn read_frame(rd: &gort::net::OwnedReadHalf, max_size: usize) -> io::Result<Frame> {
    let mut size = [0u8; 4];
    rd.read_exact(&mut size).await?;
    let size = u32::from_be_bytes(size) as usize;
    if size > max_size {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {size} bytes exceeds {max_size}"),
        ));
    }
    let mut body = vec![0u8; size];
    rd.read_exact(&mut body).await?;
    decode_frame(&body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn names() {
        for ok in ["a", "t.e_s-t", "x#ephemeral", &"a".repeat(64)] {
            assert!(is_valid_name(ok), "{ok}");
        }
        for bad in [
            "",
            "#ephemeral",
            "a b",
            "a#b",
            "ü",
            &"a".repeat(65),
            "a#ephemeral#ephemeral",
        ] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn base10() {
        assert_eq!(parse_base10(b"0"), Some(0));
        assert_eq!(parse_base10(b"2500"), Some(2500));
        for bad in [&b""[..], b"-1", b"1x", b"99999999999999999999"] {
            assert_eq!(parse_base10(bad), None);
        }
    }

    #[test]
    fn frames_round_trip() {
        let mut buf = Vec::new();
        write_frame(&mut buf, FrameType::Error, b"E_INVALID x");
        assert_eq!(&buf[..8], &[0, 0, 0, 15, 0, 0, 0, 1]);
        assert_eq!(
            decode_frame(&buf[4..]).unwrap(),
            Frame::Error(b"E_INVALID x".to_vec())
        );
        let m = Message::new(MessageId::from_u64(7), Arc::from(&b"body"[..]));
        buf.clear();
        write_message_frame(&mut buf, &m);
        assert_eq!(decode_frame(&buf[4..]).unwrap(), Frame::Message(m));
    }

    #[test]
    fn mpub_encoding() {
        let c = Command::Mpub {
            topic: "t".into(),
            bodies: vec![b"ab".to_vec(), b"c".to_vec()],
        };
        let mut want = b"MPUB t\n".to_vec();
        want.extend_from_slice(&[
            0, 0, 0, 15, 0, 0, 0, 2, 0, 0, 0, 2, b'a', b'b', 0, 0, 0, 1, b'c',
        ]);
        assert_eq!(c.to_bytes(), want);
    }
}
