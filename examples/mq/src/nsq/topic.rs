//! A topic: takes published messages and copies each to every one of its channels.
//!
//! Publishing puts into the topic's own [`Queue`]; one pump goroutine per topic (nsqd's
//! `messagePump`) takes from it and puts a copy into each channel (the bodies are
//! shared, see `message.rs`). While a topic has no channels the pump does not read,
//! so messages published before the first `SUB` wait in the topic — on disk past
//! `--mem-queue-size` — and the first channel gets them all, as in NSQ.
//!
//! Invariants:
//! 1. The pump holds a snapshot of the channel list, refreshed whenever
//!    `channel_update` is signalled; it is signalled after every insertion and
//!    removal, so a new channel misses at most the message the pump is copying at
//!    that instant — the same window nsqd has.
//! 2. A message the pump has taken is put into every channel of its snapshot before
//!    the pump looks at its exit signal, so stopping the pump loses nothing.

use super::channel::Channel;
use super::config::Config;
use super::message::Message;
use super::queue::Queue;
use gort::chan::{bounded, Receiver, Sender};
use gort::JoinHandle;
use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// A topic and its channels.
pub struct Topic {
    /// The topic's name.
    pub name: String,
    /// Whether it lives in memory only and goes with its last channel.
    pub ephemeral: bool,
    /// Where published messages wait for the pump.
    pub queue: Queue,
    /// Messages published to it.
    pub message_count: AtomicU64,
    channels: Mutex<HashMap<String, Arc<Channel>>>,
    cfg: Arc<Config>,
    channel_update: Sender<()>,
    exit: Sender<()>,
    pump: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Topic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Topic").field("name", &self.name).finish()
    }
}

impl Topic {
    /// Opens the topic (recovering its disk queue) and starts its pump.
    pub fn new(name: &str, cfg: Arc<Config>) -> io::Result<Arc<Topic>> {
        let ephemeral = super::protocol::is_ephemeral(name);
        let disk = (!ephemeral).then(|| super::channel::disk_config(&cfg));
        let queue = Queue::new(name, cfg.mem_queue_size, disk)?;
        // Capacity 1: a pending "look again" is all the pump needs to know.
        let (update_tx, update_rx) = bounded(1);
        let (exit, exit_rx) = bounded(0);
        let topic = Arc::new(Topic {
            name: name.to_string(),
            ephemeral,
            queue,
            message_count: AtomicU64::new(0),
            channels: Mutex::new(HashMap::new()),
            cfg,
            channel_update: update_tx,
            exit,
            pump: Mutex::new(None),
        });
        let pump = gort::go(message_pump(topic.clone(), update_rx, exit_rx));
        *topic.pump.lock().unwrap_or_else(|e| e.into_inner()) = Some(pump);
        Ok(topic)
    }

    fn channels(&self) -> MutexGuard<'_, HashMap<String, Arc<Channel>>> {
        self.channels.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Publishes one message.
    pub async fn put(&self, msg: Message) -> io::Result<()> {
        self.message_count.fetch_add(1, Ordering::Relaxed);
        self.queue.put(msg).await
    }

    /// The channel `name`, created if it does not exist; the flag says whether it was
    /// created now.
    pub fn get_channel(&self, name: &str) -> io::Result<(Arc<Channel>, bool)> {
        let mut chans = self.channels();
        if let Some(c) = chans.get(name) {
            return Ok((c.clone(), false));
        }
        let c = Channel::new(&self.name, name, self.cfg.clone())?;
        chans.insert(name.to_string(), c.clone());
        drop(chans);
        let _ = self.channel_update.try_send(());
        Ok((c, true))
    }

    /// The channel `name`, if it exists.
    pub fn existing_channel(&self, name: &str) -> Option<Arc<Channel>> {
        self.channels().get(name).cloned()
    }

    /// Removes the channel `name` (an ephemeral one whose last subscriber left) and
    /// closes it. Returns whether the topic now has no channels.
    pub async fn delete_channel(&self, name: &str) -> bool {
        let (removed, empty) = {
            let mut chans = self.channels();
            let removed = chans.remove(name);
            (removed, chans.is_empty())
        };
        let _ = self.channel_update.try_send(());
        if let Some(c) = removed {
            let _ = c.close().await;
        }
        empty
    }

    /// The channels now, sorted by name.
    pub fn channel_list(&self) -> Vec<Arc<Channel>> {
        let mut v: Vec<_> = self.channels().values().cloned().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Shutdown, once no client publishes or subscribes: stops the pump, closes every
    /// channel (flushing it to disk), then flushes the topic's own queue.
    pub async fn close(&self) -> io::Result<()> {
        self.exit.close();
        let pump = self.pump.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(p) = pump {
            let _ = p.await;
        }
        let mut result = Ok(());
        for c in self.channel_list() {
            if let Err(e) = c.close().await {
                result = Err(e);
            }
        }
        result.and(self.queue.flush_and_close().await)
    }
}

async fn message_pump(topic: Arc<Topic>, update: Receiver<()>, exit: Receiver<()>) {
    let mut chans = topic.channel_list();
    loop {
        let msg = if chans.is_empty() {
            gort::select! {
                recv(update) -> _ => { chans = topic.channel_list(); continue; }
                recv(exit) -> _ => return,
            }
        } else {
            gort::select! {
                recv(topic.queue.mem_chan()) -> m => m,
                recv(topic.queue.disk_chan()) -> m => m,
                recv(update) -> _ => { chans = topic.channel_list(); continue; }
                recv(exit) -> _ => return,
            }
        };
        let Some(msg) = msg else { continue };
        distribute(&topic, &chans, msg).await;
    }
}

/// Copies `msg` to every channel in `chans` (invariant 2).
async fn distribute(topic: &Topic, chans: &[Arc<Channel>], msg: Message) {
    let last = chans.len() - 1;
    let mut msg = Some(msg);
    for (i, c) in chans.iter().enumerate() {
        let m = if i == last {
            msg.take().expect("taken only at the last channel")
        } else {
            msg.clone().expect("present until the last channel")
        };
        if !m.deferred.is_zero() {
            let delay = m.deferred;
            c.put_deferred(m, delay);
        } else if let Err(e) = c.put(m).await {
            eprintln!(
                "nsqd: topic {}: put to channel {} failed: {e}",
                topic.name, c.name
            );
        }
    }
}
