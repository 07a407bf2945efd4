//! A topic's or channel's queue: a bounded in-memory channel in front of a disk queue,
//! as nsqd's `memoryMsgChan` + `backend`.
//!
//! A put tries the memory channel without waiting and spills to disk when it is full,
//! so a slow consumer costs at most `--mem-queue-size` messages of memory; readers
//! select on both [`Queue::mem_chan`] and [`Queue::disk_chan`], so whichever holds a
//! message delivers it. Order is therefore not FIFO across the two, exactly as in NSQ.
//!
//! An ephemeral queue (`#ephemeral` names) has no disk: what does not fit in memory is
//! dropped, which is NSQ's documented contract for ephemeral topics and channels and
//! the one place a message may be discarded.

use super::diskqueue::{DiskQueue, DiskQueueConfig};
use super::message::Message;
use gort::chan::{bounded, never, Receiver, Sender, TrySendError};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

/// Memory first, then disk.
#[derive(Debug)]
pub struct Queue {
    mem_tx: Sender<Message>,
    mem_rx: Receiver<Message>,
    disk: Option<DiskQueue>,
    no_disk: Receiver<Message>,
    dropped: AtomicU64,
}

impl Queue {
    /// A queue holding `mem_size` messages in memory, spilling to the disk queue
    /// `name` under `disk` (`None`: ephemeral, overflow dropped).
    pub fn new(name: &str, mem_size: usize, disk: Option<DiskQueueConfig>) -> io::Result<Queue> {
        let (mem_tx, mem_rx) = bounded(mem_size);
        let disk = disk.map(|cfg| DiskQueue::open(name, cfg)).transpose()?;
        Ok(Queue {
            mem_tx,
            mem_rx,
            disk,
            no_disk: never(),
            dropped: AtomicU64::new(0),
        })
    }

    /// Queues `msg`: in memory if there is room, else on disk.
    pub async fn put(&self, msg: Message) -> io::Result<()> {
        match self.mem_tx.try_send(msg) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(msg) | TrySendError::Closed(msg)) => match &self.disk {
                Some(d) => d.put(&msg).await,
                None => {
                    // Relaxed: a statistic.
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                }
            },
        }
    }

    /// Messages waiting in memory.
    pub fn mem_chan(&self) -> &Receiver<Message> {
        &self.mem_rx
    }

    /// Messages waiting on disk, offered one at a time; never ready if there is no disk.
    pub fn disk_chan(&self) -> &Receiver<Message> {
        self.disk.as_ref().map_or(&self.no_disk, |d| d.read_chan())
    }

    /// Takes a message from memory or disk if one is there now.
    pub fn try_take(&self) -> Option<Message> {
        self.mem_rx
            .try_recv()
            .ok()
            .or_else(|| self.disk_chan().try_recv().ok())
    }

    /// Messages waiting, memory and disk.
    pub fn depth(&self) -> u64 {
        self.mem_rx.len() as u64 + self.backend_depth()
    }

    /// Messages waiting on disk.
    pub fn backend_depth(&self) -> u64 {
        self.disk.as_ref().map_or(0, DiskQueue::depth)
    }

    /// Messages dropped for want of room (ephemeral queues only).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// On shutdown: moves what memory holds to disk and closes the disk queue, which
    /// persists its metadata. The caller has stopped every reader and writer first.
    pub async fn flush_and_close(&self) -> io::Result<()> {
        let mut result = Ok(());
        if let Some(d) = &self.disk {
            while let Ok(msg) = self.mem_rx.try_recv() {
                if let Err(e) = d.put(&msg).await {
                    result = Err(e);
                }
            }
            d.close().await;
        }
        result
    }

    /// Writes `msg` straight to disk (used when flushing in-flight and deferred
    /// messages on shutdown, when memory is about to be dropped).
    pub async fn put_to_disk(&self, msg: Message) -> io::Result<()> {
        match &self.disk {
            Some(d) => d.put(&msg).await,
            None => Ok(()),
        }
    }
}
