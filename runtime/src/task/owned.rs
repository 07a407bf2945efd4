//! Every G that has waited, so that shutdown can find the ones nobody will wake.
//!
//! A parked G is referenced only by wakers held in user structures; without this list
//! dropping the runtime could not drop its future. A G joins when its first poll
//! returns `Pending` (task/mod.rs): before that it is always in a run queue or being
//! polled, where shutdown finds it, so the many Gs that never wait never lock here.
//! Tasks sit in slabs sharded by id (one short lock on the first wait, one on
//! completion), and each holds one reference here.
//!
//! Invariants:
//! 1. `closed` is checked under the shard lock in `bind`, and set before `close`
//!    takes any shard lock, so a task is either bound before its shard is drained (and
//!    found) or refused (and cancelled by its runner).
//! 2. A task's `owned_key` is written only under its shard's lock (raw.rs says who
//!    reads it).

use super::raw::UNBOUND;
use super::Task;
use crate::loom::atomic::{AtomicBool, Ordering::Relaxed};
use crate::loom::Mutex;
use slab::Slab;

pub(crate) struct OwnedTasks {
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

    /// Adds a task that is about to wait; its runner calls this. `Err` gives the
    /// reference back if the list is closed (the runtime is shutting down).
    pub(crate) fn bind(&self, task: Task) -> Result<(), Task> {
        let mut shard = self.shard(&task).lock();
        // Relaxed: ordered by the shard lock (invariant 1).
        if self.closed.load(Relaxed) {
            return Err(task);
        }
        let key = shard.tasks.insert(task.raw());
        task.header().owned_key.store(key, Relaxed);
        std::mem::forget(task); // the slab now holds this reference
        Ok(())
    }

    /// Takes a finished task out, returning the list's reference (`None` if it never
    /// joined, or shutdown took it out already).
    pub(crate) fn remove(&self, task: &Task) -> Option<Task> {
        if task.header().owned_key.load(Relaxed) == UNBOUND {
            return None; // never waited: never bound (raw.rs, `owned_key`)
        }
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

    /// Tasks in the list: those that have waited and not finished.
    #[cfg(all(loom, test))]
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().tasks.len()).sum()
    }
}

#[derive(Default)]
struct Shard {
    tasks: Slab<super::RawTask>,
}
