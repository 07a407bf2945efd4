//! Producers, as sarama has them: a [`SyncProducer`] whose `send` returns the
//! `(partition, offset)` the message got, and an [`AsyncProducer`] fed through its
//! `input()` channel that reports each outcome on `successes()` or `errors()`.
//!
//! The async producer is one goroutine, the dispatcher. It takes messages from
//! `input`, picks a partition with the partitioner and the topic's partition count
//! *at that message* (so partitions added while it runs are used from the next
//! message on), and gathers them into one batch per partition. A batch is written —
//! one `write(2)` for the whole batch — when it reaches `batch_size` messages or
//! `batch_bytes`, when its oldest message has waited `linger`, or when `input` is
//! closed. The linger timer is one `gort::time::after` channel armed for the oldest
//! open batch, selected beside `input`.
//!
//! Invariants:
//! 1. Every message taken from `input` comes out exactly once, on `successes` (if
//!    `return_successes`) or `errors` (if `return_errors`): a batch is flushed or
//!    failed as a whole, and `close` waits until the dispatcher has flushed every
//!    batch and dropped its ends of both channels.
//! 2. Messages of one partition are written in the order they came from `input`, so
//!    a key (one partition under the hash partitioner) keeps its order.
//!
//! As with sarama, whoever enables `return_successes` must read `successes()`
//! (likewise `errors()`), or the dispatcher blocks once the channel's buffer is full.

