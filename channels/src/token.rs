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

use crate::loom::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use crate::loom::thread::Thread;
use crate::loom::Mutex;
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
    signal: Mutex<Signal>,
}

pub(crate) enum Signal {
    Task(Waker),
    Thread(Thread),
    /// Nobody: the token of a blank entry kept for its memory (spare.rs), never
    /// queued.
    Spent,
}

impl Token {
    pub(crate) fn new(signal: Signal) -> Token {
        Token {
            state: AtomicUsize::new(WAITING),
            nudged: AtomicBool::new(false),
            signal: Mutex::new(signal),
        }
    }

    /// Claims the token for `case`. Only one claim or abort ever succeeds.
    pub(crate) fn try_claim(&self, case: usize) -> bool {
        // AcqRel: Release publishes nothing yet (the value moves after the claim, under
        // the channel lock, and is read by the owner under that lock or its slot's);
        // Acquire orders the claim before the hand-off that follows it.
        self.state
            .compare_exchange(WAITING, case + 1, AcqRel, Acquire)
            .is_ok()
    }

    /// True while nobody has claimed or aborted it.
    pub(crate) fn is_waiting(&self) -> bool {
        self.state.load(Acquire) == WAITING
    }

    /// The claimed case, if any.
    pub(crate) fn selected(&self) -> Option<usize> {
        // Acquire: pairs with the claim's CAS.
        match self.state.load(Acquire) {
            WAITING | ABORTED => None,
            n => Some(n - 1),
        }
    }

    /// Stops waiting. `Err(case)` when a counterpart claimed it first.
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
        let mut s = self.signal.lock();
        match &*s {
            Signal::Task(w) if w.will_wake(waker) => false,
            _ => {
                *s = Signal::Task(waker.clone());
                true
            }
        }
    }

    /// Wakes the owner (after a claim, or with `nudge`).
    pub(crate) fn notify(&self) {
        match &*self.signal.lock() {
            Signal::Task(w) => w.wake_by_ref(),
            Signal::Thread(t) => t.unpark(),
            Signal::Spent => {}
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
