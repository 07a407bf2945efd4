//! Idle Ps, idle and spinning Ms, and the wake-up protocol between them (Go's
//! `wakep`/`startm`/`stopm` and the spinning rules of `findRunnable`).
//!
//! A *spinning* M holds a P and is looking for work (stealing). At most one M is
//! woken to spin at a time (`wake_p` only starts one when `nmspinning == 0`), and at
//! most procs/2 spin at once (`find_runnable`), so new work never wakes a herd.
//!
//! No lost wake-up. Work becomes visible in one of two ways:
//! 1. Global queue: pushed under the sched lock, then a fenced `wake_p`. An M that
//!    releases its P checks the global queue under the same lock first; so either it
//!    sees the G, or the pusher (whose `wake_p` runs after the unlock) sees the P in
//!    `npidle`. The last *spinning* M re-reads `global_len` after dropping spinning,
//!    outside the lock: that is case 2's store-buffering pattern again, so the pusher
//!    fences too (loom_idle_global_push_vs_last_spinner).
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
use crate::loom::atomic::{fence, AtomicUsize, Ordering::*};
use std::sync::Arc;

/// The two counters of the wake-up protocol. Kept apart from `Shared` so that the loom
/// model (tests/loom_idle.rs) runs the very code the scheduler does.
pub(crate) struct Idle {
    /// Idle Ps. Changed under the sched lock; read lock-free by `try_claim_wake`.
    pub(crate) npidle: AtomicUsize,
    /// Ms spinning (looking for work while holding a P).
    pub(crate) nmspinning: AtomicUsize,
}

impl Idle {
    pub(crate) fn new() -> Idle {
        Idle {
            npidle: AtomicUsize::new(0),
            nmspinning: AtomicUsize::new(0),
        }
    }

    /// `wakep`'s test: true when nobody spins and a P is idle; the caller is then
    /// counted as the one spinner and must start an M (or call `unclaim_wake`).
    pub(crate) fn try_claim_wake(&self) -> bool {
        // SeqCst on all three: module docs, case 2.
        if self.nmspinning.load(SeqCst) != 0 || self.npidle.load(SeqCst) == 0 {
            return false;
        }
        self.nmspinning
            .compare_exchange(0, 1, SeqCst, SeqCst)
            .is_ok()
    }

    /// `try_claim_wake` after a push to a local ring (module docs, case 2).
    pub(crate) fn try_claim_wake_after_local_push(&self) -> bool {
        // SeqCst fence: orders the ring's tail store before the loads of
        // `try_claim_wake`; pairs with the fence in `drop_spinning`.
        fence(SeqCst);
        self.try_claim_wake()
    }

    pub(crate) fn unclaim_wake(&self) {
        self.nmspinning.fetch_sub(1, SeqCst);
    }

    pub(crate) fn start_spinning(&self) {
        self.nmspinning.fetch_add(1, SeqCst);
    }

    /// The spinning-to-parked transition; the caller must then re-check every queue.
    pub(crate) fn drop_spinning(&self) {
        let prev = self.nmspinning.fetch_sub(1, SeqCst);
        debug_assert!(prev > 0);
        // SeqCst fence: pairs with the one in `try_claim_wake_after_local_push`.
        fence(SeqCst);
    }

    /// At most procs/2 spinners, counted against the busy Ps (Go: `2*nmspinning <
    /// gomaxprocs-npidle`).
    pub(crate) fn may_spin(&self, procs: usize) -> bool {
        let busy = procs.saturating_sub(self.npidle.load(SeqCst));
        2 * self.nmspinning.load(SeqCst) < busy
    }

    /// A P went idle; call with the sched lock held.
    pub(crate) fn p_idled(&self) {
        self.npidle.fetch_add(1, SeqCst);
    }

    /// An idle P was taken; call with the sched lock held.
    pub(crate) fn p_taken(&self) {
        self.npidle.fetch_sub(1, SeqCst);
    }
}

impl Shared {
    /// `wakep`: if nobody is spinning and a P is idle, start an M spinning on it.
    pub(crate) fn wake_p(self: &Arc<Self>) {
        if self.idle.try_claim_wake() {
            self.start_m(true);
        }
    }

    /// `wake_p` after a push to a run queue (module docs, cases 1 and 2).
    pub(crate) fn wake_p_after_push(self: &Arc<Self>) {
        if self.idle.try_claim_wake_after_local_push() {
            self.start_m(true);
        }
    }

