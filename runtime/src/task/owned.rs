//! Every live G of a runtime, so that shutdown can find the ones nobody will wake.
//!
//! A parked G is referenced only by wakers held in user structures; without this list
//! dropping the runtime could not drop its future. Tasks sit in slabs sharded by id
//! (one short lock on spawn, one on completion), and each holds one reference here.
//!
//! Invariants:
//! 1. `closed` is checked under the shard lock in `bind`, and set before `close`
//!    takes any shard lock, so a task is either bound before its shard is drained (and
//!    found) or refused (and shut down by `bind` itself).
//! 2. A task's `owned_key` is written and read only under its shard's lock.

use super::{Notified, Task};
use crate::loom::atomic::{AtomicBool, Ordering::Relaxed};
use crate::loom::Mutex;
use slab::Slab;

pub(crate) struct OwnedTasks {
    /// Each shard: its tasks, and how many were ever bound there (a plain count under
    /// the lock already taken, rather than one more contended atomic per spawn).
    shards: Box<[Mutex<Shard>]>,
    mask: usize,
    closed: AtomicBool,
}

impl OwnedTasks {
    pub(crate) fn new(shards: usize) -> OwnedTasks {
        let n = shards.next_power_of_two();
        OwnedTasks {
            shards: (0..n).map(|_| Mutex::new(Shard::default())).collect(),
            mask: n - 1,
            closed: AtomicBool::new(false),
        }
    }

    fn shard(&self, task: &Task) -> &Mutex<Shard> {
        &self.shards[task.id().as_u64() as usize & self.mask]
    }

    /// Adds a new task. `None` if the list is closed: the task has then been
    /// cancelled, and its JoinHandle will report that.
    pub(crate) fn bind(&self, task: Task, notified: Notified) -> Option<Notified> {
        let mut shard = self.shard(&task).lock();
        // Relaxed: ordered by the shard lock (invariant 1).
        if self.closed.load(Relaxed) {
            drop(shard);
            drop(notified);
            task.shutdown();
            return None;
        }
        shard.bound += 1;
        let key = shard.tasks.insert(task.raw());
        task.header().owned_key.store(key, Relaxed);
        std::mem::forget(task); // the slab now holds this reference
        Some(notified)
    }

    pub(crate) fn remove(&self, task: &Task) -> Option<Task> {
        let mut shard = self.shard(task).lock();
        let key = task.header().owned_key.load(Relaxed);
        match shard.tasks.get(key) {
            Some(raw) if *raw == task.raw() => {
                let raw = shard.tasks.remove(key);
                // SAFETY: the slab held this reference since `bind`.
                Some(unsafe { Task::from_owned_raw(raw) })
            }
            _ => None,
        }
    }

    /// Refuses new tasks and cancels every bound one that is not running. Called once
    /// all Ms have stopped, so none is running.
    pub(crate) fn close_and_shutdown_all(&self) {
        // Relaxed: the shard locks below order it (invariant 1).
        self.closed.store(true, Relaxed);
        for shard in self.shards.iter() {
            loop {
                // Take a few at a time: shutting a task down runs its destructor,
                // which may spawn (refused) or complete other tasks (which lock here).
                let batch: Vec<_> = {
                    let mut s = shard.lock();
                    let keys: Vec<usize> = s.tasks.iter().map(|(k, _)| k).take(64).collect();
                    keys.into_iter().map(|k| s.tasks.remove(k)).collect()
                };
                if batch.is_empty() {
                    break;
                }
                for raw in batch {
                    // SAFETY: the slab held this reference since `bind`.
                    unsafe { Task::from_owned_raw(raw) }.shutdown();
                }
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().tasks.len()).sum()
    }

    /// Tasks ever bound (spawned and accepted).
    pub(crate) fn bound(&self) -> u64 {
        self.shards.iter().map(|s| s.lock().bound).sum()
    }
}

#[derive(Default)]
struct Shard {
    tasks: Slab<super::RawTask>,
    bound: u64,
}
