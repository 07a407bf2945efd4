//! A channel: one consumer group's copy of a topic's stream, load-balanced among its
//! subscribers, with the in-flight table, deferred messages and their timers.
//!
//! Each subscriber's pump (`client.rs`) takes messages from [`Channel::queue`] — the
//! subscribers compete on the same two receivers, which is the load balancing — and
//! records each in the in-flight table with [`Channel::start_in_flight`] *before*
//! writing it, so a message out of the queue is always accounted for. From there it
//! leaves the table exactly once, by one of:
//!
//! - `FIN` from its owner ([`Channel::finish`]): done.
//! - `REQ` from its owner ([`Channel::requeue`]): back to the queue, or deferred.
//! - its deadline passing ([`Channel::scan`]): back to the queue, counted as a timeout.
//! - its owner disconnecting ([`Channel::remove_client`]): back to the queue.
//! - shutdown ([`Channel::close`]): written to disk.
//!
//! Invariants:
//! 1. Every table change happens under `state`'s lock, and every path above removes
//!    the entry in the same critical section that decides its fate, so two paths can
//!    never both act on one message (a FIN racing a timeout: one of them finds it gone
//!    and the FIN answers `E_FIN_FAILED`).
//! 2. Deadlines live in min-heaps with lazy deletion: a heap entry counts only while
//!    the table holds that ID with that same deadline (TOUCH pushes a new entry
//!    instead of searching for the old one).
//! 3. The lock is never held across an `.await`: messages to requeue are collected
//!    under it and put back after.
//!
//! A scan goroutine per channel wakes every `--queue-scan-interval` (100 ms) to expire
//! in-flight and release deferred messages, as nsqd's `queueScanLoop` does.

use super::client::ClientShared;
use super::config::Config;
use super::diskqueue::DiskQueueConfig;
use super::message::{Message, MessageId};
use super::queue::Queue;
use gort::chan::{bounded, Receiver, Sender};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

struct InFlight {
    msg: Message,
    client_id: u64,
    delivered: Instant,
    deadline: Instant,
}

#[derive(Default)]
struct State {
    in_flight: HashMap<MessageId, InFlight>,
    in_flight_pq: BinaryHeap<Reverse<(Instant, MessageId)>>,
    deferred: HashMap<MessageId, (Message, Instant)>,
    deferred_pq: BinaryHeap<Reverse<(Instant, MessageId)>>,
    clients: HashMap<u64, Arc<ClientShared>>,
    closed: bool,
}

/// Why a FIN, REQ or TOUCH failed (nsqd's words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InFlightError {
    /// No message with that ID is in flight.
    NotInFlight,
    /// It is in flight, to another client.
    NotOwner,
}

impl std::fmt::Display for InFlightError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            InFlightError::NotInFlight => "ID not in flight",
            InFlightError::NotOwner => "client does not own message",
        })
    }
}

/// Counters a channel keeps for `/stats`.
#[derive(Debug, Default)]
pub struct ChannelCounters {
    /// Messages the topic gave this channel.
    pub message_count: AtomicU64,
    /// Messages put back by `REQ`.
    pub requeue_count: AtomicU64,
    /// Messages put back because their deadline passed.
    pub timeout_count: AtomicU64,
    /// Messages finished.
    pub finish_count: AtomicU64,
}

/// A channel of a topic.
pub struct Channel {
    /// The channel's name.
    pub name: String,
    /// Its topic's name.
    pub topic_name: String,
    /// Whether it lives in memory only and goes with its last subscriber.
    pub ephemeral: bool,
    /// Where its messages wait for a subscriber.
    pub queue: Queue,
    /// Statistics.
    pub counters: ChannelCounters,
    state: Mutex<State>,
    cfg: Arc<Config>,
    exit: Sender<()>,
    /// Closed when the scan goroutine has returned (its `Sender` is dropped).
    scan_stopped: Receiver<()>,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("topic", &self.topic_name)
            .field("name", &self.name)
            .finish()
    }
}

