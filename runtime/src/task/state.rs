//! The G's state word: every transition a task goes through is one CAS here.
//!
//! Layout of the `usize` (low bits first):
//!
//! | bit | name            | set by                               | cleared by                    |
//! |-----|-----------------|--------------------------------------|-------------------------------|
//! | 0   | `RUNNING`       | the M that pops it, or shutdown      | the same M when the poll ends |
//! | 1   | `COMPLETE`      | the runner (output stored)           | never                         |
//! | 2   | `NOTIFIED`      | a wake; exactly one queue entry owns it | `transition_to_running`    |
//! | 3   | `JOIN_INTEREST` | spawn                                | dropping the `JoinHandle`     |
//! | 4   | `CANCELLED`     | `abort`, runtime shutdown            | never                         |
//! | 6.. | reference count | clones of wakers, queue entries, the `JoinHandle`, the owned list |  |
//!
//! Invariants:
//! 1. `NOTIFIED` is set if and only if exactly one `Notified` reference to the task
//!    exists (in a run queue, or in the hands of the M about to run it). This is what
//!    makes "every G runs exactly once per wake" hold: a wake that finds `NOTIFIED`
//!    already set does nothing.
//! 2. Only the holder of `RUNNING` touches the future. `RUNNING` and `COMPLETE` are
//!    never set together.
//! 3. After `COMPLETE`, the output belongs to the `JoinHandle` if `JOIN_INTEREST` was
//!    set at that moment, otherwise to the completing M, which drops it. Both bits
//!    change only by CAS/RMW on this word, so exactly one side drops it.
//!
//! All transitions use `AcqRel`: each both publishes what its thread wrote to the task
//! (the output, the future's state) and acquires what the previous owner wrote.

use crate::loom::atomic::{AtomicUsize, Ordering::*};
use std::fmt;

const RUNNING: usize = 1 << 0;
const COMPLETE: usize = 1 << 1;
const NOTIFIED: usize = 1 << 2;
const JOIN_INTEREST: usize = 1 << 3;
const CANCELLED: usize = 1 << 4;
const REF_SHIFT: usize = 6;
const REF_ONE: usize = 1 << REF_SHIFT;
const LIFECYCLE: usize = RUNNING | COMPLETE;

pub(crate) struct State(AtomicUsize);

#[derive(Clone, Copy)]
pub(crate) struct Snapshot(usize);

#[must_use]
pub(crate) enum TransitionToRunning {
    /// Poll the future.
    Success,
    /// The task was aborted or shut down while queued: drop the future instead.
    Cancelled,
    /// Someone else owns it (shutdown raced ahead): just drop the queue's reference.
    Failed,
}

#[must_use]
pub(crate) enum TransitionToIdle {
    /// Idle; the runner's reference was given up with the same step.
    Ok,
    /// As `Ok`, and that reference was the last: the runner must free the task.
    OkDealloc,
    /// Woken during its poll: the runner must queue it again, handing over the
    /// reference it ran with.
    OkNotified,
    /// Aborted during its poll: the runner still holds `RUNNING` and must cancel it.
    Cancelled,
}

#[must_use]
pub(crate) enum TransitionToNotified {
    DoNothing,
    /// Queue it: the caller now holds the `Notified` reference.
    Submit,
    /// The last reference went away: free the task.
    Dealloc,
}

impl State {
    /// A new task: notified (it is about to be queued), with three references: the
    /// owned list's, the first `Notified`'s and the `JoinHandle`'s.
    pub(crate) fn new() -> State {
        // Two references: the first `Notified` and the `JoinHandle`.
        State(AtomicUsize::new(NOTIFIED | JOIN_INTEREST | (2 * REF_ONE)))
    }

    pub(crate) fn load(&self) -> Snapshot {
        // Acquire: pairs with the AcqRel of `transition_to_complete`, so a reader that
        // sees COMPLETE also sees the output.
        Snapshot(self.0.load(Acquire))
    }