    /// `startm`: gives an idle P to an idle M (or a new one). Undoes the caller's
    /// `nmspinning` increment if there is no P to give.
    pub(crate) fn start_m(self: &Arc<Self>, spinning: bool) {
        let mut s = self.sched.lock();
        let Some(p) = (!s.shutdown).then(|| self.take_idle_p(&mut s)).flatten() else {
            drop(s);
            if spinning {
                self.idle.unclaim_wake();
            }
            return;
        };
        if let Err(p) = self.run_p_on_m(&mut s, p, spinning) {
            // At the thread limit, every M busy: a running M will find the work.
            self.put_idle_p(&mut s, p);
            drop(s);
            if spinning {
                self.idle.unclaim_wake();
            }
        }
    }

    /// `handoffp`: a P taken from an M stuck in `gort::blocking`. With work to do it
    /// goes to another M (an idle one, or a new one); otherwise to the idle list.
    pub(crate) fn hand_off_p(self: &Arc<Self>, p: Box<PCore>) {
        // The M it came from no longer runs anything on it.
        let remote = &self.remotes[p.id];
        remote.current.store(0, Relaxed);
        *remote.holder.lock() = None;
        let has_work = p.runq.ring_len() > 0
            || p.runq.has_runnext()
            || self.global_len.load(Relaxed) > 0
            || self.timers.has_expired();
        let mut s = self.sched.lock();
        // Relaxed: a statistic.
        self.hand_offs.fetch_add(1, Relaxed);
        if !has_work || s.shutdown {
            self.put_idle_p(&mut s, p);
            return;
        }
        if let Err(p) = self.run_p_on_m(&mut s, p, false) {
            self.put_idle_p(&mut s, p);
            drop(s);
            self.warn_thread_limit();
        }
    }

    /// Gives `p` to an idle M, or starts an M for it. Called with the sched lock held;
    /// `Err` gives the P back when the thread limit is reached.
    fn run_p_on_m(
        self: &Arc<Self>,
        s: &mut super::Sched,
        p: Box<PCore>,
        spinning: bool,
    ) -> Result<(), Box<PCore>> {
        if let Some(m) = s.idle_ms.pop() {
            m.hand(p, spinning);
            return Ok(());
        }
        if s.threads >= self.config.max_threads {
            return Err(p);
        }
        // Threads that exited after their keep-alive are reaped here.
        s.join_handles.retain(|h| !h.is_finished());
        s.threads += 1;
        s.started += 1;
        let index = s.started;
        let handle = self.clone();
        let mut builder =
            std::thread::Builder::new().name(format!("{}-{index}", self.config.thread_name));
        if let Some(size) = self.config.stack_size {
            builder = builder.stack_size(size);
        }
        match builder.spawn(move || m::m_main(handle, p, spinning)) {
            Ok(jh) => {
                s.join_handles.push(jh);
                Ok(())
            }
            Err(e) => panic!("gort: failed to start an M (OS thread): {e}"),
        }
    }

    /// Says once per runtime that work waits for a thread because of `max_threads`.
    pub(crate) fn warn_thread_limit(&self) {
        if !self.thread_limit_warned.swap(true, Relaxed) {
            log::warn!(
                "gort: max_threads ({}) reached: every thread is busy or blocked, so runnable \
                 tasks wait until one returns; raise Builder::max_threads if this is expected",
                self.config.max_threads
            );
            eprintln!(
                "gort: max_threads ({}) reached: every thread is busy or blocked, so runnable \
                 tasks wait until one returns; raise Builder::max_threads if this is expected",
                self.config.max_threads
            );
        }
    }

    /// Releases a P to the idle list (`pidleput`). Called with the sched lock held.
    pub(crate) fn put_idle_p(&self, s: &mut super::Sched, p: Box<PCore>) {
        s.idle_ps.push(p);
        self.idle.p_idled();
    }

    /// Takes an idle P (`pidleget`). Called with the sched lock held.
    pub(crate) fn take_idle_p(&self, s: &mut super::Sched) -> Option<Box<PCore>> {
        let p = s.idle_ps.pop()?;
        self.idle.p_taken();
        Some(p)
    }

    /// Whether any P's ring or the global queue has a G (Go's `checkRunqsNoP`).
    pub(crate) fn any_work(&self) -> bool {
        self.global_len.load(SeqCst) != 0 || self.remotes.iter().any(|r| !r.steal.is_empty())
    }
}