use super::broker::Broker;
use super::error::{Error, Result};
use super::message::{now_ms, Record};
use super::partitioner::{HashPartitioner, Partitioner};
use super::topic::Topic;
use gort::chan::{bounded, never, Receiver, Sender};
use gort::time::Instant;
use gort::JoinHandle;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A message to produce; the producer fills in `partition` and `offset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerMessage {
    /// The topic to append to.
    pub topic: String,
    /// Routing key (the hash partitioner keeps one key on one partition).
    pub key: Option<Vec<u8>>,
    /// Payload.
    pub value: Vec<u8>,
    /// Milliseconds since the Unix epoch; `None`: stamped when produced.
    pub timestamp: Option<i64>,
    /// Set by the producer: where it went.
    pub partition: Option<u32>,
    /// Set by the producer on success: its offset.
    pub offset: Option<u64>,
}

impl ProducerMessage {
    /// A message for `topic`.
    pub fn new(topic: impl Into<String>, key: Option<Vec<u8>>, value: Vec<u8>) -> ProducerMessage {
        ProducerMessage {
            topic: topic.into(),
            key,
            value,
            timestamp: None,
            partition: None,
            offset: None,
        }
    }
}

/// A message the async producer could not write, and why.
#[derive(Debug)]
pub struct ProducerError {
    /// The message, as it was given.
    pub msg: ProducerMessage,
    /// Why it failed.
    pub err: Error,
}

impl fmt::Display for ProducerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "producing to {}: {}", self.msg.topic, self.err)
    }
}

impl std::error::Error for ProducerError {}

/// How a producer routes and batches.
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    /// Chooses the partition of each message (default: hash of the key).
    pub partitioner: Arc<dyn Partitioner>,
    /// Write a partition's batch once it holds this many messages.
    pub batch_size: usize,
    /// … or this many bytes of keys and values.
    pub batch_bytes: usize,
    /// … or once its oldest message has waited this long (zero: write whatever
    /// `input` had ready each time it runs dry).
    pub linger: Duration,
    /// Report each written message on `successes()` (sarama's `Return.Successes`).
    pub return_successes: bool,
    /// Report each failed message on `errors()` (sarama's `Return.Errors`).
    pub return_errors: bool,
    /// Buffer of the `input`, `successes` and `errors` channels.
    pub channel_buffer: usize,
}

impl Default for ProducerConfig {
    fn default() -> ProducerConfig {
        ProducerConfig {
            partitioner: Arc::new(HashPartitioner::new()),
            batch_size: 1000,
            batch_bytes: 1 << 20,
            linger: Duration::from_millis(5),
            return_successes: false,
            return_errors: true,
            channel_buffer: 1024,
        }
    }
}

/// Sends one message (or a few) and waits for its offset.
#[derive(Debug, Clone)]
pub struct SyncProducer {
    broker: Broker,
    partitioner: Arc<dyn Partitioner>,
}

impl SyncProducer {
    /// A producer routing with `partitioner`.
    pub fn new(broker: Broker, partitioner: Arc<dyn Partitioner>) -> SyncProducer {
        SyncProducer {
            broker,
            partitioner,
        }
    }

    /// Appends `msg`; returns `(partition, offset)`.
    pub async fn send(&self, msg: ProducerMessage) -> Result<(u32, u64)> {
        let topic = self.broker.topic(&msg.topic)?;
        let p = self
            .partitioner
            .partition(msg.key.as_deref(), topic.partition_count());
        let partition = topic.partition(p)?;
        let record = Record {
            key: msg.key,
            value: msg.value,
            timestamp: msg.timestamp.unwrap_or_else(now_ms),
        };
        let offset = gort::blocking(|| partition.append(std::slice::from_ref(&record)))?;
        Ok((p, offset))
    }

    /// Appends each message in order; returns `(partition, offset)` for each. Stops at
    /// the first error (the earlier ones stay written).
    pub async fn send_messages(&self, msgs: Vec<ProducerMessage>) -> Result<Vec<(u32, u64)>> {
        let mut out = Vec::with_capacity(msgs.len());
        for m in msgs {
            out.push(self.send(m).await?);
        }
        Ok(out)
    }
}

/// Produces in the background; see the module doc.
#[derive(Debug)]
pub struct AsyncProducer {
    input: Sender<ProducerMessage>,
    successes: Receiver<ProducerMessage>,
    errors: Receiver<ProducerError>,
    dispatcher: Mutex<Option<JoinHandle<()>>>,
}

impl AsyncProducer {
    /// Starts the dispatcher. Call on a gort runtime (it is a goroutine).
    pub fn new(broker: Broker, config: ProducerConfig) -> AsyncProducer {
        let buf = config.channel_buffer.max(1);
        let (input, input_rx) = bounded(buf);
        let (succ_tx, successes) = bounded(buf);
        let (err_tx, errors) = bounded(buf);
        let d = Dispatcher {
            broker,
            config,
            topics: HashMap::new(),
            batches: HashMap::new(),
            successes: succ_tx,
            errors: err_tx,
        };
        let handle = gort::go(d.run(input_rx));
        AsyncProducer {
            input,
            successes,
            errors,
            dispatcher: Mutex::new(Some(handle)),
        }
    }

    /// Where to send messages.
    pub fn input(&self) -> &Sender<ProducerMessage> {
        &self.input
    }

    /// Written messages, with `partition` and `offset` set (if `return_successes`).
    /// Closed after `close` has flushed everything.
    pub fn successes(&self) -> &Receiver<ProducerMessage> {
        &self.successes
    }

    /// Failed messages (if `return_errors`). Closed after `close`.
    pub fn errors(&self) -> &Receiver<ProducerError> {
        &self.errors
    }

    /// Stops taking input, writes every batch, and returns once every outcome is on
    /// `successes`/`errors` and both are closed (sarama's `AsyncClose` + wait).
    pub async fn close(&self) {
        self.input.close();
        let handle = self
            .dispatcher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(h) = handle {
            // A panic in the dispatcher is a bug; surface it here rather than hang.
            if let Err(e) = h.await {
                panic!("async producer dispatcher failed: {e}");
            }
        }
    }
}

/// Messages gathered for one partition.
struct Batch {
    topic: Arc<Topic>,
    partition: u32,
    msgs: Vec<ProducerMessage>,
    bytes: usize,
    opened: Instant,
}

struct Dispatcher {
    broker: Broker,
    config: ProducerConfig,
    topics: HashMap<String, Arc<Topic>>,
    batches: HashMap<(String, u32), Batch>,
    successes: Sender<ProducerMessage>,
    errors: Sender<ProducerError>,
}

impl Dispatcher {
    async fn run(mut self, input: Receiver<ProducerMessage>) {
        // The linger timer: armed for the oldest open batch's deadline, else never.
        let mut timer: Receiver<Instant> = never();
        let mut armed: Option<Instant> = None;
        loop {
            let got = gort::select! {
                recv(input) -> m => Some(m),
                recv(timer) -> _ => None,
            };
            let mut closed = false;
            match got {
                Some(Some(m)) => {
                    self.route(m).await;
                    // Take what else is ready without another select per message.
                    for _ in 0..self.config.batch_size.max(1) * 4 {
                        match input.try_recv() {
                            Ok(m) => self.route(m).await,
                            Err(gort::chan::TryRecvError::Empty) => break,
                            Err(gort::chan::TryRecvError::Closed) => {
                                closed = true;
                                break;
                            }
                        }
                    }
                }
                Some(None) => closed = true, // closed and drained
                None => {
                    armed = None;
                    timer = never();
                    self.flush_where(|b, now, linger| now >= b.opened + linger)
                        .await;
                }
            }
            if closed || self.config.linger.is_zero() {
                self.flush_where(|_, _, _| true).await;
            }
            if closed {
                break;
            }
            // Re-arm for the oldest open batch if the timer is not already earlier.
            if let Some(oldest) = self.batches.values().map(|b| b.opened).min() {
                let deadline = oldest + self.config.linger;
                if armed.map_or(true, |a| a > deadline) {
                    armed = Some(deadline);
                    timer = gort::time::after(deadline.saturating_duration_since(Instant::now()));
                }
            }
        }
        // Dropping `self` drops the successes/errors senders: both channels close
        // once drained (invariant 1).
    }

    /// Puts `m` in its partition's batch, writing the batch if it is full.
    async fn route(&mut self, mut m: ProducerMessage) {
        let topic = match self.topics.get(&m.topic) {
            Some(t) => Arc::clone(t),
            None => match self.broker.topic(&m.topic) {
                Ok(t) => {
                    self.topics.insert(m.topic.clone(), Arc::clone(&t));
                    t
                }
                Err(err) => return self.fail(m, err).await,
            },
        };
        let p = self
            .config
            .partitioner
            .partition(m.key.as_deref(), topic.partition_count());
        m.partition = Some(p);
        let size = m.value.len() + m.key.as_ref().map_or(0, Vec::len);
        let key = (m.topic.clone(), p);
        let batch = self.batches.entry(key.clone()).or_insert_with(|| Batch {
            topic,
            partition: p,
            msgs: Vec::new(),
            bytes: 0,
            opened: Instant::now(),
        });
        batch.msgs.push(m);
        batch.bytes += size;
        if batch.msgs.len() >= self.config.batch_size.max(1)
            || batch.bytes >= self.config.batch_bytes
        {
            let b = self.batches.remove(&key).expect("just inserted");
            self.flush(b).await;
        }
    }

    async fn flush_where(&mut self, due: impl Fn(&Batch, Instant, Duration) -> bool) {
        let now = Instant::now();
        let linger = self.config.linger;
        let keys: Vec<_> = self
            .batches
            .iter()
            .filter(|(_, b)| due(b, now, linger))
            .map(|(k, _)| k.clone())
            .collect();
        for k in keys {
            if let Some(b) = self.batches.remove(&k) {
                self.flush(b).await;
            }
        }
    }

    /// Writes one batch and reports every message of it.
    async fn flush(&mut self, mut b: Batch) {
        // Move keys and values into records for the write, and back afterwards, so a
        // batch is never copied.
        let records: Vec<Record> = b
            .msgs
            .iter_mut()
            .map(|m| Record {
                key: m.key.take(),
                value: std::mem::take(&mut m.value),
                timestamp: m.timestamp.unwrap_or_else(now_ms),
            })
            .collect();
        let result = match b.topic.partition(b.partition) {
            Ok(p) => gort::blocking(|| p.append(&records)),
            Err(e) => Err(e),
        };
        for (m, r) in b.msgs.iter_mut().zip(records) {
            m.key = r.key;
            m.value = r.value;
            m.timestamp = Some(r.timestamp);
        }
        match result {
            Ok(first) => {
                if self.config.return_successes {
                    for (i, mut m) in b.msgs.into_iter().enumerate() {
                        m.offset = Some(first + i as u64);
                        // Err only if the user dropped `successes()`: nobody to tell.
                        let _ = self.successes.send(m).await;
                    }
                }
            }
            Err(err) => {
                let text = err.to_string();
                let mut errs = Some(err);
                for m in b.msgs {
                    // The first message gets the error itself, the rest a copy of its
                    // text (io::Error is not Clone).
                    let e = errs
                        .take()
                        .unwrap_or_else(|| Error::Io(std::io::Error::other(text.clone())));
                    self.fail(m, e).await;
                }
            }
        }
    }

    async fn fail(&mut self, msg: ProducerMessage, err: Error) {
        if self.config.return_errors {
            // Err only if the user dropped `errors()`: nobody to tell.
            let _ = self.errors.send(ProducerError { msg, err }).await;
        }
    }
}
