//! A consumer library on gort, in the shape of go-nsq's `Consumer`: connections to
//! one or more nsqd, a pool of handler goroutines, max-in-flight spread as RDY over the
//! connections, backoff when handlers fail, TOUCH for long handlers, and a graceful
//! shutdown driven by a [`Context`].
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
//! - the **coordinator** ([`run`] itself): owns every RDY decision (spread,
//!   backoff, redistribution when a connection drops, reconnection) and shutdown.
//!
//! Invariants:
//! 1. Only the coordinator sends RDY, so the RDY state never races itself.
//! 2. A message is answered (FIN or REQ) exactly once, by the handler goroutine that
//!    took it; if the handler panics, it is requeued.
//! 3. Shutdown sends CLS on every connection, lets handlers finish and answer what
//!    they hold (bounded by `shutdown_timeout`), then closes; whatever a broker still
//!    counts in flight is requeued by it on disconnect, so nothing is lost.
//!
//! Backoff (go-nsq's, simplified): a failure raises the level and pauses every
//! connection (RDY 0) for `backoff * 2^(level-1)` (at most `max_backoff`); then one
//! connection gets RDY 1 to test; a success lowers the level (full RDY at level 0),
//! a failure raises it again.

use super::conn_io::ConnReader;
use super::message::Message;
use super::protocol::{decode_frame, Command, Frame, MAGIC_V2};
use gort::chan::{bounded, never, unbounded, Receiver, Sender};
use gort::context::Context;
use gort::net::{OwnedWriteHalf, TcpStream};
use gort::time::Instant;
use std::collections::HashMap;
use std::future::Future;
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

/// A live connection, as the coordinator and handlers see it.
struct Conn {
    cmds: Sender<Command>,
    /// Messages received on it and not yet answered.
    in_flight: Arc<AtomicU64>,
    addr: String,
}

/// What handlers need of each connection, by ID: where to send FIN/REQ/TOUCH, and
/// its count of unanswered messages. Written by the coordinator, read by handlers.
type ConnTable = std::sync::Mutex<HashMap<u64, (Sender<Command>, Arc<AtomicU64>)>>;

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
    let (work_tx, work_rx) = bounded::<(u64, Message)>(cfg.max_in_flight.max(1) as usize);
    let (events_tx, events_rx) = unbounded::<Event>();
    let (outcome_tx, outcome_rx) = unbounded::<bool>();
    let cmds_by_conn: Arc<ConnTable> = Arc::default();

    let mut conns: HashMap<u64, Conn> = HashMap::new();
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
                conns.insert(next_id, c);
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
    if conns.is_empty() {
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
            while let Some((conn_id, msg)) = work_rx.recv().await {
                handle_one(&cfg, &*handler, &cmds, &counters, &outcome_tx, conn_id, msg).await;
            }
            pool.done();
        }));
    }
    drop(outcome_tx);

    // The coordinator.
    let done = ctx.done();
    let mut level = 0u32;
    let mut testing = false;
    let mut backoff_timer: Receiver<Instant> = never();
    let no_timer: Receiver<Instant> = never();
    send_rdy(&cfg, &conns, level, testing);
    loop {
        gort::select! {
            recv(done) -> _ => break,
            recv(events_rx) -> ev => match ev {
                Some(Event::Connected(id, c)) => {
                    register(&cmds_by_conn, id, &c);
                    conns.insert(id, c);
                    send_rdy(&cfg, &conns, level, testing);
                }
                Some(Event::Lost(id, addr)) => {
                    cmds_by_conn.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
                    if conns.remove(&id).is_some() {
                        send_rdy(&cfg, &conns, level, testing);
                        next_id += 1;
                        schedule_reconnect(&cfg, addr, next_id, &events_tx, &work_tx, &counters, &ctx);
                    }
                }
                None => {}
            },
            recv(outcome_rx) -> ok => match ok {
                Some(true) if level > 0 && testing => {
                    level -= 1;
                    testing = false;
                    if level > 0 {
                        backoff_timer = gort::time::after(backoff_for(&cfg, level));
                    }
                    send_rdy(&cfg, &conns, level, testing);
                }
                Some(false) if level == 0 || testing => {
                    level += 1;
                    testing = false;
                    backoff_timer = gort::time::after(backoff_for(&cfg, level));
                    send_rdy(&cfg, &conns, level, testing);
                }
                _ => {}
            },
            recv(if level > 0 && !testing { &backoff_timer } else { &no_timer }) -> _ => {
                testing = true;
                send_rdy(&cfg, &conns, level, testing);
            }
        }
    }

    // Shutdown (invariant 3): no more messages, let the handlers answer what they hold.
    for c in conns.values() {
        let _ = c.cmds.try_send(Command::Cls);
    }
    let deadline = Instant::now() + cfg.shutdown_timeout;
    while conns
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
    for c in conns.values() {
        c.cmds.close();
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
        .insert(id, (c.cmds.clone(), c.in_flight.clone()));
}

fn backoff_for(cfg: &ConsumerConfig, level: u32) -> Duration {
    cfg.backoff
        .saturating_mul(1u32 << (level - 1).min(20))
        .min(cfg.max_backoff)
}

/// RDY for every connection (invariant 1): max-in-flight spread evenly, at least 1
/// each; 0 while backing off; 1 on one connection while testing.
fn send_rdy(cfg: &ConsumerConfig, conns: &HashMap<u64, Conn>, level: u32, testing: bool) {
    let n = conns.len().max(1) as u64;
    let per = (cfg.max_in_flight / n).max(1);
    let mut ids: Vec<_> = conns.keys().copied().collect();
    ids.sort_unstable();
    for (i, id) in ids.iter().enumerate() {
        let rdy = match (level, testing) {
            (0, _) => per,
            (_, true) if i == 0 => 1,
            _ => 0,
        };
        let _ = conns[id].cmds.try_send(Command::Rdy(rdy));
    }
}

#[allow(clippy::too_many_arguments)]
fn schedule_reconnect(
    cfg: &ConsumerConfig,
    addr: String,
    id: u64,
    events: &Sender<Event>,
    work: &Sender<(u64, Message)>,
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
    conn_id: u64,
    msg: Message,
) where
    H: Fn(Message) -> F,
    F: Future<Output = HandlerResult> + Send + 'static,
{
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
                if let Some((cmds, _)) = &conn {
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
    if let Some((cmds, in_flight)) = conn {
        let _ = cmds.try_send(cmd);
        // Release: pairs with the Acquire in shutdown's wait.
        in_flight.fetch_sub(1, Ordering::Release);
    }
    let _ = outcome.try_send(ok);
}

/// Connects, IDENTIFYs, SUBs, and starts the connection's reader and writer.
async fn connect(
    cfg: &ConsumerConfig,
    addr: &str,
    id: u64,
    work: Sender<(u64, Message)>,
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
    drop(gort::go(writer(wr, cmd_rx)));
    let (addr_s, inflight, cmds2) = (addr.to_string(), in_flight.clone(), cmds.clone());
    drop(gort::go(async move {
        loop {
            match read_frame(&mut reader).await {
                Ok(Frame::Message(m)) => {
                    counters.received.fetch_add(1, Ordering::Relaxed);
                    inflight.fetch_add(1, Ordering::AcqRel);
                    if work.send((id, m)).await.is_err() {
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
        in_flight,
        addr: addr.to_string(),
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
