//! The read loop of a connection: nsqd's `protocolV2.IOLoop` and `Exec`, command by
//! command, with nsqd's checks, in nsqd's order, answered with nsqd's error codes.
//!
//! State machine (the connection's [`state`]): `INIT` → `SUB` → `SUBSCRIBED` → `CLS`
//! → `CLOSING`. IDENTIFY and SUB only in `INIT`; RDY only when subscribed (ignored
//! while closing); FIN/REQ/TOUCH when subscribed or closing; PUB/MPUB/DPUB/NOP in any
//! state. A command out of order is a fatal `E_INVALID`.
//!
//! Every body is read in full (its declared size bounded first by `--max-msg-size` or
//! `--max-body-size`) before it is judged, so an error never leaves the stream in the
//! middle of a body; the fatal errors then close the connection anyway, as nsqd does,
//! and nothing another connection holds is touched on any error path.

use super::broker::Inner;
use super::channel::Channel;
use super::client::{state, ClientShared, ToPump};
use super::conn_io::ConnReader;
use super::message::{Message, MessageId};
use super::protocol::{is_valid_name, parse_base10, ClientError, CLOSE_WAIT, OK};
use super::topic::Topic;
use gort::chan::Sender;
use serde_json::{json, Value};
use std::borrow::Cow;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Longest command line accepted (nsqd's bufio reader holds 16 KiB).
const MAX_LINE: usize = 16 * 1024;

/// The version reported by IDENTIFY and `/info`.
pub const VERSION: &str = "1.3.0-gort";

/// A connection's read side.
pub struct Session {
    broker: Arc<Inner>,
    shared: Arc<ClientShared>,
    reader: ConnReader,
    out: Sender<ToPump>,
    heartbeat: Option<Duration>,
    sub: Option<(Arc<Topic>, Arc<Channel>)>,
}

type Reply = Result<Option<Cow<'static, [u8]>>, ClientError>;

impl Session {
    /// A session for a connection that has sent its magic.
    pub fn new(
        broker: Arc<Inner>,
        shared: Arc<ClientShared>,
        reader: ConnReader,
        out: Sender<ToPump>,
    ) -> Session {
        let heartbeat = Some(broker.cfg.heartbeat_interval);
        Session {
            broker,
            shared,
            reader,
            out,
            heartbeat,
            sub: None,
        }
    }

    /// The topic and channel it subscribed to, if any.
    pub fn into_subscription(self) -> Option<(Arc<Topic>, Arc<Channel>)> {
        self.sub
    }

    /// Reads and runs commands until the connection ends, a fatal error, or shutdown.
    pub async fn run(&mut self) {
        loop {
            let line = match self.reader.read_line(MAX_LINE).await {
                Ok(line) => line,
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    let e =
                        ClientError::invalid(format!("command line longer than {MAX_LINE} bytes"));
                    let _ = self.out.send(ToPump::Error(e.to_string())).await;
                    return;
                }
                Err(e) => {
                    if e.kind() == io::ErrorKind::TimedOut {
                        eprintln!(
                            "nsqd: client {}: no data for two heartbeat intervals; closing",
                            self.shared.remote_address
                        );
                    }
                    return;
                }
            };
            match self.exec(&line).await {
                Ok(Some(resp)) => {
                    if self.out.send(ToPump::Response(resp)).await.is_err() {
                        return;
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    let fatal = e.fatal;
                    if self.out.send(ToPump::Error(e.to_string())).await.is_err() || fatal {
                        return;
                    }
                }
            }
        }
    }

    async fn exec(&mut self, line: &[u8]) -> Reply {
        let params: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
        match params[0] {
            b"FIN" => self.fin(&params),
            b"RDY" => self.rdy(&params),
            b"REQ" => self.req(&params).await,
            b"PUB" => self.publish(&params).await,
            b"MPUB" => self.mpub(&params).await,
            b"DPUB" => self.dpub(&params).await,
            b"NOP" => Ok(None),
            b"TOUCH" => self.touch(&params),
            b"SUB" => self.sub(&params).await,
            b"CLS" => self.cls(),
            b"IDENTIFY" => self.identify().await,
            b"AUTH" => self.auth(&params).await,
            other => Err(ClientError::invalid(format!(
                "invalid command {}",
                String::from_utf8_lossy(other)
            ))),
        }
    }

    fn state(&self) -> u8 {
        self.shared.state.load(Ordering::Relaxed)
    }

    /// Reads a 4-byte size and that many bytes, refusing sizes outside 1..=max.
    async fn read_body(
        &mut self,
        code: &'static str,
        what: &str,
        max: usize,
        too_big: &str,
    ) -> Result<Vec<u8>, ClientError> {
        let size =
            self.reader.read_i32().await.map_err(|_| {
                ClientError::fatal(code, format!("{what} failed to read body size"))
            })?;
        if size <= 0 {
            return Err(ClientError::fatal(
                code,
                format!("{what} invalid body size {size}"),
            ));
        }
        if size as usize > max {
            return Err(ClientError::fatal(
                code,
                format!("{what} {too_big} {size} > {max}"),
            ));
        }
        self.reader
            .read_exact(size as usize)
            .await
            .map_err(|_| ClientError::fatal(code, format!("{what} failed to read body")))
    }

    async fn identify(&mut self) -> Reply {
        if self.state() != state::INIT {
            return Err(ClientError::invalid("cannot IDENTIFY in current state"));
        }
        let max = self.broker.cfg.max_body_size;
        let body = self
            .read_body("E_BAD_BODY", "IDENTIFY", max, "body too big")
            .await?;
        let data: Value = serde_json::from_slice(&body)
            .map_err(|_| ClientError::fatal("E_BAD_BODY", "IDENTIFY failed to decode JSON body"))?;
        if !data.is_object() {
            return Err(ClientError::fatal(
                "E_BAD_BODY",
                "IDENTIFY failed to decode JSON body",
            ));
        }
        let cfg = &self.broker.cfg;
        let int = |k: &str| -> Result<i64, ClientError> {
            match data.get(k) {
                None | Some(Value::Null) => Ok(0),
                Some(v) => v.as_i64().ok_or_else(|| {
                    ClientError::fatal("E_BAD_BODY", "IDENTIFY failed to decode JSON body")
                }),
            }
        };
        let string = |k: &str| {
            data.get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let flag = |k: &str| data.get(k).and_then(Value::as_bool).unwrap_or(false);
        let bad = |what: String| ClientError::fatal("E_BAD_BODY", format!("IDENTIFY {what}"));

        // The checks of nsqd's clientV2.Identify, in its order.
        let hb = int("heartbeat_interval")?;
        let max_hb = cfg.max_heartbeat_interval.as_millis() as i64;
        let heartbeat = match hb {
            -1 => None,
            0 => Some(cfg.heartbeat_interval),
            ms if (1000..=max_hb).contains(&ms) => Some(Duration::from_millis(ms as u64)),
            ms => return Err(bad(format!("heartbeat interval ({ms}) is invalid"))),
        };
        let obs = int("output_buffer_size")?;
        if !(obs == -1 || obs == 0 || (64..=cfg.max_output_buffer_size as i64).contains(&obs)) {
            return Err(bad(format!("output buffer size ({obs}) is invalid")));
        }
        let obt = int("output_buffer_timeout")?;
        let max_obt = cfg.max_output_buffer_timeout.as_millis() as i64;
        if !(obt == -1 || obt == 0 || (1..=max_obt).contains(&obt)) {
            return Err(bad(format!("output buffer timeout ({obt}) is invalid")));
        }
        let sample_rate = int("sample_rate")?;
        if !(0..=99).contains(&sample_rate) {
            return Err(bad(format!("sample rate ({sample_rate}) is invalid")));
        }
        if sample_rate != 0 {
            // nsqd drops the unsampled messages from the channel for good; this broker
            // loses no message, so it refuses rather than pretend.
            return Err(bad(format!(
                "sample rate ({sample_rate}) is not supported by this broker"
            )));
        }
        let mt = int("msg_timeout")?;
        let max_mt = cfg.max_msg_timeout.as_millis() as i64;
        let msg_timeout = match mt {
            0 => cfg.msg_timeout,
            ms if (1000..=max_mt).contains(&ms) => Duration::from_millis(ms as u64),
            ms => return Err(bad(format!("msg timeout ({ms}) is invalid"))),
        };

        self.heartbeat = heartbeat;
        self.reader.deadline = heartbeat.map(|d| d * 2);
        self.shared
            .msg_timeout_ms
            .store(msg_timeout.as_millis() as u64, Ordering::Relaxed);
        {
            let mut info = self.shared.info.lock().unwrap_or_else(|e| e.into_inner());
            info.client_id = string("client_id");
            if info.client_id.is_empty() {
                info.client_id = string("short_id");
            }
            info.hostname = string("hostname");
            if info.hostname.is_empty() {
                info.hostname = string("long_id");
            }
            info.user_agent = string("user_agent");
            info.heartbeat_interval_ms = heartbeat.map_or(0, |d| d.as_millis() as u64);
        }
        let _ = self.out.send(ToPump::Heartbeat(heartbeat)).await;

        if !flag("feature_negotiation") {
            return Ok(Some(Cow::Borrowed(OK)));
        }
        // TLS, snappy, deflate and auth are not offered: answering `false` is how nsqd
        // itself declines them, and clients carry on uncompressed and in the clear.
        let resp = json!({
            "max_rdy_count": cfg.max_rdy_count,
            "version": VERSION,
            "max_msg_timeout": max_mt,
            "msg_timeout": msg_timeout.as_millis() as u64,
            "tls_v1": false,
            "deflate": false,
            "deflate_level": 0,
            "max_deflate_level": 0,
            "snappy": false,
            "sample_rate": 0,
            "auth_required": false,
            "output_buffer_size": if obs > 0 { obs } else { 16 * 1024 },
            "output_buffer_timeout": if obt > 0 { obt } else { 250 },
        });
        Ok(Some(Cow::Owned(resp.to_string().into_bytes())))
    }

    async fn auth(&mut self, params: &[&[u8]]) -> Reply {
        if self.state() != state::INIT {
            return Err(ClientError::invalid("cannot AUTH in current state"));
        }
        if params.len() != 1 {
            return Err(ClientError::invalid("AUTH invalid number of parameters"));
        }
        let max = self.broker.cfg.max_body_size;
        self.read_body("E_BAD_BODY", "AUTH", max, "body too big")
            .await?;
        Err(ClientError::fatal("E_AUTH_DISABLED", "AUTH disabled"))
    }

    async fn sub(&mut self, params: &[&[u8]]) -> Reply {
        if self.state() != state::INIT {
            return Err(ClientError::invalid("cannot SUB in current state"));
        }
        if self.heartbeat.is_none() {
            return Err(ClientError::invalid("cannot SUB with heartbeats disabled"));
        }
        if params.len() < 3 {
            return Err(ClientError::invalid(
                "SUB insufficient number of parameters",
            ));
        }
        let topic_name = String::from_utf8_lossy(params[1]).into_owned();
        if !is_valid_name(&topic_name) {
            return Err(ClientError::fatal(
                "E_BAD_TOPIC",
                format!("SUB topic name {topic_name:?} is not valid"),
            ));
        }
        let channel_name = String::from_utf8_lossy(params[2]).into_owned();
        if !is_valid_name(&channel_name) {
            return Err(ClientError::fatal(
                "E_BAD_CHANNEL",
                format!("SUB channel name {channel_name:?} is not valid"),
            ));
        }
        let failed = |e: io::Error| ClientError::fatal("E_SUB_FAILED", format!("SUB failed {e}"));
        let topic = self.broker.get_topic(&topic_name).map_err(failed)?;
        let (channel, created) = topic.get_channel(&channel_name).map_err(failed)?;
        channel.add_client(self.shared.clone());
        if created {
            self.broker.persist_metadata_quietly();
        }
        self.shared
            .state
            .store(state::SUBSCRIBED, Ordering::Relaxed);
        self.sub = Some((topic, channel.clone()));
        let _ = self.out.send(ToPump::Subscribed(channel)).await;
        Ok(Some(Cow::Borrowed(OK)))
    }

    fn rdy(&mut self, params: &[&[u8]]) -> Reply {
        match self.state() {
            // nsqd: "just ignore ready changes on a closing channel".
            state::CLOSING => return Ok(None),
            state::SUBSCRIBED => {}
            _ => return Err(ClientError::invalid("cannot RDY in current state")),
        }
        let count = match params.get(1) {
            None => 1,
            Some(p) => parse_base10(p).ok_or_else(|| {
                ClientError::invalid(format!(
                    "RDY could not parse count {}",
                    String::from_utf8_lossy(p)
                ))
            })?,
        };
        let max = self.broker.cfg.max_rdy_count;
        if count > max {
            return Err(ClientError::invalid(format!(
                "RDY count {count} out of range 0-{max}"
            )));
        }
        self.shared
            .ready_count
            .store(count as i64, Ordering::Relaxed);
        self.shared.wake();
        Ok(None)
    }

    /// The subscribed channel and the message ID in `params[1]`, for FIN/REQ/TOUCH.
    fn in_flight_target(
        &self,
        verb: &str,
        params: &[&[u8]],
        min_params: usize,
    ) -> Result<(Arc<Channel>, MessageId), ClientError> {
        let st = self.state();
        if st != state::SUBSCRIBED && st != state::CLOSING {
            return Err(ClientError::invalid(format!(
                "cannot {verb} in current state"
            )));
        }
        if params.len() < min_params {
            return Err(ClientError::invalid(format!(
                "{verb} insufficient number of params"
            )));
        }
        let id = MessageId::parse(params[1])
            .ok_or_else(|| ClientError::invalid("Invalid Message ID"))?;
        let (_, channel) = self.sub.as_ref().expect("subscribed states have a channel");
        Ok((channel.clone(), id))
    }

    fn fin(&mut self, params: &[&[u8]]) -> Reply {
        let (channel, id) = self.in_flight_target("FIN", params, 2)?;
        channel
            .finish(self.shared.id, &id)
            .map_err(|e| ClientError::non_fatal("E_FIN_FAILED", format!("FIN {id} failed {e}")))?;
        self.shared.finish_count.fetch_add(1, Ordering::Relaxed);
        self.shared.left_flight();
        Ok(None)
    }

    async fn req(&mut self, params: &[&[u8]]) -> Reply {
        let (channel, id) = self.in_flight_target("REQ", params, 3)?;
        let ms = parse_base10(params[2]).ok_or_else(|| {
            ClientError::invalid(format!(
                "REQ could not parse timeout {}",
                String::from_utf8_lossy(params[2])
            ))
        })?;
        // nsqd clamps an out-of-range delay rather than refusing it.
        let delay = Duration::from_millis(ms).min(self.broker.cfg.max_req_timeout);
        channel
            .requeue(self.shared.id, &id, delay)
            .await
            .map_err(|e| ClientError::non_fatal("E_REQ_FAILED", format!("REQ {id} failed {e}")))?;
        self.shared.requeue_count.fetch_add(1, Ordering::Relaxed);
        self.shared.left_flight();
        Ok(None)
    }

    fn touch(&mut self, params: &[&[u8]]) -> Reply {
        let (channel, id) = self.in_flight_target("TOUCH", params, 2)?;
        channel
            .touch(self.shared.id, &id, self.shared.msg_timeout())
            .map_err(|e| {
                ClientError::non_fatal("E_TOUCH_FAILED", format!("TOUCH {id} failed {e}"))
            })?;
        Ok(None)
    }

    fn cls(&mut self) -> Reply {
        if self.state() != state::SUBSCRIBED {
            return Err(ClientError::invalid("cannot CLS in current state"));
        }
        self.shared.ready_count.store(0, Ordering::Relaxed);
        self.shared.state.store(state::CLOSING, Ordering::Relaxed);
        Ok(Some(Cow::Borrowed(CLOSE_WAIT)))
    }

    fn topic_param(&self, verb: &str, params: &[&[u8]], min: usize) -> Result<String, ClientError> {
        if params.len() < min {
            return Err(ClientError::invalid(format!(
                "{verb} insufficient number of parameters"
            )));
        }
        let name = String::from_utf8_lossy(params[1]).into_owned();
        if !is_valid_name(&name) {
            return Err(ClientError::fatal(
                "E_BAD_TOPIC",
                format!("{verb} topic name {name:?} is not valid"),
            ));
        }
        Ok(name)
    }

    async fn publish(&mut self, params: &[&[u8]]) -> Reply {
        let topic_name = self.topic_param("PUB", params, 2)?;
        let max = self.broker.cfg.max_msg_size;
        let body = self
            .read_body("E_BAD_MESSAGE", "PUB", max, "message too big")
            .await?;
        self.put(
            &topic_name,
            vec![body],
            Duration::ZERO,
            "E_PUB_FAILED",
            "PUB",
        )
        .await
    }

    async fn dpub(&mut self, params: &[&[u8]]) -> Reply {
        let topic_name = self.topic_param("DPUB", params, 3)?;
        let ms = parse_base10(params[2]).ok_or_else(|| {
            ClientError::invalid(format!(
                "DPUB could not parse timeout {}",
                String::from_utf8_lossy(params[2])
            ))
        })?;
        let max_ms = self.broker.cfg.max_req_timeout.as_millis() as u64;
        if ms > max_ms {
            return Err(ClientError::invalid(format!(
                "DPUB timeout {ms} out of range 0-{max_ms}"
            )));
        }
        let max = self.broker.cfg.max_msg_size;
        let body = self
            .read_body("E_BAD_MESSAGE", "DPUB", max, "message too big")
            .await?;
        let delay = Duration::from_millis(ms);
        self.put(&topic_name, vec![body], delay, "E_DPUB_FAILED", "DPUB")
            .await
    }

    async fn mpub(&mut self, params: &[&[u8]]) -> Reply {
        let topic_name = self.topic_param("MPUB", params, 2)?;
        let (max_body, max_msg) = (self.broker.cfg.max_body_size, self.broker.cfg.max_msg_size);
        let body = self
            .read_body("E_BAD_BODY", "MPUB", max_body, "body too big")
            .await?;
        let bodies = parse_mpub(&body, max_body, max_msg)?;
        self.put(&topic_name, bodies, Duration::ZERO, "E_MPUB_FAILED", "MPUB")
            .await
    }

    /// Publishes validated bodies; a failure here is the broker's (disk), fatal as in
    /// nsqd.
    async fn put(
        &mut self,
        topic_name: &str,
        bodies: Vec<Vec<u8>>,
        delay: Duration,
        code: &'static str,
        verb: &str,
    ) -> Reply {
        let failed = |e: io::Error| ClientError::fatal(code, format!("{verb} failed {e}"));
        let topic = self.broker.get_topic(topic_name).map_err(failed)?;
        for body in bodies {
            let mut msg = Message::new(self.broker.ids.next(), Arc::from(body));
            msg.deferred = delay;
            topic.put(msg).await.map_err(failed)?;
        }
        Ok(Some(Cow::Borrowed(OK)))
    }
}

/// Splits an MPUB body: a 4-byte count, then each message as a size and its bytes
/// (nsqd's `readMPUB`, with its limits and error codes).
fn parse_mpub(body: &[u8], max_body: usize, max_msg: usize) -> Result<Vec<Vec<u8>>, ClientError> {
    let read_len = |at: usize| -> Option<i32> {
        body.get(at..at + 4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let count = read_len(0)
        .ok_or_else(|| ClientError::fatal("E_BAD_BODY", "MPUB failed to read message count"))?;
    // 4 for the count, then at least 4 + 1 per message.
    let max_messages = (max_body as i64 - 4) / 5;
    if count <= 0 || i64::from(count) > max_messages {
        return Err(ClientError::fatal(
            "E_BAD_BODY",
            format!("MPUB invalid message count {count}"),
        ));
    }
    let mut at = 4;
    let mut out = Vec::with_capacity(count as usize);
    for i in 0..count {
        let size = read_len(at).ok_or_else(|| {
            ClientError::fatal(
                "E_BAD_MESSAGE",
                format!("MPUB failed to read message({i}) body size"),
            )
        })?;
        at += 4;
        if size <= 0 {
            return Err(ClientError::fatal(
                "E_BAD_MESSAGE",
                format!("MPUB invalid message({i}) body size {size}"),
            ));
        }
        if size as usize > max_msg {
            return Err(ClientError::fatal(
                "E_BAD_MESSAGE",
                format!("MPUB message too big {size} > {max_msg}"),
            ));
        }
        let msg = body.get(at..at + size as usize).ok_or_else(|| {
            ClientError::fatal("E_BAD_MESSAGE", "MPUB failed to read message body")
        })?;
        at += size as usize;
        out.push(msg.to_vec());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mpub_body(bodies: &[&[u8]]) -> Vec<u8> {
        let mut v = (bodies.len() as u32).to_be_bytes().to_vec();
        for b in bodies {
            v.extend_from_slice(&(b.len() as u32).to_be_bytes());
            v.extend_from_slice(b);
        }
        v
    }

    #[test]
    fn mpub_parsing() {
        let ok = parse_mpub(&mpub_body(&[b"a", b"bc"]), 1000, 10).unwrap();
        assert_eq!(ok, vec![b"a".to_vec(), b"bc".to_vec()]);
        let code = |r: Result<_, ClientError>| r.unwrap_err().code;
        assert_eq!(code(parse_mpub(&[0, 0, 0, 0], 1000, 10)), "E_BAD_BODY");
        assert_eq!(
            code(parse_mpub(&mpub_body(&[b"toolongbody"]), 1000, 10)),
            "E_BAD_MESSAGE"
        );
        let mut short = mpub_body(&[b"abc"]);
        short.pop();
        assert_eq!(code(parse_mpub(&short, 1000, 10)), "E_BAD_MESSAGE");
        assert_eq!(
            code(parse_mpub(&mpub_body(&[b""]), 1000, 10)),
            "E_BAD_MESSAGE"
        );
    }
}
