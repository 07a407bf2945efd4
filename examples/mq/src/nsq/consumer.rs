//! A consumer library on gort, in the shape of go-nsq's `Consumer`: connections to
//! one or more nsqd, a pool of handler goroutines, max-in-flight spread as RDY over the
//! connections, backoff when handlers fail, TOUCH for long handlers, and a graceful
//! shutdown driven by a [`Context`]; and [`main`], the `nsq_consumer` program.
//!
//! Goroutines and what they own:
//!
//! - per connection, a **reader** (frames in: messages go to the shared `work`
//!   channel, heartbeats are answered) and a **writer** (the only writer of its
//!   socket: FIN/REQ/TOUCH/RDY/NOP/CLS from everyone else over a channel, batched);
//! - `concurrency` **handlers**, each taking a message from `work`, running the user's
//!   handler in a goroutine of its own while a ticker TOUCHes the message, then
//!   sending FIN or REQ to the message's connection and the outcome to the
//!   coordinator;
//! - the **coordinator** ([`run`] itself, with its state in `Coordinator`): owns every
//!   RDY decision (spread, rotation, backoff, redistribution when a connection drops,
//!   reconnection) and shutdown.
//!
//! Invariants:
//! 1. Only the coordinator sends RDY, so the RDY state never races itself.
//! 2. A message is answered (FIN or REQ) exactly once, by the handler goroutine that
//!    took it; if the handler panics, it is requeued.
//! 3. Shutdown sends CLS on every connection, lets handlers finish and answer what
//!    they hold (bounded by `shutdown_timeout`), then closes each connection once its
//!    writer has sent every answer queued for it; whatever a broker still
//!    counts in flight is requeued by it on disconnect, so nothing is lost.
//! 4. Messages in flight never exceed `max_in_flight`: the coordinator raises a
//!    connection's RDY only while the sum over connections of `max(RDY, in flight)`,
//!    plus what handlers still hold from connections that dropped, stays within it;
//!    a raise that does not fit waits for a handler to answer. (RDY is asynchronous:
//!    a broker may send up to the old count in the round trip before it reads a
//!    lowered one. Lowering happens only when the spread changes — a connection comes
//!    or goes, backoff starts — or, by rotation, on a connection that received nothing
//!    for a whole interval.)
//!
//! RDY spread (go-nsq's, made exact): with `max_in_flight >= n` connections, each gets
//! `max_in_flight / n` and `max_in_flight % n` of them one more, so the RDY adds up to
//! `max_in_flight`; the ones holding the extra keep it while the spread is recomputed.
//! With `max_in_flight < n`, `max_in_flight` connections get RDY 1 and the rest 0; every
//! `rdy_redistribute_interval` (go-nsq's `rdyLoop`) a connection holding RDY that has
//! received nothing since the last rotation and holds nothing in flight gives it up to
//! one at 0, chosen at random, so every nsqd is eventually drained.
//!
//! Backoff (go-nsq's, simplified): a failure raises the level and pauses every
//! connection (RDY 0) for `backoff * 2^(level-1)` (at most `max_backoff`); then one
//! connection, chosen at random, gets RDY 1 to test; a success lowers the level (full
//! RDY at level 0), a failure raises it again.

use super::conn_io::ConnReader;
use super::message::Message;
use super::protocol::{decode_frame, Command, Frame, MAGIC_V2};
use gort::chan::{bounded, never, unbounded, Receiver, Sender};
use gort::context::Context;
use gort::net::{OwnedWriteHalf, TcpStream};
use gort::time::Instant;
use gort::JoinHandle;
use std::collections::HashMap;
use std::future::Future;
use std::hash::BuildHasher;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What a handler returns: `Err` requeues the message (with backoff).
pub type HandlerResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// How a consumer behaves.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// The topic.
    pub topic: String,
    /// The channel.
    pub channel: String,
    /// The nsqd to connect to (`HOST:PORT`), one connection each.
    pub nsqd_tcp_addresses: Vec<String>,
    /// Messages in flight at once, over all connections.
    pub max_in_flight: u64,
    /// Handler goroutines.
    pub concurrency: usize,
    /// Attempts after which a failing message is finished and dropped (0: never).
    pub max_attempts: u16,
    /// REQ delay per attempt of a failed message.
    pub requeue_delay: Duration,
    /// First backoff pause.
    pub backoff: Duration,
    /// Longest backoff pause.
    pub max_backoff: Duration,
    /// The msg_timeout to IDENTIFY with (`None`: the broker's default).
    pub msg_timeout: Option<Duration>,
    /// The heartbeat interval to IDENTIFY with.
    pub heartbeat_interval: Duration,
    /// How long shutdown waits for running handlers.
    pub shutdown_timeout: Duration,
    /// How long to wait before reconnecting to an nsqd that dropped.
    pub reconnect_delay: Duration,
    /// With fewer max-in-flight than connections, how often RDY moves from an idle
    /// connection to one without (go-nsq's `rdy_redistribute_interval`); a connection
    /// is idle if it received nothing for one interval.
    pub rdy_redistribute_interval: Duration,
}