impl Channel {
    /// Opens the channel (recovering its disk queue) and starts its scan goroutine.
    pub fn new(topic_name: &str, name: &str, cfg: Arc<Config>) -> io::Result<Arc<Channel>> {
        let ephemeral = super::protocol::is_ephemeral(name);
        let disk = (!ephemeral).then(|| disk_config(&cfg));
        let queue = Queue::new(&format!("{topic_name}:{name}"), cfg.mem_queue_size, disk)?;
        let (exit, exit_rx) = bounded(0);
        let (stopped_tx, scan_stopped) = bounded(0);
        let ch = Arc::new(Channel {
            name: name.to_string(),
            topic_name: topic_name.to_string(),
            ephemeral,
            queue,
            counters: ChannelCounters::default(),
            state: Mutex::new(State::default()),
            cfg,
            exit,
            scan_stopped,
        });
        // Detached: `close` waits for it through `scan_stopped`.
        drop(gort::go(scan_loop(
            Arc::downgrade(&ch),
            ch.cfg.queue_scan_interval,
            exit_rx,
            stopped_tx,
        )));
        Ok(ch)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic under this lock would be a bug in this file; the table is still
        // consistent at every unlock, so carry on rather than poison every client.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A message from the topic.
    pub async fn put(&self, msg: Message) -> io::Result<()> {
        self.counters.message_count.fetch_add(1, Ordering::Relaxed);
        self.queue.put(msg).await
    }

    /// A message from the topic to hold back for `delay` (DPUB).
    pub fn put_deferred(&self, msg: Message, delay: Duration) {
        self.counters.message_count.fetch_add(1, Ordering::Relaxed);
        self.defer(msg, delay);
    }

    fn defer(&self, msg: Message, delay: Duration) {
        let due = Instant::now() + delay;
        let mut st = self.lock();
        st.deferred_pq.push(Reverse((due, msg.id)));
        st.deferred.insert(msg.id, (msg, due));
    }

    /// Subscribes a client.
    pub fn add_client(&self, client: Arc<ClientShared>) {
        self.lock().clients.insert(client.id, client);
    }

    /// Unsubscribes a client and puts its in-flight messages back in the queue.
    /// Returns whether the channel is ephemeral and now has no subscribers (its topic
    /// then deletes it).
    pub async fn remove_client(&self, client_id: u64) -> bool {
        let (orphans, empty) = {
            let mut st = self.lock();
            st.clients.remove(&client_id);
            let ids: Vec<MessageId> = st
                .in_flight
                .iter()
                .filter(|(_, f)| f.client_id == client_id)
                .map(|(id, _)| *id)
                .collect();
            let orphans: Vec<Message> = ids
                .iter()
                .filter_map(|id| st.in_flight.remove(id))
                .map(|f| f.msg)
                .collect();
            (orphans, st.clients.is_empty())
        };
        for msg in orphans {
            self.counters.requeue_count.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = self.queue.put(msg).await {
                eprintln!("nsqd: channel {}: requeue failed: {e}", self.name);
            }
        }
        self.ephemeral && empty
    }

    /// Records `msg` as in flight to `client_id` until `timeout` passes.
    pub fn start_in_flight(&self, msg: Message, client_id: u64, timeout: Duration) {
        let now = Instant::now();
        let deadline = now + timeout;
        let mut st = self.lock();
        st.in_flight_pq.push(Reverse((deadline, msg.id)));
        st.in_flight.insert(
            msg.id,
            InFlight {
                msg,
                client_id,
                delivered: now,
                deadline,
            },
        );
    }

    fn pop_in_flight(
        st: &mut State,
        client_id: u64,
        id: &MessageId,
    ) -> Result<InFlight, InFlightError> {
        match st.in_flight.get(id) {
            None => Err(InFlightError::NotInFlight),
            Some(f) if f.client_id != client_id => Err(InFlightError::NotOwner),
            Some(_) => Ok(st.in_flight.remove(id).expect("just found")),
        }
    }

    /// `FIN`: the message is done.
    pub fn finish(&self, client_id: u64, id: &MessageId) -> Result<(), InFlightError> {
        Self::pop_in_flight(&mut self.lock(), client_id, id)?;
        self.counters.finish_count.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// `REQ`: deliver again, after `delay` if it is not zero.
    pub async fn requeue(
        &self,
        client_id: u64,
        id: &MessageId,
        delay: Duration,
    ) -> Result<(), InFlightError> {
        let f = Self::pop_in_flight(&mut self.lock(), client_id, id)?;
        self.counters.requeue_count.fetch_add(1, Ordering::Relaxed);
        if delay.is_zero() {
            if let Err(e) = self.queue.put(f.msg).await {
                eprintln!("nsqd: channel {}: requeue failed: {e}", self.name);
            }
        } else {
            self.defer(f.msg, delay);
        }
        Ok(())
    }

    /// `TOUCH`: the client needs `timeout` more, up to `--max-msg-timeout` after
    /// delivery.
    pub fn touch(
        &self,
        client_id: u64,
        id: &MessageId,
        timeout: Duration,
    ) -> Result<(), InFlightError> {
        let mut st = self.lock();
        let f = match st.in_flight.get_mut(id) {
            None => return Err(InFlightError::NotInFlight),
            Some(f) if f.client_id != client_id => return Err(InFlightError::NotOwner),
            Some(f) => f,
        };
        let longest = f.delivered + self.cfg.max_msg_timeout;
        f.deadline = (Instant::now() + timeout).min(longest);
        let entry = Reverse((f.deadline, *id));
        st.in_flight_pq.push(entry);
        Ok(())
    }

    /// Expires in-flight messages and releases deferred ones whose time has come.
    pub async fn scan(&self, now: Instant) {
        let (expired, due) = {
            let mut st = self.lock();
            let mut expired = Vec::new();
            while let Some(Reverse((deadline, id))) = st.in_flight_pq.peek().copied() {
                if deadline > now {
                    break;
                }
                st.in_flight_pq.pop();
                // Lazy deletion (invariant 2): only the entry's current deadline counts.
                if st
                    .in_flight
                    .get(&id)
                    .is_some_and(|f| f.deadline == deadline)
                {
                    let f = st.in_flight.remove(&id).expect("just found");
                    if let Some(c) = st.clients.get(&f.client_id) {
                        c.timed_out();
                    }
                    expired.push(f.msg);
                }
            }
            let mut due = Vec::new();
            while let Some(Reverse((at, id))) = st.deferred_pq.peek().copied() {
                if at > now {
                    break;
                }
                st.deferred_pq.pop();
                if st.deferred.get(&id).is_some_and(|(_, d)| *d == at) {
                    due.push(st.deferred.remove(&id).expect("just found").0);
                }
            }
            // Keep the heaps from growing with stale entries when TOUCH is frequent.
            if st.in_flight_pq.len() > 2 * st.in_flight.len() + 1024 {
                let fresh = st
                    .in_flight
                    .iter()
                    .map(|(id, f)| Reverse((f.deadline, *id)))
                    .collect();
                st.in_flight_pq = fresh;
            }
            (expired, due)
        };
        for msg in expired {
            self.counters.timeout_count.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = self.queue.put(msg).await {
                eprintln!("nsqd: channel {}: timeout requeue failed: {e}", self.name);
            }
        }
        for msg in due {
            if let Err(e) = self.queue.put(msg).await {
                eprintln!("nsqd: channel {}: deferred put failed: {e}", self.name);
            }
        }
    }

    /// Messages in flight.
    pub fn in_flight_count(&self) -> usize {
        self.lock().in_flight.len()
    }

    /// Messages deferred.
    pub fn deferred_count(&self) -> usize {
        self.lock().deferred.len()
    }

    /// The subscribers now.
    pub fn clients(&self) -> Vec<Arc<ClientShared>> {
        self.lock().clients.values().cloned().collect()
    }

    /// Shutdown, once every subscriber is gone: stops the scan goroutine and writes
    /// in-flight, deferred and in-memory messages to disk (deferred ones lose their
    /// delay, as in nsqd), then closes the disk queue. Idempotent.
    pub async fn close(&self) -> io::Result<()> {
        if std::mem::replace(&mut self.lock().closed, true) {
            return Ok(());
        }
        // The scan goroutine may be putting expired messages back; let it finish so
        // that none lands in memory after memory is flushed.
        self.exit.close();
        let _ = self.scan_stopped.recv().await;
        let leftovers: Vec<Message> = {
            let mut st = self.lock();
            st.in_flight_pq.clear();
            st.deferred_pq.clear();
            let in_flight = std::mem::take(&mut st.in_flight);
            let deferred = std::mem::take(&mut st.deferred);
            in_flight
                .into_values()
                .map(|f| f.msg)
                .chain(deferred.into_values().map(|(m, _)| m))
                .collect()
        };
        let mut result = Ok(());
        for msg in leftovers {
            if let Err(e) = self.queue.put_to_disk(msg).await {
                result = Err(e);
            }
        }
        let flushed = self.queue.flush_and_close().await;
        result.and(flushed)
    }
}

/// The disk-queue settings every topic and channel shares.
pub fn disk_config(cfg: &Config) -> DiskQueueConfig {
    DiskQueueConfig {
        data_path: cfg.data_path.clone(),
        max_bytes_per_file: cfg.max_bytes_per_file,
        max_msg_size: cfg.max_msg_size,
        sync_every: cfg.sync_every,
        sync_timeout: cfg.sync_timeout,
    }
}

/// Holds only a weak reference so that a deleted channel's loop ends by itself.
async fn scan_loop(
    ch: std::sync::Weak<Channel>,
    every: Duration,
    exit: Receiver<()>,
    _stopped: Sender<()>,
) {
    let ticker = gort::time::tick(every);
    loop {
        gort::select! {
            recv(ticker) -> _ => {}
            recv(exit) -> _ => return,
        }
        let Some(ch) = ch.upgrade() else { return };
        ch.scan(Instant::now()).await;
    }
}