    fn update<T>(&self, mut f: impl FnMut(Snapshot) -> (T, Option<Snapshot>)) -> T {
        let mut cur = self.0.load(Acquire);
        loop {
            let (ret, next) = f(Snapshot(cur));
            let Some(next) = next else { return ret };
            // AcqRel: see the module docs; every transition hands the task over.
            match self.0.compare_exchange_weak(cur, next.0, AcqRel, Acquire) {
                Ok(_) => return ret,
                Err(actual) => cur = actual,
            }
        }
    }

    // `#[inline]` here and on the other calls of a poll (`CurrentTask`, `RawTask`):
    // `Harness::poll` is generic, so it is compiled in the crate that spawns, where a
    // call into this crate is not inlined otherwise (callgrind: 2% of a channel
    // message's instructions at one P went to these calls).
    #[inline]
    pub(crate) fn transition_to_running(&self) -> TransitionToRunning {
        self.update(|s| {
            debug_assert!(s.is_notified());
            if s.0 & LIFECYCLE != 0 {
                return (TransitionToRunning::Failed, None);
            }
            let next = Snapshot((s.0 & !NOTIFIED) | RUNNING);
            if s.is_cancelled() {
                (TransitionToRunning::Cancelled, Some(next))
            } else {
                (TransitionToRunning::Success, Some(next))
            }
        })
    }

    /// Ends a poll that returned `Pending`. `yielded`: the G asked to run again
    /// (`task::request_yield`), as if it had woken itself during the poll.
    #[inline]
    pub(crate) fn transition_to_idle(&self, yielded: bool) -> TransitionToIdle {
        self.update(|s| {
            debug_assert!(s.is_running());
            if s.is_cancelled() {
                return (TransitionToIdle::Cancelled, None);
            }
            let mut next = s.0 & !RUNNING;
            if yielded {
                next |= NOTIFIED;
            }
            if next & NOTIFIED != 0 {
                // The runner's reference becomes the new queue entry's: no count change.
                (TransitionToIdle::OkNotified, Some(Snapshot(next)))
            } else {
                // The runner's reference goes in the same CAS: a separate `ref_dec`
                // would be a second locked instruction on every poll that waits.
                let next = Snapshot(next - REF_ONE);
                if next.ref_count() == 0 {
                    (TransitionToIdle::OkDealloc, Some(next))
                } else {
                    (TransitionToIdle::Ok, Some(next))
                }
            }
        })
    }

    /// Sets `COMPLETE` and clears `RUNNING`; returns the state from just before.
    pub(crate) fn transition_to_complete(&self) -> Snapshot {
        // AcqRel: Release publishes the stored output to the JoinHandle (pairs with the
        // Acquire in `load`); Acquire sees a concurrent JoinHandle drop.
        let prev = Snapshot(self.0.fetch_xor(RUNNING | COMPLETE, AcqRel));
        debug_assert!(prev.is_running() && !prev.is_complete());
        prev
    }

    /// A wake that consumes the waker's reference.
    pub(crate) fn transition_to_notified_by_val(&self) -> TransitionToNotified {
        self.update(|s| {
            if s.is_running() {
                // The runner re-queues it in `transition_to_idle`; drop our reference
                // (the runner holds one, so this is never the last).
                let next = Snapshot((s.0 | NOTIFIED) - REF_ONE);
                (TransitionToNotified::DoNothing, Some(next))
            } else if s.is_complete() || s.is_notified() {
                let next = Snapshot(s.0 - REF_ONE);
                if next.ref_count() == 0 {
                    (TransitionToNotified::Dealloc, Some(next))
                } else {
                    (TransitionToNotified::DoNothing, Some(next))
                }
            } else {
                // Our reference becomes the Notified's.
                (TransitionToNotified::Submit, Some(Snapshot(s.0 | NOTIFIED)))
            }
        })
    }