impl ConsumerConfig {
    /// Defaults as go-nsq's, for `topic`/`channel` on `addresses`.
    pub fn new(topic: &str, channel: &str, addresses: &[&str]) -> ConsumerConfig {
        ConsumerConfig {
            topic: topic.into(),
            channel: channel.into(),
            nsqd_tcp_addresses: addresses.iter().map(|a| a.to_string()).collect(),
            max_in_flight: 1,
            concurrency: 1,
            max_attempts: 5,
            requeue_delay: Duration::from_secs(90),
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(120),
            msg_timeout: None,
            heartbeat_interval: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(30),
            reconnect_delay: Duration::from_secs(1),
            rdy_redistribute_interval: Duration::from_secs(5),
        }
    }
}

/// What a consumer did, returned by [`run`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ConsumerStats {
    /// Messages received.
    pub received: u64,
    /// Messages finished after their handler succeeded.
    pub finished: u64,
    /// Messages requeued after their handler failed.
    pub requeued: u64,
    /// Messages finished without success after `max_attempts`.
    pub gave_up: u64,
}

#[derive(Default)]
struct Counters {
    received: AtomicU64,
    finished: AtomicU64,
    requeued: AtomicU64,
    gave_up: AtomicU64,
}

/// A live connection, as the coordinator sees it.
struct Conn {
    cmds: Sender<Command>,
    /// The connection's writer: shutdown joins it, so that the FINs and REQs the
    /// handlers queued reach the socket before `run` returns (the runtime drops every
    /// goroutine still running when its main future ends).
    writer: JoinHandle<()>,
    /// Messages received on it and not yet answered: incremented by its reader,
    /// decremented by the handler that answers (which holds this `Arc` with the
    /// message, so it counts down even after the connection is gone).
    in_flight: Arc<AtomicU64>,
    /// Messages ever received on it: written by its reader, read by the rotation.
    received: Arc<AtomicU64>,
    addr: String,
    /// The RDY the coordinator wants here (coordinator only).
    want: u64,
    /// The RDY last sent here (coordinator only).
    rdy: u64,
    /// `received` at the last rotation: unchanged means idle since (coordinator only).
    received_mark: u64,
}

/// A message on its way to a handler, with the connection it came on.
struct Delivery {
    conn_id: u64,
    in_flight: Arc<AtomicU64>,
    msg: Message,
}

/// Where handlers send FIN/REQ/TOUCH, by connection ID. Written by the coordinator,
/// read by handlers.
type ConnTable = std::sync::Mutex<HashMap<u64, Sender<Command>>>;

enum Event {
    Connected(u64, Conn),
    Lost(u64, String),
}

