//! One TCP connection: its lifecycle, its shared counters, and its message pump.
//!
//! Each connection runs two goroutines, as nsqd's `IOLoop` and `messagePump`:
//!
//! - the **read loop** (`commands.rs`) reads commands, runs them, and hands every
//!   response to the pump over `events` (bounded: a client that does not read its
//!   responses is eventually not read either, which is backpressure, not memory);
//! - the **pump** is the only writer of the socket: responses, heartbeats, and
//!   messages taken from the subscribed channel while `in_flight < RDY`. It gathers
//!   whatever is ready without waiting into one buffer and writes it with one call,
//!   so a busy connection writes in batches and an idle one at once (it never waits
//!   for `output_buffer_timeout`: flushing when idle is always at least as timely).
//!
//! Invariants:
//! 1. A message the pump takes from the channel is entered in the channel's in-flight
//!    table before any `.await`, so on every path out of the pump it is accounted for
//!    (FIN, REQ, timeout, or requeued when the client is removed).
//! 2. The client is removed from its channel (requeuing its in-flight messages) only
//!    after the pump has returned, so nothing is delivered to it afterwards.
//! 3. Every socket wait races the connection's context: broker shutdown, a write
//!    error, or the read loop ending stops both goroutines promptly. A client that
//!    sends nothing for two heartbeat intervals is closed (its read times out).

use super::broker::Inner;
use super::channel::Channel;
use super::commands::Session;
use super::conn_io::{or_done, ConnReader};
use super::message::Message;
use super::protocol::{write_frame, write_message_frame, FrameType, HEARTBEAT, MAGIC_V2};
use gort::chan::{bounded, never, Receiver, Sender};
use gort::context::Context;
use gort::net::{OwnedWriteHalf, TcpStream};
use gort::time::{Instant, Ticker};
use std::borrow::Cow;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A connection's subscription state (nsqd's `stateInit`, …).
pub mod state {
    /// Connected; may IDENTIFY, publish, SUB.
    pub const INIT: u8 = 0;
    /// Subscribed to a channel.
    pub const SUBSCRIBED: u8 = 1;
    /// Sent CLS: no more messages; FIN/REQ/TOUCH still allowed.
    pub const CLOSING: u8 = 2;
}

/// What IDENTIFY told us, for `/stats`.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// `client_id`.
    pub client_id: String,
    /// `hostname`.
    pub hostname: String,
    /// `user_agent`.
    pub user_agent: String,
    /// The negotiated heartbeat interval, ms (0: none).
    pub heartbeat_interval_ms: u64,
}

/// What a connection shares with the channel it subscribes to: RDY and in-flight
/// counts, the wake-up for its pump, and its statistics.
#[derive(Debug)]
pub struct ClientShared {
    /// The broker's ID for the connection.
    pub id: u64,
    /// The peer's address.
    pub remote_address: String,
    /// When it connected, seconds since the Unix epoch.
    pub connect_ts: i64,
    /// What IDENTIFY said.
    pub info: Mutex<ClientInfo>,
    /// [`state`]: written by the read loop, read by the pump and `/stats`.
    pub state: AtomicU8,
    /// The last RDY. Written by the read loop; read by the pump.
    pub ready_count: AtomicI64,
    /// Messages in flight to this client. Incremented by the pump on delivery,
    /// decremented by the read loop (FIN, REQ) and the channel's scan (timeout).
    pub in_flight: AtomicI64,
    /// The in-flight timeout for this client's messages, ms.
    pub msg_timeout_ms: AtomicU64,
    /// Messages delivered.
    pub message_count: AtomicU64,
    /// Messages finished.
    pub finish_count: AtomicU64,
    /// Messages requeued by the client.
    pub requeue_count: AtomicU64,
    wake_tx: Sender<()>,
    wake_rx: Receiver<()>,
}

// Every counter here is Relaxed: each is read only to decide whether the pump may
// deliver, and a stale read is corrected by the wake-up that follows every change.
impl ClientShared {
    fn new(id: u64, remote_address: String, msg_timeout: Duration) -> ClientShared {
        // Capacity 1: one pending wake-up says "look again", which is all there is.
        let (wake_tx, wake_rx) = bounded(1);
        ClientShared {
            id,
            remote_address,
            connect_ts: super::message::now_nanos() / 1_000_000_000,
            info: Mutex::new(ClientInfo::default()),
            state: AtomicU8::new(state::INIT),
            ready_count: AtomicI64::new(0),
            in_flight: AtomicI64::new(0),
            msg_timeout_ms: AtomicU64::new(msg_timeout.as_millis() as u64),
            message_count: AtomicU64::new(0),
            finish_count: AtomicU64::new(0),
            requeue_count: AtomicU64::new(0),
            wake_tx,
            wake_rx,
        }
    }

