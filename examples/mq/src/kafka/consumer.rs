//! A consumer-group member: joins through the coordinator, runs one goroutine per
//! assigned partition that feeds each message to the user's [`Handler`], commits the
//! offsets the handler marked on an interval, and on every rebalance stops its
//! partition goroutines, commits, and rejoins.
//!
//! The member loop (one goroutine) in steps:
//! 1. `join` → `(generation, partitions)`; a [`Session`] for that generation.
//! 2. For each partition: start at the committed offset, else at the oldest or newest
//!    (`initial_offset`); one goroutine reads batches (waiting at the end of the log on
//!    the partition's wake-up channel) and calls the handler for each message.
//! 3. Heartbeat every `heartbeat_interval`; commit marks every `auto_commit_interval`.
//! 4. On `RebalanceInProgress`: cancel the session's context, wait for the partition
//!    goroutines (abort after `rebalance_timeout`), commit, go to 1. On the member's
//!    context done (graceful `close`, the `Consumer` dropped, or the caller's context —
//!    SIGINT): the same, then `leave`. On [`Consumer::crash`]: stop without committing or leaving, as a
//!    process that dies; the coordinator notices when the session times out.
//!
//! Invariants:
//! 1. Marks belong to one session and cover only its partitions; a session's marks are
//!    committed with its generation (fenced) and never by a later session, so a member
//!    never moves back the offset of a partition that has moved on.
//! 2. A mark is `offset + 1` of a message whose handler returned, so what is committed
//!    has been processed (at-least-once), and duplicates come only from offsets handled
//!    but not yet committed when a member crashed or was evicted.

use super::broker::Broker;
use super::error::{Error, Result};
use super::group::Coordinator;
use super::group::GroupConfig;
use super::message::{Message, TopicPartition};
use super::partition::Partition;
use gort::chan::{unbounded, Receiver, Sender};
use gort::context::{CancelFn, Context};
use gort::JoinHandle;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where a partition with no committed offset starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InitialOffset {
    /// The first offset still stored (sarama's `OffsetOldest`).
    #[default]
    Oldest,
    /// Only messages appended from now on (sarama's `OffsetNewest`).
    Newest,
}

/// How a member consumes and commits.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// Group membership settings (the group's first member's are used).
    pub group: GroupConfig,
    /// Start of a partition without a committed offset.
    pub initial_offset: InitialOffset,
    /// How often marks are committed.
    pub auto_commit_interval: Duration,
    /// Send rebalance [`Notification`]s on `notifications()`.
    pub return_notifications: bool,
    /// Bytes of log per read.
    pub fetch_max_bytes: usize,
    /// Messages per read.
    pub fetch_max_records: usize,
}

impl Default for ConsumerConfig {
    fn default() -> ConsumerConfig {
        ConsumerConfig {
            group: GroupConfig::default(),
            initial_offset: InitialOffset::Oldest,
            auto_commit_interval: Duration::from_secs(1),
            return_notifications: false,
            fetch_max_bytes: 256 << 10,
            fetch_max_records: 1024,
        }
    }
}

/// What kind of rebalance event a [`Notification`] reports (sarama-cluster's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    /// Partitions were released for a rebalance (they are committed).
    RebalanceStart,
    /// A new generation's partitions were claimed.
    RebalanceOk,
    /// Joining failed; the member retries.
    RebalanceError,
}

/// A rebalance, as seen by one member.
#[derive(Debug, Clone)]
pub struct Notification {
    /// What happened.
    pub kind: NotificationKind,
    /// The generation claimed (for `RebalanceOk`) or released.
    pub generation: u64,
    /// Partitions gained.
    pub claimed: Vec<TopicPartition>,
    /// Partitions given up.
    pub released: Vec<TopicPartition>,
    /// Partitions held now.
    pub current: Vec<TopicPartition>,
}

/// Processes the messages of a member's partitions; called from the partition's own
/// goroutine, one message at a time per partition.
pub trait Handler: Send + Sync + 'static {
    /// Handles `msg`; call `session.mark_offset(&msg)` once it is done with (or let
    /// [`AutoMark`] do it).
    fn handle(&self, session: &Session, msg: Message) -> impl Future<Output = ()> + Send;
}

/// A handler from a closure that marks each message once the closure's future is done.
#[derive(Debug, Clone)]
pub struct AutoMark<F>(pub F);

impl<F, Fut> Handler for AutoMark<F>
where
    F: Fn(Message) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    async fn handle(&self, session: &Session, msg: Message) {
        let tp = TopicPartition::new(&*msg.topic, msg.partition);
        let next = msg.offset + 1;
        (self.0)(msg).await;
        session.mark(&tp, next);
    }
}