/// Consumes until `ctx` is done, then shuts down gracefully (module doc). Fails only
/// if no connection can be made at the start.
pub async fn run<H, F>(cfg: ConsumerConfig, handler: H, ctx: Context) -> io::Result<ConsumerStats>
where
    H: Fn(Message) -> F + Send + Sync + 'static,
    F: Future<Output = HandlerResult> + Send + 'static,
{
    let handler = Arc::new(handler);
    let counters = Arc::new(Counters::default());
    let (work_tx, work_rx) = bounded::<Delivery>(cfg.max_in_flight.max(1) as usize);
    let (events_tx, events_rx) = unbounded::<Event>();
    let (outcome_tx, outcome_rx) = unbounded::<bool>();
    let cmds_by_conn: Arc<ConnTable> = Arc::default();

    let mut co = Coordinator::new(&cfg);
    let mut next_id = 0u64;
    let mut first_err = None;
    for addr in &cfg.nsqd_tcp_addresses {
        next_id += 1;
        match connect(
            &cfg,
            addr,
            next_id,
            work_tx.clone(),
            events_tx.clone(),
            counters.clone(),
        )
        .await
        {
            Ok(c) => {
                register(&cmds_by_conn, next_id, &c);
                co.conns.insert(next_id, c);
            }
            Err(e) => {
                eprintln!("nsq consumer: {addr}: {e}");
                schedule_reconnect(
                    &cfg,
                    addr.clone(),
                    next_id,
                    &events_tx,
                    &work_tx,
                    &counters,
                    &ctx,
                );
                first_err.get_or_insert(e);
            }
        }
    }
    if co.conns.is_empty() {
        return Err(first_err.unwrap_or_else(|| io::Error::other("no nsqd addresses")));
    }

    // The handler pool.
    let pool = gort::sync::WaitGroup::new();
    for _ in 0..cfg.concurrency.max(1) {
        pool.add(1);
        let (work_rx, handler, cmds, counters, outcome_tx, pool, cfg) = (
            work_rx.clone(),
            handler.clone(),
            cmds_by_conn.clone(),
            counters.clone(),
            outcome_tx.clone(),
            pool.clone(),
            cfg.clone(),
        );
        drop(gort::go(async move {
            while let Some(d) = work_rx.recv().await {
                handle_one(&cfg, &*handler, &cmds, &counters, &outcome_tx, d).await;
            }
            pool.done();
        }));
    }
    drop(outcome_tx);

    // The coordinator.
    let done = ctx.done();
    let mut backoff_timer: Receiver<Instant> = never();
    let no_timer: Receiver<Instant> = never();
    let rotation =
        gort::time::Ticker::new(cfg.rdy_redistribute_interval.max(Duration::from_millis(1)));
    co.distribute();
    loop {
        gort::select! {
            recv(done) -> _ => break,
            recv(events_rx) -> ev => match ev {
                Some(Event::Connected(id, c)) => {
                    register(&cmds_by_conn, id, &c);
                    co.conns.insert(id, c);
                    co.distribute();
                }
                Some(Event::Lost(id, addr)) => {
                    cmds_by_conn.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
                    if co.remove(id) {
                        co.distribute();
                        next_id += 1;
                        schedule_reconnect(&cfg, addr, next_id, &events_tx, &work_tx, &counters, &ctx);
                    }
                }
                None => {}
            },
            recv(outcome_rx) -> ok => match ok {
                Some(true) if co.level > 0 && co.testing => {
                    co.level -= 1;
                    co.testing = false;
                    if co.level > 0 {
                        backoff_timer = gort::time::after(backoff_for(&cfg, co.level));
                    }
                    co.distribute();
                }
                Some(false) if co.level == 0 || co.testing => {
                    co.level += 1;
                    co.testing = false;
                    backoff_timer = gort::time::after(backoff_for(&cfg, co.level));
                    co.distribute();
                }
                // A handler answered: a raise that waited for room may fit now.
                Some(_) if co.raise_pending() => co.apply(),
                _ => {}
            },
            recv(if co.level > 0 && !co.testing { &backoff_timer } else { &no_timer }) -> _ => {
                co.testing = true;
                co.distribute();
            }
            recv(rotation.chan()) -> _ => co.rotate(),
        }
    }
    rotation.stop();

    // Shutdown (invariant 3): no more messages, let the handlers answer what they hold.
    for c in co.conns.values() {
        let _ = c.cmds.try_send(Command::Cls);
    }
    let deadline = Instant::now() + cfg.shutdown_timeout;
    while co
        .conns
        .values()
        .any(|c| c.in_flight.load(Ordering::Acquire) > 0)
        && Instant::now() < deadline
    {
        gort::time::sleep(Duration::from_millis(10)).await;
    }
    // Closing the work channel ends the pool; dropping the command senders ends the
    // writers, which close their sockets.
    work_tx.close();
    let _ = gort::time::timeout(cfg.shutdown_timeout, pool.wait()).await;
    cmds_by_conn
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
    for c in co.conns.values() {
        c.cmds.close();
    }
    let deadline = Instant::now() + cfg.shutdown_timeout;
    for c in co.conns.into_values() {
        let _ = gort::time::timeout_at(deadline, c.writer).await;
    }
    Ok(ConsumerStats {
        received: counters.received.load(Ordering::Relaxed),
        finished: counters.finished.load(Ordering::Relaxed),
        requeued: counters.requeued.load(Ordering::Relaxed),
        gave_up: counters.gave_up.load(Ordering::Relaxed),
    })
}

