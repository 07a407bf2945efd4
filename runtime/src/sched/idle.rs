//! Idle Ps, idle and spinning Ms, and the wake-up protocol between them (Go's
//! `wakep`/`startm`/`stopm` and the spinning rules of `findRunnable`).
//!
//! A *spinning* M holds a P and is looking for work (stealing). At most one M is
//! woken to spin at a time (`wake_p` only starts one when `nmspinning == 0`), and at
//! most procs/2 spin at once (`find_runnable`), so new work never wakes a herd.
//!
//! No lost wake-up. Work becomes visible in one of two ways:
//! 1. Global queue: pushed under the sched lock, then `wake_p`. An M that releases its
//!    P checks the global queue under the same lock first; so either it sees the G, or
//!    the pusher (whose `wake_p` runs after the unlock) sees the P in `npidle`.
//! 2. A local ring: pushed with a Release store, then `wake_p_after_local_push`:
//!    SeqCst fence, then read `nmspinning` and `npidle`. The last spinning M, before
//!    parking, decrements `nmspinning` (SeqCst), fences, and re-reads every ring. This
//!    is a store-buffering pattern (each side writes one location and reads the
//!    other's): only SeqCst on both sides forbids both reads missing, so one of them
//!    sees the other: the M finds the G, or the pusher sees no spinner and wakes one.
//!    A non-spinning M may park while some ring is non-empty; that ring's own M is
//!    running and will get to its Gs: parallelism is late, nothing is lost.
//! 3. Timers: the timer sleeper (time/driver.rs) is kicked when an earlier timer is
//!    added; with no sleeper, a thread without a P calls `wake_p`.

use super::m;
use super::p::PCore;
use super::Shared;
use crate::loom::atomic::{fence, Ordering::*};
use std::sync::Arc;

impl Shared {
    /// `wakep`: if nobody is spinning and a P is idle, start an M spinning on it.
    pub(crate) fn wake_p(self: &Arc<Self>) {
        // SeqCst on all three: see the module docs, case 2.
        if self.nmspinning.load(SeqCst) != 0 || self.npidle.load(SeqCst) == 0 {
            return;
        }
        if self
            .nmspinning
            .compare_exchange(0, 1, SeqCst, SeqCst)
            .is_err()
        {
            return;
        }
        self.start_m(true);
    }

    /// `wake_p` after a push to this M's ring (module docs, case 2).
    pub(crate) fn wake_p_after_local_push(self: &Arc<Self>) {
        // SeqCst fence: orders the ring's tail store before the loads in `wake_p`;
        // pairs with the fence in `drop_spinning`.
        fence(SeqCst);
        self.wake_p();
    }

    /// `startm`: gives an idle P to an idle M (or a new one). Undoes the caller's
    /// `nmspinning` increment if there is no P to give.
    pub(crate) fn start_m(self: &Arc<Self>, spinning: bool) {
        let mut s = self.sched.lock();
        let Some(p) = (!s.shutdown).then(|| s.idle_ps.pop()).flatten() else {
            drop(s);
            if spinning {
                self.nmspinning.fetch_sub(1, SeqCst);
            }
            return;
        };
        self.npidle.fetch_sub(1, SeqCst);
        if let Some(m) = s.idle_ms.pop() {
            drop(s);
            m.hand(p, spinning);
            return;
        }
        if s.threads >= self.config.max_threads {
            // Every M is busy and no new one may start; a running M will find the
            // work. Put the P back.
            s.idle_ps.push(p);
            self.npidle.fetch_add(1, SeqCst);
            drop(s);
            if spinning {
                self.nmspinning.fetch_sub(1, SeqCst);
            }
            return;
        }
        s.threads += 1;
        let index = s.threads;
        let handle = self.clone();
        let mut builder =
            std::thread::Builder::new().name(format!("{}-{index}", self.config.thread_name));
        if let Some(size) = self.config.stack_size {
            builder = builder.stack_size(size);
        }
        match builder.spawn(move || m::m_main(handle, p, spinning)) {
            Ok(jh) => s.join_handles.push(jh),
            Err(e) => {
                s.threads -= 1;
                drop(s);
                panic!("gort: failed to start an M (OS thread): {e}");
            }
        }
    }

    /// Releases a P to the idle list (`pidleput`). Called with the sched lock held.
    pub(crate) fn put_idle_p(&self, s: &mut super::Sched, p: Box<PCore>) {
        s.idle_ps.push(p);
        self.npidle.fetch_add(1, SeqCst);
    }

    /// Takes an idle P (`pidleget`). Called with the sched lock held.
    pub(crate) fn take_idle_p(&self, s: &mut super::Sched) -> Option<Box<PCore>> {
        let p = s.idle_ps.pop()?;
        self.npidle.fetch_sub(1, SeqCst);
        Some(p)
    }

    /// Whether any P's ring or the global queue has a G (Go's `checkRunqsNoP`).
    pub(crate) fn any_work(&self) -> bool {
        self.global_len.load(SeqCst) != 0 || self.remotes.iter().any(|r| !r.steal.is_empty())
    }
}