    /// A wake that keeps the waker: a queued entry needs a reference of its own.
    pub(crate) fn transition_to_notified_by_ref(&self) -> TransitionToNotified {
        self.update(|s| {
            if s.is_complete() || s.is_notified() {
                (TransitionToNotified::DoNothing, None)
            } else if s.is_running() {
                (
                    TransitionToNotified::DoNothing,
                    Some(Snapshot(s.0 | NOTIFIED)),
                )
            } else {
                let next = Snapshot((s.0 | NOTIFIED) + REF_ONE);
                (TransitionToNotified::Submit, Some(next))
            }
        })
    }

    /// `abort`: returns true when the caller must queue the task (a reference was added)
    /// so that an M drops its future promptly.
    pub(crate) fn transition_to_notified_and_cancel(&self) -> bool {
        self.update(|s| {
            if s.is_complete() || s.is_cancelled() {
                (false, None)
            } else if s.is_running() || s.is_notified() {
                // The runner (or the M that pops it) sees CANCELLED.
                (false, Some(Snapshot(s.0 | CANCELLED)))
            } else {
                let next = Snapshot((s.0 | NOTIFIED | CANCELLED) + REF_ONE);
                (true, Some(next))
            }
        })
    }

    /// Shutdown: marks the task cancelled and, if nobody is running it, takes `RUNNING`
    /// so the caller may drop the future. Returns whether it did.
    pub(crate) fn transition_to_shutdown(&self) -> bool {
        self.update(|s| {
            let idle = s.0 & LIFECYCLE == 0;
            let mut next = s.0 | CANCELLED;
            if idle {
                next |= RUNNING;
            }
            (idle, Some(Snapshot(next)))
        })
    }

    /// Dropping the `JoinHandle`. `Err` when the task is already complete: the caller
    /// then owns the output and must drop it.
    pub(crate) fn unset_join_interested(&self) -> Result<(), Snapshot> {
        self.update(|s| {
            debug_assert!(s.is_join_interested());
            if s.is_complete() {
                (Err(s), None)
            } else {
                (Ok(()), Some(Snapshot(s.0 & !JOIN_INTEREST)))
            }
        })
    }

    pub(crate) fn ref_inc(&self) {
        // Relaxed: a new reference is made from an existing one, which keeps the task
        // alive meanwhile (as `Arc::clone`).
        let prev = self.0.fetch_add(REF_ONE, Relaxed);
        if prev > isize::MAX as usize {
            std::process::abort();
        }
    }

    /// Returns true when this was the last reference.
    pub(crate) fn ref_dec(&self) -> bool {
        self.ref_dec_n(1)
    }

    pub(crate) fn ref_dec_n(&self, n: usize) -> bool {
        // AcqRel: Release hands our writes to whoever frees the task; Acquire (on the
        // last reference) sees everyone else's before we free it (as `Arc::drop`).
        let prev = Snapshot(self.0.fetch_sub(n * REF_ONE, AcqRel));
        debug_assert!(prev.ref_count() >= n);
        prev.ref_count() == n
    }
}

impl Snapshot {
    pub(crate) fn is_running(self) -> bool {
        self.0 & RUNNING != 0
    }
    pub(crate) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }
    pub(crate) fn is_notified(self) -> bool {
        self.0 & NOTIFIED != 0
    }
    pub(crate) fn is_join_interested(self) -> bool {
        self.0 & JOIN_INTEREST != 0
    }
    pub(crate) fn is_cancelled(self) -> bool {
        self.0 & CANCELLED != 0
    }
    pub(crate) fn ref_count(self) -> usize {
        self.0 >> REF_SHIFT
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("running", &self.is_running())
            .field("complete", &self.is_complete())
            .field("notified", &self.is_notified())
            .field("join_interest", &self.is_join_interested())
            .field("cancelled", &self.is_cancelled())
            .field("refs", &self.ref_count())
            .finish()
    }
}