fn register(map: &ConnTable, id: u64, c: &Conn) {
    map.lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id, c.cmds.clone());
}

fn backoff_for(cfg: &ConsumerConfig, level: u32) -> Duration {
    cfg.backoff
        .saturating_mul(1u32 << (level - 1).min(20))
        .min(cfg.max_backoff)
}

/// The coordinator's state: the live connections and every RDY decision
/// (invariant 1: nothing else touches it).
struct Coordinator {
    max_in_flight: u64,
    conns: HashMap<u64, Conn>,
    /// Backoff level (0: not backing off), and whether one connection is testing.
    level: u32,
    testing: bool,
    /// In-flight counts of connections that dropped while handlers still held their
    /// messages; they count against max-in-flight until those are answered.
    orphans: Vec<Arc<AtomicU64>>,
    rng: Rng,
}

impl Coordinator {
    fn new(cfg: &ConsumerConfig) -> Coordinator {
        Coordinator {
            max_in_flight: cfg.max_in_flight.max(1),
            conns: HashMap::new(),
            level: 0,
            testing: false,
            orphans: Vec::new(),
            rng: Rng::new(),
        }
    }

    /// Forgets a connection that dropped; false if it was not live.
    fn remove(&mut self, id: u64) -> bool {
        let Some(c) = self.conns.remove(&id) else {
            return false;
        };
        if c.in_flight.load(Ordering::Acquire) > 0 {
            self.orphans.push(c.in_flight);
        }
        true
    }

    /// The live connection IDs in random order.
    fn shuffled_ids(&mut self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.conns.keys().copied().collect();
        ids.sort_unstable(); // HashMap order is arbitrary, not random: start from a known one.
        for i in (1..ids.len()).rev() {
            ids.swap(i, self.rng.below(i + 1));
        }
        ids
    }

    /// Recomputes the RDY each connection should have (module doc: spread and
    /// backoff), keeping RDY where it is when the spread allows, then applies it.
    fn distribute(&mut self) {
        let mut ids = self.shuffled_ids();
        let m = self.max_in_flight;
        if ids.is_empty() {
            return;
        } else if self.level > 0 {
            for (i, id) in ids.iter().enumerate() {
                // The testing connection: the first of a random order.
                self.conns.get_mut(id).unwrap().want = u64::from(self.testing && i == 0);
            }
        } else {
            let n = ids.len() as u64;
            let (per, extra) = if m >= n { (m / n, m % n) } else { (0, m) };
            // Stable: those already above the base keep the extra, the rest at random.
            ids.sort_by_key(|id| std::cmp::Reverse(self.conns[id].want > per));
            for (i, id) in ids.iter().enumerate() {
                self.conns.get_mut(id).unwrap().want = per + u64::from((i as u64) < extra);
            }
        }
        self.apply();
    }

    /// go-nsq's `rdyLoop`, every `rdy_redistribute_interval`: with fewer RDY than
    /// connections, each connection holding RDY that received nothing since the last
    /// rotation and holds nothing in flight hands it to a random one at 0.
    fn rotate(&mut self) {
        if self.level == 0 && (self.max_in_flight as usize) < self.conns.len() {
            let mut idle = Vec::new();
            let mut zero = Vec::new();
            for id in self.shuffled_ids() {
                let c = &self.conns[&id];
                if c.want == 0 {
                    zero.push(id);
                } else if c.received.load(Ordering::Relaxed) == c.received_mark
                    && c.in_flight.load(Ordering::Acquire) == 0
                {
                    idle.push(id);
                }
            }
            for (from, to) in idle.into_iter().zip(zero) {
                self.conns.get_mut(&from).unwrap().want = 0;
                self.conns.get_mut(&to).unwrap().want = 1;
            }
        }
        for c in self.conns.values_mut() {
            c.received_mark = c.received.load(Ordering::Relaxed);
        }
        self.apply();
    }

    /// Whether some connection waits for room to have its RDY raised.
    fn raise_pending(&self) -> bool {
        self.conns.values().any(|c| c.want > c.rdy)
    }

