//! Where a value waits while its operation is blocked: a receiver's slot (a claimed
//! sender fills it) and a sender's slot (a claimed receiver empties it).
//!
//! A slot is shared (inside its `Entry`'s `Arc`) between the blocked operation, its
//! *owner*, and the channel's queue, where a *claimer* finds it. Both slots are a
//! state word and a cell, with no lock of their own:
//!
//! 1. The claimer, and the owner when it abandons a receive, act only under the
//!    channel's lock, so they never overlap each other.
//! 2. The owner, without that lock, reads the cell only once the state says the
//!    claimer is done with it (a `Release` store after the claimer's last access,
//!    read with `Acquire`), or when no claimer can come any more (the owner took its
//!    entry out of the queue and aborted its token, so no claim can succeed).
//! 3. A slot serves one wait: it is never refilled after its outcome is taken.
//!
//! With the buffers (ring.rs, list.rs), the kept entries (spare.rs) and the tokens'
//! signal lock (token.rs), the crate's only `unsafe` code; here, the two cell
//! accesses each rule above allows. The loom models (`tests/`) run it with loom's
//! `UnsafeCell`, which checks that no two accesses overlap.

#![allow(unsafe_code)]

use crate::loom::atomic::{AtomicU8, Ordering::*};
use crate::loom::UnsafeCell;

// RecvSlot states.
const R_EMPTY: u8 = 0;
const R_VALUE: u8 = 1;
const R_CLOSED: u8 = 2;
/// The claim was for a deferred send that was then given up: select again.
const R_RETRY: u8 = 3;
/// The receiver went away after the claim, before the value came.
const R_ABANDONED: u8 = 4;
/// The owner took the value out.
const R_TAKEN: u8 = 5;

pub(crate) struct RecvSlot<T> {
    state: AtomicU8,
    /// Holds a value exactly when the state is `R_VALUE`.
    value: UnsafeCell<Option<T>>,
}

// SAFETY: the value moves between the claimer's and the owner's threads, so `T: Send`
// is needed and enough; the accesses themselves are ordered by the state word (module
// doc, rules 1 and 2), so sharing a `&RecvSlot` never lets two threads at the cell at
// once.
unsafe impl<T: Send> Send for RecvSlot<T> {}
// SAFETY: as for `Send`.
unsafe impl<T: Send> Sync for RecvSlot<T> {}

/// What a claimed receiver finds in its slot.
pub(crate) enum RecvOutcome<T> {
    Value(T),
    Closed,
    Retry,
    /// Claimed by a deferred send whose value is still to come.
    Pending,
}

impl<T> RecvSlot<T> {
    pub(crate) fn new() -> RecvSlot<T> {
        RecvSlot {
            state: AtomicU8::new(R_EMPTY),
            value: UnsafeCell::new(None),
        }
    }

    /// Fills the slot (`None`: the channel closed). Gives the value back if the
    /// receiver has gone. Claimer only, under the channel's lock.
    pub(crate) fn put(&self, value: Option<T>) -> Result<(), Option<T>> {
        // Relaxed: the only other writer under the channel's lock is `abandon`, and
        // the lock orders us after it.
        if self.state.load(Relaxed) == R_ABANDONED {
            return Err(value);
        }
        let state = match value {
            Some(v) => {
                // SAFETY: rule 1: no other claimer, and the owner reads the cell only
                // after the Release store below (rule 2).
                self.value.with_mut(|p| unsafe { *p = Some(v) });
                R_VALUE
            }
            None => R_CLOSED,
        };
        // Release: publishes the value to the owner's Acquire load in `take`.
        self.state.store(state, Release);
        Ok(())
    }

    /// Tells the owner to select again. Claimer only, under the channel's lock.
    pub(crate) fn retry(&self) {
        if self.state.load(Relaxed) == R_EMPTY {
            // Release: pairs with the Acquire in `take` (no data to publish, but the
            // owner must not see the retry before the claim that came with it).
            self.state.store(R_RETRY, Release);
        }
    }

    /// The owner collects what the claimer left.
    pub(crate) fn take(&self) -> RecvOutcome<T> {
        // Acquire: pairs with the Release in `put` / `retry`.
        match self.state.load(Acquire) {
            R_VALUE => {
                self.state.store(R_TAKEN, Relaxed);
                // SAFETY: rule 2: the claimer stored R_VALUE after its last access,
                // and no other claimer can come (the token was claimed once).
                let v = self.value.with_mut(|p| unsafe { (*p).take() });
                RecvOutcome::Value(v.expect("R_VALUE holds a value"))
            }
            R_CLOSED => RecvOutcome::Closed,
            R_RETRY => RecvOutcome::Retry,
            _ => RecvOutcome::Pending,
        }
    }