/// One generation of a member: its partitions and the offsets marked in them.
#[derive(Debug, Clone)]
pub struct Session {
    inner: Arc<SessionInner>,
}

#[derive(Debug)]
struct SessionInner {
    member_id: String,
    generation: u64,
    claims: BTreeSet<TopicPartition>,
    coordinator: Arc<Coordinator>,
    /// Next offset to consume, per partition, as marked by the handler.
    marks: Mutex<BTreeMap<TopicPartition, u64>>,
    /// What this session last committed (to skip empty commits).
    committed: Mutex<BTreeMap<TopicPartition, u64>>,
    ctx: Context,
}

impl Session {
    /// The member's id.
    pub fn member_id(&self) -> &str {
        &self.inner.member_id
    }

    /// The generation this session belongs to.
    pub fn generation(&self) -> u64 {
        self.inner.generation
    }

    /// The partitions this session holds.
    pub fn claims(&self) -> Vec<TopicPartition> {
        self.inner.claims.iter().cloned().collect()
    }

    /// Done when the session ends (rebalance, close or crash).
    pub fn context(&self) -> &Context {
        &self.inner.ctx
    }

    /// Marks `msg` processed: its partition resumes after it.
    pub fn mark_offset(&self, msg: &Message) {
        self.mark(
            &TopicPartition::new(&*msg.topic, msg.partition),
            msg.offset + 1,
        );
    }

    /// Marks `next` as the next offset to consume in `tp` (ignored for partitions this
    /// session does not hold, and for moves backwards).
    pub fn mark(&self, tp: &TopicPartition, next: u64) {
        if !self.inner.claims.contains(tp) {
            return;
        }
        let mut marks = self.inner.marks.lock().unwrap_or_else(|e| e.into_inner());
        let m = marks.entry(tp.clone()).or_insert(next);
        *m = (*m).max(next);
    }

    /// Commits the marks now (fenced by this session's generation). Blocking I/O.
    pub fn commit(&self) -> Result<()> {
        let marks = self
            .inner
            .marks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut committed = self
            .inner
            .committed
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let changed: Vec<(TopicPartition, u64)> = marks
            .into_iter()
            .filter(|(tp, off)| committed.get(tp) != Some(off))
            .collect();
        if changed.is_empty() {
            return Ok(());
        }
        self.inner
            .coordinator
            .commit(&self.inner.member_id, self.inner.generation, &changed)?;
        committed.extend(changed);
        Ok(())
    }
}

/// A running group member; see the module doc. Dropping it stops the member as
/// [`close`](Consumer::close) does (commit, leave), without waiting for it.
#[derive(Debug)]
pub struct Consumer {
    cancel: CancelFn,
    crashed: Arc<AtomicBool>,
    notifications: Receiver<Notification>,
    member: Arc<Mutex<Option<String>>>,
    handle: Mutex<Option<JoinHandle<()>>>,
}