    /// Sends RDY where it differs from what is wanted: lowering at once, raising only
    /// as far as max-in-flight allows (invariant 4); the rest of a raise waits for
    /// the next answered message.
    fn apply(&mut self) {
        // Acquire: pairs with the handlers' Release decrement of `in_flight`.
        self.orphans.retain(|o| o.load(Ordering::Acquire) > 0);
        let mut held: u64 = self.orphans.iter().map(|o| o.load(Ordering::Acquire)).sum();
        for c in self.conns.values_mut() {
            if c.want < c.rdy {
                c.rdy = c.want;
                let _ = c.cmds.try_send(Command::Rdy(c.rdy));
            }
            held += c.rdy.max(c.in_flight.load(Ordering::Acquire));
        }
        let mut room = self.max_in_flight.saturating_sub(held);
        for id in self.shuffled_ids() {
            if room == 0 {
                break;
            }
            let c = self.conns.get_mut(&id).unwrap();
            if c.want <= c.rdy {
                continue;
            }
            let in_flight = c.in_flight.load(Ordering::Acquire);
            let before = c.rdy.max(in_flight);
            let rdy = c.want.min(before + room);
            if rdy > c.rdy {
                room -= rdy.max(in_flight) - before;
                c.rdy = rdy;
                let _ = c.cmds.try_send(Command::Rdy(rdy));
            }
        }
    }
}

/// xorshift64*: enough randomness to spread RDY, without a dependency.
struct Rng(u64);

impl Rng {
    /// Seeded from std's per-process random hasher keys.
    fn new() -> Rng {
        Rng(std::collections::hash_map::RandomState::new().hash_one(0u64) | 1)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as usize % n
    }
}

#[allow(clippy::too_many_arguments)]
fn schedule_reconnect(
    cfg: &ConsumerConfig,
    addr: String,
    id: u64,
    events: &Sender<Event>,
    work: &Sender<Delivery>,
    counters: &Arc<Counters>,
    ctx: &Context,
) {
    let (cfg, events, work, counters, done) = (
        cfg.clone(),
        events.clone(),
        work.clone(),
        counters.clone(),
        ctx.done(),
    );
    drop(gort::go(async move {
        loop {
            gort::select! {
                recv(done) -> _ => return,
                recv(gort::time::after(cfg.reconnect_delay)) -> _ => {}
            }
            match connect(
                &cfg,
                &addr,
                id,
                work.clone(),
                events.clone(),
                counters.clone(),
            )
            .await
            {
                Ok(c) => {
                    let _ = events.send(Event::Connected(id, c)).await;
                    return;
                }
                Err(e) => eprintln!("nsq consumer: reconnecting to {addr}: {e}"),
            }
        }
    }));
}

/// Runs the handler for one message, TOUCHing it meanwhile, and answers it.
async fn handle_one<H, F>(
    cfg: &ConsumerConfig,
    handler: &H,
    conns: &ConnTable,
    counters: &Counters,
    outcome: &Sender<bool>,
    d: Delivery,
) where
    H: Fn(Message) -> F,
    F: Future<Output = HandlerResult> + Send + 'static,
{
    let Delivery {
        conn_id,
        in_flight,
        msg,
    } = d;
    // `None` if the connection dropped meanwhile: its broker has requeued the message.
    let conn = conns
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&conn_id)
        .cloned();
    let (id, attempts) = (msg.id, msg.attempts);
    let (res_tx, res_rx) = bounded::<HandlerResult>(1);
    let fut = handler(msg);
    // In a goroutine of its own so that this one can TOUCH while it runs; a panic
    // drops `res_tx`, which reads as a failure (invariant 2).
    drop(gort::go(async move {
        let _ = res_tx.send(fut.await).await;
    }));
    // TOUCH at half the msg_timeout (the broker's default 60 s if not negotiated).
    let touch = gort::time::Ticker::new(cfg.msg_timeout.unwrap_or(Duration::from_secs(60)) / 2);
    let ok = loop {
        gort::select! {
            recv(res_rx) -> r => break matches!(r, Some(Ok(()))),
            recv(touch.chan()) -> _ => {
                if let Some(cmds) = &conn {
                    let _ = cmds.try_send(Command::Touch(id));
                }
            }
        }
    };
    touch.stop();
    let cmd = if ok {
        counters.finished.fetch_add(1, Ordering::Relaxed);
        Command::Fin(id)
    } else if cfg.max_attempts > 0 && attempts >= cfg.max_attempts {
        eprintln!("nsq consumer: giving up on {id} after {attempts} attempts");
        counters.gave_up.fetch_add(1, Ordering::Relaxed);
        Command::Fin(id)
    } else {
        counters.requeued.fetch_add(1, Ordering::Relaxed);
        let delay = cfg.requeue_delay.saturating_mul(u32::from(attempts));
        Command::Req(id, delay.as_millis() as u64)
    };
    if let Some(cmds) = conn {
        let _ = cmds.try_send(cmd);
    }
    // Release: pairs with the Acquire loads in shutdown's wait and the coordinator's
    // `apply` (which runs after the outcome below is received).
    in_flight.fetch_sub(1, Ordering::Release);
    let _ = outcome.try_send(ok);
}

