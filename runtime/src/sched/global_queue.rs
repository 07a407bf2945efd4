//! The global run queue (Go's `sched.runq`): Gs from outside any M, and the overflow
//! of full local rings. It lives under the sched lock; `global_len` mirrors its length
//! so that Ms can skip the lock when it is empty.

use super::context;
use super::local_queue::{Overflow, LEN};
use super::p::PCore;
use super::Shared;
use crate::loom::atomic::Ordering::*;
use crate::task::Notified;
use std::sync::Arc;

impl Shared {
    /// A G from outside the runtime's Ms (`globrunqput` + `wakep`).
    pub(crate) fn inject(self: &Arc<Self>, task: Notified) {
        let mut s = self.sched.lock();
        if s.shutdown {
            // Nobody will run it; the owned list drops its future.
            drop(s);
            drop(task);
            return;
        }
        s.global.push_back(task);
        // Relaxed: written under the lock; lock-free readers only use it as a hint,
        // and re-check under the lock.
        self.global_len.store(s.global.len(), Relaxed);
        drop(s);
        if context::wakes_deferred() {
            return; // the timer sleeper runs it itself (park.rs, `wait_polling`)
        }
        // Fenced like a local push: the last spinning M re-reads `global_len` after
        // its own fence, outside the lock (idle.rs, case 1; loom_idle found it).
        self.wake_p_after_push();
    }

    /// `runq_put_slow`'s second half: LEN/2 + 1 Gs in one lock acquisition.
    pub(crate) fn push_global_batch(&self, batch: Overflow<'_, Notified>) {
        let mut s = self.sched.lock();
        if s.shutdown {
            drop(s);
            drop(batch);
            return;
        }
        s.global.extend(batch);
        self.global_len.store(s.global.len(), Relaxed);
    }

    /// `globrunqget`: takes a fair share of the global queue (at most `max` if
    /// non-zero, at most half a ring), returns one G and puts the rest on `core`.
    pub(crate) fn glob_runq_get(&self, core: &mut PCore, max: usize) -> Option<Notified> {
        if self.global_len.load(Relaxed) == 0 {
            return None;
        }
        let mut s = self.sched.lock();
        let len = s.global.len();
        if len == 0 {
            return None;
        }
        let mut n = len.min(len / self.config.procs + 1);
        if max > 0 {
            n = n.min(max);
        }
        // Room is guaranteed by the callers (they find the ring empty first), but a
        // ring is never overfilled here whatever they do.
        n = n
            .min(LEN as usize / 2)
            .min(LEN as usize - core.runq.ring_len());
        if n == 0 {
            return None;
        }
        let first = s.global.pop_front();
        core.runq.push_back_all(s.global.drain(..n - 1));
        self.global_len.store(s.global.len(), Relaxed);
        first
    }
}
