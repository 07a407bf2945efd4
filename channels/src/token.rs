//! The selection token: one per blocked operation or select, shared by all of its
//! cases' entries in the channels' wait queues.
//!
//! A counterpart completes a waiting case only after it has *claimed* the token (CAS
//! `WAITING` → the case's number), so a select completes exactly one case however many
//! of its channels become ready at once (Go's `selectDone`, crossbeam's
//! `Context::try_select`). The owner may instead *abort* it (CAS `WAITING` →
//! `ABORTED`) to stop waiting; whichever CAS wins decides. A token is never reused
//! after it leaves `WAITING`.
//!
//! `nudge` wakes the owner *without* claiming: "something changed, look again" (used
//! for deferred sends, whose value is not given until the case is chosen).
//!
//! The owner's signal (its waker or thread) sits behind a lock of its own, held for a
//! look, a store or a wake: the owner may replace its waker at any time, even after a
//! claim, until the claimer's notify has read it. The lock is a flag whose release is
//! a plain store (`SignalLock`), so a notify costs one locked instruction, where a
//! `Mutex`'s unlock is a second one.

#![allow(unsafe_code)]

use crate::loom::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use crate::loom::thread::Thread;
use crate::loom::{spin_wait, UnsafeCell};
use std::task::Waker;

const WAITING: usize = 0;
const ABORTED: usize = usize::MAX;

#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct Token {
    /// `WAITING`, `case + 1` once claimed for a case, or `ABORTED`.
    state: AtomicUsize,
    /// Set by `nudge`; read and cleared by the owner.
    nudged: AtomicBool,
    signal: SignalLock,
}

pub(crate) enum Signal {
    Task(Waker),
    Thread(Thread),
    /// Nobody: the token of a blank entry kept for its memory (spare.rs), never
    /// queued; or a task's token whose waker a notify has taken.
    Spent,
}

impl Token {
    // `#[inline]` on the small methods: the operations that call them are generic,
    // so they are compiled in the user's crate, where a call into this crate is not
    // inlined otherwise (callgrind: 2% of a waiting message's instructions).
    #[inline]
    pub(crate) fn new(signal: Signal) -> Token {
        Token {
            state: AtomicUsize::new(WAITING),
            nudged: AtomicBool::new(false),
            signal: SignalLock::new(signal),
        }
    }

    /// Claims the token for `case`. Only one claim or abort ever succeeds.
    #[inline]
    pub(crate) fn try_claim(&self, case: usize) -> bool {
        // AcqRel: Release publishes nothing yet (the value moves after the claim, under
        // the channel lock, and is read by the owner under that lock or its slot's);
        // Acquire orders the claim before the hand-off that follows it.
        self.state
            .compare_exchange(WAITING, case + 1, AcqRel, Acquire)
            .is_ok()
    }

    /// True while nobody has claimed or aborted it.
    #[inline]
    pub(crate) fn is_waiting(&self) -> bool {
        self.state.load(Acquire) == WAITING
    }

    /// The claimed case, if any.
    #[inline]
    pub(crate) fn selected(&self) -> Option<usize> {
        // Acquire: pairs with the claim's CAS.
        match self.state.load(Acquire) {
            WAITING | ABORTED => None,
            n => Some(n - 1),
        }
    }

    /// Stops waiting. `Err(case)` when a counterpart claimed it first.
    #[inline]
    pub(crate) fn abort(&self) -> Result<(), usize> {
        match self
            .state
            .compare_exchange(WAITING, ABORTED, AcqRel, Acquire)
        {
            Ok(_) => Ok(()),
            Err(ABORTED) => Ok(()),
            Err(n) => Err(n - 1),
        }
    }

    /// Stores `waker` for the next notify. True when it replaced a different one
    /// (which a notify before this call may have woken instead).
    pub(crate) fn set_waker(&self, waker: &Waker) -> bool {
        self.signal.with(|s| match s {
            Signal::Task(w) if w.will_wake(waker) => false,
            _ => {
                *s = Signal::Task(waker.clone());
                true
            }
        })
    }

    /// Wakes the owner (after a claim, or with `nudge`).
    ///
    /// A task's waker is taken out and woken by value, after the signal lock is
    /// released: a wake by value hands the waker's reference to the run queue, where a
    /// wake by reference takes a new one and the waker's drop later gives the old one
    /// up, one locked instruction more a wait. The owner finds the signal `Spent` if it
    /// polls again still waiting; `set_waker` then stores its waker anew and reports a
    /// replacement, so the owner looks once more (a nudge that found nobody to wake
    /// changed the channel before that look).
    pub(crate) fn notify(&self) {
        let waker = self
            .signal
            .with(|s| match std::mem::replace(s, Signal::Spent) {
                Signal::Task(w) => Some(w),
                // A thread stays: a blocked operation parks again after a nudge.
                Signal::Thread(t) => {
                    t.unpark();
                    *s = Signal::Thread(t);
                    None
                }
                Signal::Spent => None,
            });
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Asks the owner to look again, without claiming.
    pub(crate) fn nudge(&self) {
        // Release: pairs with the Acquire swap in `take_nudge`. A swap, not a store,
        // though its result is unused: loom 0.7 lets a plain store slip between the
        // read and the write of the owner's earlier `take_nudge` swap, so that the
        // owner's next swap misses it and the model reports a deadlock the hardware
        // cannot produce (tokio-rs/loom#254). Deferred sends only: a rare path.
        let _ = self.nudged.swap(true, Release);
        self.notify();
    }

    pub(crate) fn take_nudge(&self) -> bool {
        // Acquire: pairs with the Release in `nudge`.
        self.nudged.swap(false, Acquire)
    }
}

/// A spin lock over the signal. It is held only for a look, a store or a wake, and
/// taken by the notify and by a re-poll that finds the operation still waiting, so a
/// holder rarely meets another; one that does spins, then yields (`spin_wait`). The
/// loom models run it (`loom_recv_future_new_waker_racing_send`: a new waker's store
/// against the claimer's notify).
struct SignalLock {
    locked: AtomicBool,
    signal: UnsafeCell<Signal>,
}

// SAFETY: `signal` is reached only through `with`, which holds `locked`, so no two
// threads touch it at once; what it holds (a `Waker`, a `Thread`) is `Send + Sync`.
unsafe impl Sync for SignalLock {}

impl SignalLock {
    fn new(signal: Signal) -> SignalLock {
        SignalLock {
            locked: AtomicBool::new(false),
            signal: UnsafeCell::new(signal),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Signal) -> R) -> R {
        let mut step = 0;
        // Acquire: pairs with the Release store that ended the last holder's turn.
        while self
            .locked
            .compare_exchange_weak(false, true, Acquire, Relaxed)
            .is_err()
        {
            spin_wait(&mut step);
        }
        /// Ends the turn even if `f` (a waker's code) panics.
        struct Unlock<'a>(&'a AtomicBool);
        impl Drop for Unlock<'_> {
            fn drop(&mut self) {
                // Release: publishes this turn's accesses to the next holder.
                self.0.store(false, Release);
            }
        }
        let _unlock = Unlock(&self.locked);
        // SAFETY: we hold `locked`, so this is the only access to the cell until the
        // store above runs.
        self.signal.with_mut(|p| f(unsafe { &mut *p }))
    }
}