/// Connects, IDENTIFYs, SUBs, and starts the connection's reader and writer.
async fn connect(
    cfg: &ConsumerConfig,
    addr: &str,
    id: u64,
    work: Sender<Delivery>,
    events: Sender<Event>,
    counters: Arc<Counters>,
) -> io::Result<Conn> {
    let s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let mut hello = MAGIC_V2.to_vec();
    let mut identify = serde_json::json!({
        "client_id": "gort-nsq-consumer",
        "hostname": "localhost",
        "user_agent": "gort-mq/0.1",
        "feature_negotiation": true,
        "heartbeat_interval": cfg.heartbeat_interval.as_millis() as u64,
    });
    if let Some(t) = cfg.msg_timeout {
        identify["msg_timeout"] = (t.as_millis() as u64).into();
    }
    Command::Identify(identify.to_string().into_bytes()).encode(&mut hello);
    Command::Sub {
        topic: cfg.topic.clone(),
        channel: cfg.channel.clone(),
    }
    .encode(&mut hello);
    s.write_all(&hello).await?;
    let (rd, wr) = s.into_split();
    let mut reader = ConnReader::new(rd, Some(cfg.heartbeat_interval * 2), never());
    for what in ["IDENTIFY", "SUB"] {
        match read_frame(&mut reader).await? {
            Frame::Response(_) => {}
            f => return Err(io::Error::other(format!("{what}: {f:?}"))),
        }
    }
    let (cmds, cmd_rx) = unbounded();
    let in_flight = Arc::new(AtomicU64::new(0));
    let received = Arc::new(AtomicU64::new(0));
    let writer = gort::go(writer(wr, cmd_rx));
    let (addr_s, inflight, received2, cmds2) = (
        addr.to_string(),
        in_flight.clone(),
        received.clone(),
        cmds.clone(),
    );
    drop(gort::go(async move {
        loop {
            match read_frame(&mut reader).await {
                Ok(Frame::Message(m)) => {
                    counters.received.fetch_add(1, Ordering::Relaxed);
                    received2.fetch_add(1, Ordering::Relaxed);
                    inflight.fetch_add(1, Ordering::AcqRel);
                    let d = Delivery {
                        conn_id: id,
                        in_flight: inflight.clone(),
                        msg: m,
                    };
                    if work.send(d).await.is_err() {
                        // Shutting down: the broker requeues it when we disconnect.
                        inflight.fetch_sub(1, Ordering::AcqRel);
                    }
                }
                Ok(f) if f.is_heartbeat() => {
                    let _ = cmds2.try_send(Command::Nop);
                }
                Ok(Frame::Error(e)) => {
                    eprintln!("nsq consumer: {addr_s}: {}", String::from_utf8_lossy(&e));
                }
                Ok(Frame::Response(_)) => {} // CLOSE_WAIT
                Err(_) => break,
            }
        }
        cmds2.close();
        let _ = events.send(Event::Lost(id, addr_s)).await;
    }));
    Ok(Conn {
        cmds,
        writer,
        in_flight,
        received,
        addr: addr.to_string(),
        want: 0,
        rdy: 0,
        received_mark: 0,
    })
}

async fn read_frame(r: &mut ConnReader) -> io::Result<Frame> {
    let size = r.read_i32().await?;
    if !(4..=64 * 1024 * 1024).contains(&size) {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "bad frame size"));
    }
    decode_frame(&r.read_exact(size as usize).await?)
}

/// The connection's only writer: batches whatever commands are queued into one write.
async fn writer(wr: OwnedWriteHalf, cmds: Receiver<Command>) {
    let mut buf = Vec::with_capacity(4096);
    while let Some(c) = cmds.recv().await {
        c.encode(&mut buf);
        while let Ok(c) = cmds.try_recv() {
            c.encode(&mut buf);
        }
        if wr.write_all(&buf).await.is_err() {
            return;
        }
        buf.clear();
    }
    // Dropping `wr` shuts the socket's write side; the broker closes, the reader ends.
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn").field("addr", &self.addr).finish()
    }
}