impl Consumer {
    /// Starts a member of `group` consuming `topics` with `handler`, until `ctx` is
    /// done or [`close`](Consumer::close). Call on a gort runtime.
    pub fn start<H: Handler>(
        broker: &Broker,
        ctx: &Context,
        group: &str,
        topics: &[&str],
        config: ConsumerConfig,
        handler: H,
    ) -> Consumer {
        let (mctx, cancel) = ctx.with_cancel();
        let (ntx, notifications) = unbounded();
        let crashed = Arc::new(AtomicBool::new(false));
        let member = Arc::new(Mutex::new(None));
        let m = Member {
            coordinator: broker.coordinator(group, &config.group),
            broker: broker.clone(),
            group: group.to_string(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            config,
            handler: Arc::new(handler),
            ctx: mctx,
            crashed: Arc::clone(&crashed),
            notifications: ntx,
            member_id: Arc::clone(&member),
        };
        Consumer {
            cancel,
            crashed,
            notifications,
            member,
            handle: Mutex::new(Some(gort::go(m.run()))),
        }
    }

    /// Rebalance notifications (if `return_notifications`); closed when the member
    /// stops.
    pub fn notifications(&self) -> &Receiver<Notification> {
        &self.notifications
    }

    /// The member id (given by the coordinator as the first join starts).
    pub fn member_id(&self) -> Option<String> {
        self.member
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Graceful stop: partition goroutines stop, marks are committed, the member
    /// leaves (its partitions go to the others at once). Returns when all is done.
    pub async fn close(&self) {
        self.cancel.cancel();
        self.wait().await;
    }

    /// Simulates a crash: everything stops at once, nothing is committed, the member
    /// does not leave; the group finds out when its session times out.
    pub async fn crash(&self) {
        // SeqCst: must be visible to the member loop before it sees the cancel; the
        // cancel itself synchronises, SeqCst only makes the pairing obvious.
        self.crashed.store(true, Ordering::SeqCst);
        self.cancel.cancel();
        self.wait().await;
    }

    /// Waits for the member to stop (after `close`, `crash` or its context).
    pub async fn wait(&self) {
        let h = self.handle.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = h {
            if let Err(e) = h.await {
                panic!("consumer member loop failed: {e}");
            }
        }
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        // A member nobody holds would otherwise keep its partitions until its
        // context ends. After `close` or `crash` this cancel changes nothing.
        self.cancel.cancel();
    }
}

struct Member<H> {
    coordinator: Arc<Coordinator>,
    broker: Broker,
    group: String,
    topics: Vec<String>,
    config: ConsumerConfig,
    handler: Arc<H>,
    ctx: Context,
    crashed: Arc<AtomicBool>,
    notifications: Sender<Notification>,
    member_id: Arc<Mutex<Option<String>>>,
}

/// Why a session ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Stop,
    Rebalance,
    Evicted,
}

impl<H: Handler> Member<H> {
    async fn run(self) {
        let mut id: Option<String> = None;
        let mut held: Vec<TopicPartition> = Vec::new();
        loop {
            if self.ctx.err().is_some() {
                break;
            }
            if id.is_none() {
                // Known before the join completes, so that a member stopped (or
                // crashed) while joining can still be named (and leave).
                let new = self.coordinator.new_member_id();
                *self.member_id.lock().unwrap_or_else(|e| e.into_inner()) = Some(new.clone());
                id = Some(new);
            }
            let joined = self
                .coordinator
                .join(id.as_deref(), &self.topics, &self.ctx)
                .await;
            let jr = match joined {
                Ok(jr) => jr,
                Err(Error::Closed) => break, // stopped while joining
                Err(_) => {
                    self.notify(NotificationKind::RebalanceError, 0, &[], &[], &held);
                    id = None;
                    continue;
                }
            };
            *self.member_id.lock().unwrap_or_else(|e| e.into_inner()) = Some(jr.member_id.clone());
            id = Some(jr.member_id.clone());
            let claimed: Vec<_> = jr
                .assignment
                .iter()
                .filter(|tp| !held.contains(tp))
                .cloned()
                .collect();
            let released: Vec<_> = held
                .iter()
                .filter(|tp| !jr.assignment.contains(tp))
                .cloned()
                .collect();
            held = jr.assignment.clone();
            self.notify(
                NotificationKind::RebalanceOk,
                jr.generation,
                &claimed,
                &released,
                &held,
            );

            let (sctx, scancel) = self.ctx.with_cancel();
            let session = Session {
                inner: Arc::new(SessionInner {
                    member_id: jr.member_id.clone(),
                    generation: jr.generation,
                    claims: jr.assignment.iter().cloned().collect(),
                    coordinator: Arc::clone(&self.coordinator),
                    marks: Mutex::new(BTreeMap::new()),
                    committed: Mutex::new(BTreeMap::new()),
                    ctx: sctx.clone(),
                }),
            };
            let workers = self.start_partitions(&session, &sctx);
            let end = self.steady(&session).await;
            scancel.cancel();
            self.stop_workers(workers).await;
            if self.crashed.load(Ordering::SeqCst) {
                return; // a crash: no commit, no leave
            }
            if end != End::Evicted {
                // Commit before the partitions are handed away. A fenced commit
                // fails only if we were evicted meanwhile: nothing more to do then.
                let s = session.clone();
                let _ = gort::blocking(move || s.commit());
            }
            self.notify(
                NotificationKind::RebalanceStart,
                jr.generation,
                &[],
                &held,
                &[],
            );
            held.clear();
            match end {
                End::Stop => {
                    self.coordinator.leave(&jr.member_id);
                    return;
                }
                End::Evicted => id = None,
                End::Rebalance => {}
            }
        }
        if let (Some(id), false) = (id, self.crashed.load(Ordering::SeqCst)) {
            self.coordinator.leave(&id);
        }
    }

