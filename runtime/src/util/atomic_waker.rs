//! A slot for one `Waker` that a consumer registers and a producer wakes, with no lost
//! wake-up: the classic three-state protocol (idle, registering, waking).
//!
//! A consumer calls `register` and then re-checks its condition; a producer sets the
//! condition and then calls `wake`. Whichever way they interleave, either the consumer's
//! re-check sees the condition or the producer's `wake` sees the registered waker.

use crate::loom::atomic::{AtomicUsize, Ordering::*};
use crate::loom::UnsafeCell;
use std::task::Waker;

const WAITING: usize = 0;
const REGISTERING: usize = 0b01;
const WAKING: usize = 0b10;

pub(crate) struct AtomicWaker {
    /// Who may touch `waker`: the registrar holds REGISTERING, a waker holds WAKING.
    state: AtomicUsize,
    waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: `waker` is only accessed by the thread that moved `state` out of WAITING
// (REGISTERING or WAKING), which excludes every other thread; `Waker` is Send + Sync.
unsafe impl Send for AtomicWaker {}
// SAFETY: as above.
unsafe impl Sync for AtomicWaker {}

impl AtomicWaker {
    pub(crate) fn new() -> AtomicWaker {
        AtomicWaker {
            state: AtomicUsize::new(WAITING),
            waker: UnsafeCell::new(None),
        }
    }

    pub(crate) fn register(&self, waker: &Waker) {
        // Acquire: pairs with the Release that ended the last REGISTERING/WAKING
        // section, so we see the slot as it left it.
        match self
            .state
            .compare_exchange(WAITING, REGISTERING, Acquire, Acquire)
        {
            Ok(_) => {
                // SAFETY: REGISTERING gives us the slot exclusively (see the Sync impl).
                let old = self.waker.with_mut(|slot| unsafe {
                    match &*slot {
                        Some(w) if w.will_wake(waker) => None,
                        _ => (*slot).replace(waker.clone()),
                    }
                });
                // AcqRel: Release publishes the slot to the next waker; Acquire (on
                // failure) sees a concurrent `wake` that could not take the slot.
                let res = self
                    .state
                    .compare_exchange(REGISTERING, WAITING, AcqRel, Acquire);
                if res.is_err() {
                    // A wake arrived while we held the slot: it left the waking to us.
                    // SAFETY: still REGISTERING|WAKING, so still exclusively ours.
                    let w = self.waker.with_mut(|slot| unsafe { (*slot).take() });
                    // AcqRel: hand the slot back; pairs with the next Acquire above.
                    self.state.swap(WAITING, AcqRel);
                    drop(old);
                    if let Some(w) = w {
                        w.wake();
                    }
                    return;
                }
                drop(old);
            }
            Err(WAKING) => {
                // A wake is in progress and may have taken an older waker: wake this
                // one directly so the consumer re-checks.
                waker.wake_by_ref();
            }
            Err(_) => {
                // Concurrent register calls are a caller bug (one consumer only);
                // the JoinHandle is polled through `&mut`, so this cannot happen.
            }
        }
    }

    /// Wakes the registered waker, if any, and empties the slot.
    pub(crate) fn wake(&self) {
        if let Some(w) = self.take() {
            w.wake();
        }
    }

    /// Takes the registered waker out, if the slot is free to take.
    pub(crate) fn take(&self) -> Option<Waker> {
        // AcqRel: Acquire sees the registrar's slot write (its Release back to
        // WAITING); Release pairs with the registrar's failing CAS.
        match self.state.fetch_or(WAKING, AcqRel) {
            WAITING => {
                // SAFETY: we moved WAITING to WAKING: the slot is ours.
                let w = self.waker.with_mut(|slot| unsafe { (*slot).take() });
                // Release: publishes the emptied slot to the next registrar.
                self.state.fetch_and(!WAKING, Release);
                w
            }
            _ => None,
        }
    }
}