    /// Nudges the pump to re-check readiness.
    pub fn wake(&self) {
        let _ = self.wake_tx.try_send(());
    }

    /// Whether the pump may send another message (nsqd's `IsReadyForMessages`).
    pub fn is_ready_for_messages(&self) -> bool {
        let ready = self.ready_count.load(Ordering::Relaxed);
        ready > 0 && self.in_flight.load(Ordering::Relaxed) < ready
    }

    /// One of its messages left flight (FIN, REQ, timeout).
    pub fn left_flight(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.wake();
    }

    /// One of its messages timed out.
    pub fn timed_out(&self) {
        self.left_flight();
    }

    /// The client's in-flight timeout.
    pub fn msg_timeout(&self) -> Duration {
        Duration::from_millis(self.msg_timeout_ms.load(Ordering::Relaxed))
    }

    /// Its state's name, for `/stats`.
    pub fn state_name(&self) -> &'static str {
        match self.state.load(Ordering::Relaxed) {
            state::INIT => "init",
            state::SUBSCRIBED => "subscribed",
            _ => "closing",
        }
    }
}

/// What the read loop hands the pump.
#[derive(Debug)]
pub enum ToPump {
    /// A response frame's data.
    Response(Cow<'static, [u8]>),
    /// An error frame's data.
    Error(String),
    /// SUB succeeded: start taking messages from this channel.
    Subscribed(Arc<Channel>),
    /// IDENTIFY set the heartbeat interval (`None`: no heartbeats).
    Heartbeat(Option<Duration>),
}

/// Serves one connection until it closes or `ctx` is cancelled.
pub async fn serve(broker: Arc<Inner>, stream: TcpStream, ctx: Context) {
    let _ = stream.set_nodelay(true);
    let remote = stream
        .peer_addr()
        .map_or_else(|_| "?".to_string(), |a| a.to_string());
    let (conn_ctx, cancel) = ctx.with_cancel();
    let done = conn_ctx.done();
    let (rd, wr) = stream.into_split();
    let hb = broker.cfg.heartbeat_interval;
    let mut reader = ConnReader::new(rd, Some(hb * 2), done.clone());

    match reader.read_exact(4).await {
        Ok(magic) if magic == MAGIC_V2 => {}
        Ok(_) => {
            let mut buf = Vec::new();
            write_frame(
                &mut buf,
                FrameType::Error,
                b"E_BAD_PROTOCOL bad protocol magic",
            );
            let _ = or_done(wr.write_all(&buf), &done).await;
            return;
        }
        Err(_) => return,
    }

    let id = broker.next_client_id();
    let shared = Arc::new(ClientShared::new(id, remote, broker.cfg.msg_timeout));
    broker.register_client(shared.clone());
    let (events_tx, events_rx) = bounded(1024);
    let (pump_done_tx, pump_done) = bounded::<()>(0);
    // Detached: `pump_done` tells when it has returned.
    drop(gort::go(pump(
        shared.clone(),
        events_rx,
        wr,
        done.clone(),
        Some(hb),
        pump_done_tx,
    )));

    let mut session = Session::new(broker.clone(), shared.clone(), reader, events_tx);
    session.run().await;
    let sub = session.into_subscription();

    // Let the pump write what is queued (a fatal error's frame) for a moment, then
    // stop it; either way wait until it has returned (invariant 2).
    gort::select! {
        recv(pump_done) -> _ => {}
        recv(gort::time::after(Duration::from_secs(1))) -> _ => {
            cancel.cancel();
            let _ = pump_done.recv().await;
        }
    }
    cancel.cancel();
    if let Some((topic, channel)) = sub {
        if channel.remove_client(id).await
            && topic.delete_channel(&channel.name).await
            && topic.ephemeral
        {
            broker.delete_topic(&topic.name).await;
        }
        broker.persist_metadata_quietly();
    }
    broker.unregister_client(id);
}

enum Woke {
    Event(Option<ToPump>),
    Msg(Option<Message>),
    Tick,
    Wake,
    Done,
}

/// Largest batch gathered before a write.
const WRITE_BATCH: usize = 64 * 1024;

/// The connection's only writer (module doc).
async fn pump(
    shared: Arc<ClientShared>,
    events: Receiver<ToPump>,
    wr: OwnedWriteHalf,
    done: Receiver<()>,
    heartbeat: Option<Duration>,
    _finished: Sender<()>,
) {
    let no_msgs = never::<Message>();
    let no_ticks = never::<Instant>();
    let mut ticker = heartbeat.map(Ticker::new);
    let mut channel: Option<Arc<Channel>> = None;
    let mut buf = Vec::with_capacity(WRITE_BATCH);
    loop {
        let ready = channel.as_ref().filter(|_| shared.is_ready_for_messages());
        let (mem, disk) = match ready {
            Some(c) => (c.queue.mem_chan(), c.queue.disk_chan()),
            None => (&no_msgs, &no_msgs),
        };
        let tick = ticker.as_ref().map_or(&no_ticks, |t| t.chan());
        let woke = gort::select! {
            recv(events) -> ev => Woke::Event(ev),
            recv(mem) -> m => Woke::Msg(m),
            recv(disk) -> m => Woke::Msg(m),
            recv(tick) -> _ => Woke::Tick,
            recv(shared.wake_rx) -> _ => Woke::Wake,
            recv(done) -> _ => Woke::Done,
        };
        let mut closing = false;
        match woke {
            Woke::Event(Some(ev)) => on_event(ev, &mut buf, &mut channel, &mut ticker),
            Woke::Event(None) => closing = true,
            Woke::Msg(Some(m)) => {
                let c = channel.as_ref().expect("messages come only from a channel");
                deliver(&shared, c, m, &mut buf);
            }
            Woke::Msg(None) | Woke::Wake => {}
            Woke::Tick => write_frame(&mut buf, FrameType::Response, HEARTBEAT),
            Woke::Done => return,
        }
        // Gather whatever else is ready now into the same write.
        while !closing && buf.len() < WRITE_BATCH {
            match events.try_recv() {
                Ok(ev) => {
                    on_event(ev, &mut buf, &mut channel, &mut ticker);
                    continue;
                }
                Err(gort::chan::TryRecvError::Closed) => {
                    closing = true;
                    break;
                }
                Err(gort::chan::TryRecvError::Empty) => {}
            }
            if let Some(c) = channel.as_ref() {
                if shared.is_ready_for_messages() {
                    if let Some(m) = c.queue.try_take() {
                        deliver(&shared, c, m, &mut buf);
                        continue;
                    }
                }
            }
            break;
        }
        if !buf.is_empty() {
            match or_done(wr.write_all(&buf), &done).await {
                Some(Ok(())) => buf.clear(),
                // The peer is gone or the broker is stopping: the read loop ends on
                // the same signal, and cleans up after this returns.
                _ => return,
            }
        }
        if closing {
            return;
        }
    }
}

fn on_event(
    ev: ToPump,
    buf: &mut Vec<u8>,
    channel: &mut Option<Arc<Channel>>,
    ticker: &mut Option<Ticker>,
) {
    match ev {
        ToPump::Response(data) => write_frame(buf, FrameType::Response, &data),
        ToPump::Error(text) => write_frame(buf, FrameType::Error, text.as_bytes()),
        ToPump::Subscribed(c) => *channel = Some(c),
        ToPump::Heartbeat(Some(d)) => match ticker {
            Some(t) => t.reset(d),
            None => *ticker = Some(Ticker::new(d)),
        },
        ToPump::Heartbeat(None) => {
            if let Some(t) = ticker.take() {
                t.stop();
            }
        }
    }
}

/// Sends `msg` to the client, in flight from now (invariant 1).
fn deliver(shared: &ClientShared, channel: &Channel, mut msg: Message, buf: &mut Vec<u8>) {
    msg.attempts = msg.attempts.saturating_add(1);
    write_message_frame(buf, &msg);
    shared.in_flight.fetch_add(1, Ordering::Relaxed);
    shared.message_count.fetch_add(1, Ordering::Relaxed);
    channel.start_in_flight(msg, shared.id, shared.msg_timeout());
}