    /// Heartbeats and auto-commits until the session must end.
    async fn steady(&self, session: &Session) -> End {
        let done = self.ctx.done();
        let hb = gort::time::Ticker::new(self.config.group.heartbeat_interval);
        let ac = gort::time::Ticker::new(self.config.auto_commit_interval);
        let end = loop {
            gort::select! {
                recv(done) -> _ => break End::Stop,
                recv(hb.chan()) -> _ => {
                    match self.coordinator.heartbeat(session.member_id(), session.generation()) {
                        Ok(()) => {}
                        Err(Error::UnknownMemberId(_)) => break End::Evicted,
                        Err(_) => break End::Rebalance,
                    }
                },
                recv(ac.chan()) -> _ => {
                    let s = session.clone();
                    match gort::blocking(move || s.commit()) {
                        Ok(()) => {}
                        Err(Error::UnknownMemberId(_)) => break End::Evicted,
                        Err(Error::IllegalGeneration { .. }) => break End::Rebalance,
                        Err(e) => eprintln!("kafka: group {}: commit: {e}", self.group),
                    }
                },
            }
        };
        hb.stop();
        ac.stop();
        end
    }

    fn start_partitions(&self, session: &Session, sctx: &Context) -> Vec<JoinHandle<()>> {
        let mut workers = Vec::new();
        for tp in session.claims() {
            let Ok(partition) = self
                .broker
                .topic(&tp.topic)
                .and_then(|t| t.partition(tp.partition))
            else {
                continue;
            };
            let start = match self.coordinator.committed(&tp) {
                Ok(Some(off)) => off,
                _ => match self.config.initial_offset {
                    InitialOffset::Oldest => partition.log_start(),
                    InitialOffset::Newest => partition.log_end(),
                },
            };
            workers.push(gort::go(consume_partition(
                Arc::clone(&self.handler),
                session.clone(),
                partition,
                start,
                sctx.clone(),
                self.config.fetch_max_bytes,
                self.config.fetch_max_records,
            )));
        }
        workers
    }

    async fn stop_workers(&self, workers: Vec<JoinHandle<()>>) {
        let deadline = gort::time::Instant::now() + self.config.group.rebalance_timeout;
        for mut w in workers {
            let left = deadline.saturating_duration_since(gort::time::Instant::now());
            if gort::time::timeout(left, &mut w).await.is_err() {
                // Stuck in the handler: what it marked is still committed.
                w.abort();
            }
        }
    }

    fn notify(
        &self,
        kind: NotificationKind,
        generation: u64,
        claimed: &[TopicPartition],
        released: &[TopicPartition],
        current: &[TopicPartition],
    ) {
        if self.config.return_notifications {
            // Unbounded: a handful per rebalance; Err only if nobody holds the receiver.
            let _ = self.notifications.try_send(Notification {
                kind,
                generation,
                claimed: claimed.to_vec(),
                released: released.to_vec(),
                current: current.to_vec(),
            });
        }
    }
}

/// One partition's goroutine: read a batch, hand each message to the handler, wait at
/// the end of the log; stops when the session's context is done.
async fn consume_partition<H: Handler>(
    handler: Arc<H>,
    session: Session,
    partition: Arc<Partition>,
    mut next: u64,
    ctx: Context,
    max_bytes: usize,
    max_records: usize,
) {
    let done = ctx.done();
    loop {
        if ctx.err().is_some() {
            return;
        }
        let p = Arc::clone(&partition);
        let batch = gort::blocking(move || p.read(next, max_bytes, max_records));
        match batch {
            Ok(batch) if !batch.is_empty() => {
                for msg in batch {
                    if ctx.err().is_some() {
                        return;
                    }
                    next = msg.offset + 1;
                    handler.handle(&session, msg).await;
                }
            }
            Ok(_) => {
                // At the end: subscribe, re-check, then park (partition.rs's protocol).
                let wake = partition.subscribe();
                if partition.log_end() > next {
                    continue;
                }
                gort::select! {
                    recv(wake) -> _ => {},
                    recv(done) -> _ => return,
                }
            }
            Err(Error::OffsetOutOfRange {
                log_start, log_end, ..
            }) => {
                // Retention passed us (resume at the oldest kept) or the offset is past
                // the end (a log cut short by recovery: resume at its end).
                next = if next < log_start { log_start } else { log_end };
            }
            Err(e) => {
                eprintln!(
                    "kafka: reading {}/{}: {e}",
                    partition.topic(),
                    partition.id()
                );
                let pause = gort::time::after(Duration::from_millis(100));
                gort::select! {
                    recv(pause) -> _ => {},
                    recv(done) -> _ => return,
                }
            }
        }
    }
}