    /// The receiver is going away after its claim: returns a value that arrived, to
    /// be put back into the channel; otherwise marks the slot so none arrives. Owner
    /// only, under the channel's lock (so never during a `put`).
    pub(crate) fn abandon(&self) -> Option<T> {
        match self.state.swap(R_ABANDONED, AcqRel) {
            // SAFETY: rule 1: the claimer that stored R_VALUE did so under the lock we
            // hold now, so it is done; nobody else reads the cell.
            R_VALUE => self.value.with_mut(|p| unsafe { (*p).take() }),
            _ => None,
        }
    }
}

// SendSlot states.
const S_VALUE: u8 = 0;
const S_TAKEN: u8 = 1;
/// The channel closed (or lost its receivers): the value stays, to come back.
const S_FAILED: u8 = 2;
/// A `Select::send` case: no value until chosen; never claimed, only nudged.
const S_DEFERRED: u8 = 3;
/// The owner took back the value or the outcome.
const S_DONE: u8 = 4;

pub(crate) struct SendSlot<T> {
    state: AtomicU8,
    /// Holds the value while the state is `S_VALUE` or `S_FAILED`.
    value: UnsafeCell<Option<T>>,
    deferred: bool,
}

// SAFETY: as for `RecvSlot`: the value moves between threads (`T: Send`), and the
// state word orders every access to the cell.
unsafe impl<T: Send> Send for SendSlot<T> {}
// SAFETY: as for `Send`.
unsafe impl<T: Send> Sync for SendSlot<T> {}

/// How a blocked send ended.
pub(crate) enum SendOutcome<T> {
    Sent,
    Failed(T),
    /// Not completed: the value is still ours.
    NotSent(T),
    Deferred,
}

impl<T> SendSlot<T> {
    pub(crate) fn with_value(value: T) -> SendSlot<T> {
        SendSlot {
            state: AtomicU8::new(S_VALUE),
            value: UnsafeCell::new(Some(value)),
            deferred: false,
        }
    }

    pub(crate) fn deferred() -> SendSlot<T> {
        SendSlot {
            state: AtomicU8::new(S_DEFERRED),
            value: UnsafeCell::new(None),
            deferred: true,
        }
    }

    pub(crate) fn is_deferred(&self) -> bool {
        self.deferred
    }

    /// A claimed receiver takes the value. Claimer only, under the channel's lock.
    pub(crate) fn take(&self) -> Option<T> {
        if self.state.load(Relaxed) != S_VALUE {
            return None;
        }
        // SAFETY: rule 1 (we are the one claimer), and the owner reads the cell only
        // after seeing S_FAILED, or after an abort that our claim would have beaten.
        let v = self.value.with_mut(|p| unsafe { (*p).take() });
        // Release: the owner's Acquire in `finished` then knows the cell is ours no
        // more.
        self.state.store(S_TAKEN, Release);
        v
    }

    /// The channel closed under a claimed sender. Claimer only, under the lock.
    pub(crate) fn fail(&self) {
        if self.state.load(Relaxed) == S_VALUE {
            // Release: pairs with the owner's Acquire in `finished`, which then reads
            // the value back from the cell.
            self.state.store(S_FAILED, Release);
        }
    }

    /// The outcome once a claimer has finished with the slot: `None` while the value
    /// is still there (the claimer holds the channel lock and is about to take it).
    pub(crate) fn finished(&self) -> Option<Result<(), T>> {
        // Acquire: pairs with the Release in `take` / `fail`.
        match self.state.load(Acquire) {
            S_TAKEN => {
                self.state.store(S_DONE, Relaxed);
                Some(Ok(()))
            }
            S_FAILED => {
                self.state.store(S_DONE, Relaxed);
                // SAFETY: rule 2: the claimer stored S_FAILED after it was done.
                let v = self.value.with_mut(|p| unsafe { (*p).take() });
                Some(Err(v.expect("S_FAILED keeps the value")))
            }
            _ => None,
        }
    }

    /// The owner collects the outcome (and the value, unless it was sent), after an
    /// abort: no claimer can come any more.
    pub(crate) fn outcome(&self) -> SendOutcome<T> {
        // Acquire: pairs with the Release in `take` / `fail` of a claim that beat the
        // abort.
        match self.state.load(Acquire) {
            S_TAKEN => {
                self.state.store(S_DONE, Relaxed);
                SendOutcome::Sent
            }
            S_DEFERRED => SendOutcome::Deferred,
            st @ (S_VALUE | S_FAILED) => {
                self.state.store(S_DONE, Relaxed);
                // SAFETY: rule 2: the token is aborted or the claimer is done (state
                // S_FAILED), so no claimer touches the cell again.
                let v = self.value.with_mut(|p| unsafe { (*p).take() });
                let v = v.expect("S_VALUE and S_FAILED hold the value");
                if st == S_VALUE {
                    SendOutcome::NotSent(v)
                } else {
                    SendOutcome::Failed(v)
                }
            }
            _ => unreachable!("a send slot's outcome was collected twice"),
        }
    }
}
