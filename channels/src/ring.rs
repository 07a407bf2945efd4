//! The buffer of a bounded channel (capacity at least 1): a ring that senders and
//! receivers use *without* the channel's lock while nobody waits on the channel, and
//! that only the lock's holder uses otherwise.
//!
//! The ring is crossbeam-channel's array flavor (Dmitry Vyukov's bounded queue): each
//! slot has a stamp saying whether it holds a value for the current lap, and `head` and
//! `tail` are positions (`lap | index`) that a pop or a push claims with a CAS before it
//! reads or writes the slot. Positions only grow, so their sum is a version: it moves
//! with every push and pop (chan.rs, invariant 4).
//!
//! Two states, told by the `FROZEN` bit, set in both positions together:
//! - **open**: no waiter, no reservation, nothing put back, not closed. Any thread
//!   pushes and pops with `push_open` / `pop_open`: then the channel's state is the
//!   ring's alone, and needs no lock.
//! - **frozen**: the lock's holder set the bit (`freeze`) when it took the lock. A CAS
//!   on a position with the bit fails, so no open operation starts any more; one that
//!   claimed its position before the bit finishes its one slot access, and the holder
//!   waits for that slot's stamp before it touches the slot itself. From then on the
//!   holder is the ring's only user (`push_frozen`, `pop_frozen`) and its Go-style
//!   protocol (chan.rs) sees a buffer nobody else changes. It clears the bit
//!   (`thaw`) before it unlocks, if the channel is back to the open state's
//!   conditions.
//!
//! With list.rs, slot.rs, spare.rs and token.rs, the crate's only `unsafe` code: the
//! slot cells, each accessed by the one operation whose position claim covers it. The
//! loom models (`tests/loom_ring.rs`) run it with loom's `UnsafeCell`, which checks
//! that no two accesses overlap.

#![allow(unsafe_code)]

use crate::buffer::Popped;
use crate::loom::atomic::{fence, AtomicUsize, Ordering::*};
use crate::loom::{spin_wait, UnsafeCell};
use crossbeam_utils::CachePadded;
use std::mem::MaybeUninit;

struct Slot<T> {
    /// `position + 1` once written for `position`; `position + one_lap` once read, so
    /// free for the next lap's push at that index.
    stamp: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

pub(crate) struct Ring<T> {
    head: CachePadded<AtomicUsize>,
    tail: CachePadded<AtomicUsize>,
    slots: Box<[Slot<T>]>,
    cap: usize,
    /// The bit between the index and the lap: set in both positions while frozen.
    frozen: usize,
    /// The step from one lap to the next: twice `frozen`.
    one_lap: usize,
}

// SAFETY: values move between threads through the slots (`T: Send`); every cell
// access is covered by the position claim of one operation (module doc), so sharing a
// `&Ring` never lets two threads at one cell.
unsafe impl<T: Send> Send for Ring<T> {}
// SAFETY: as for `Send`.
unsafe impl<T: Send> Sync for Ring<T> {}

impl<T> Ring<T> {
    pub(crate) fn new(cap: usize) -> Ring<T> {
        assert!(cap > 0, "a ring holds at least one value");
        let frozen = (cap + 1).next_power_of_two();
        let slots = (0..cap)
            .map(|i| Slot {
                // Free for the push at position `i` of lap 0.
                stamp: AtomicUsize::new(i),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        Ring {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            slots,
            cap,
            frozen,
            one_lap: frozen * 2,
        }
    }

    /// The position after `pos` (`pos` without the frozen bit).
    fn next(&self, pos: usize) -> usize {
        let index = pos & (self.frozen - 1);
        if index + 1 < self.cap {
            pos + 1
        } else {
            (pos & !(self.one_lap - 1)).wrapping_add(self.one_lap)
        }
    }

    fn slot(&self, pos: usize) -> &Slot<T> {
        &self.slots[pos & (self.frozen - 1)]
    }

    /// Pushes unless the ring is frozen or looks full: `Err` gives the value back, and
    /// the caller goes to the channel's lock (which alone says "full").
    pub(crate) fn push_open(&self, value: T) -> Result<(), T> {
        let mut step = 0;
        // Relaxed: a hint; the stamp's Acquire load and the CAS decide.
        let mut tail = self.tail.load(Relaxed);
        loop {
            if tail & self.frozen != 0 {
                return Err(value);
            }
            let slot = self.slot(tail);
            // Acquire: pairs with the Release stamp store of the pop that freed the
            // slot, so our write comes after its read.
            let stamp = slot.stamp.load(Acquire);
            if stamp == tail {
                // SeqCst: puts the claims of both positions in one total order with
                // the fence of an "empty" verdict (`pop_open`) and the version reads
                // (`open_positions`), so neither misses a claim that came before it.
                match self
                    .tail
                    .compare_exchange_weak(tail, self.next(tail), SeqCst, Relaxed)
                {
                    Ok(_) => {
                        // SAFETY: our CAS claimed position `tail`, whose slot the
                        // stamp showed free: no other push claims it this lap, and no
                        // pop reads it before our stamp store below.
                        slot.value.with_mut(|p| unsafe { (*p).write(value) });
                        // Release: publishes the value to the pop's Acquire stamp load.
                        slot.stamp.store(tail + 1, Release);
                        return Ok(());
                    }
                    Err(t) => tail = t,
                }
            } else if stamp.wrapping_add(self.one_lap) == tail + 1 {
                // The slot holds last lap's value: full, or a pop is under way. The
                // lock tells which (and a sender that finds it full waits there).
                return Err(value);
            } else {
                // Another push claimed this position and is writing: look again.
                spin_wait(&mut step);
                tail = self.tail.load(Relaxed);
            }
        }
    }

    /// Pops unless the ring is frozen or empty. `verdict`: an empty ring's `Empty`
    /// holds at a point of the claims' total order and carries the positions; without
    /// it, `Empty(0)` is a hint that costs no fence and no look at the tail.
    pub(crate) fn pop_open(&self, verdict: bool) -> Popped<T> {
        let mut step = 0;
        // Relaxed: a hint, as in `push_open`.
        let mut head = self.head.load(Relaxed);
        loop {
            if head & self.frozen != 0 {
                return Popped::AskLock;
            }
            let slot = self.slot(head);
            // Acquire: pairs with the push's Release stamp store.
            let stamp = slot.stamp.load(Acquire);
            if stamp == head + 1 {
                // SeqCst: as in `push_open`.
                match self
                    .head
                    .compare_exchange_weak(head, self.next(head), SeqCst, Relaxed)
                {
                    Ok(_) => {
                        // SAFETY: our CAS claimed position `head`, whose slot the stamp
                        // showed written for it: no other pop claims it, and no push
                        // writes it before our stamp store below.
                        let v = slot.value.with_mut(|p| unsafe { (*p).assume_init_read() });
                        // Release: the next lap's push reads the stamp with Acquire,
                        // so our read comes before its write.
                        slot.stamp.store(head.wrapping_add(self.one_lap), Release);
                        return Popped::Value(v);
                    }
                    Err(h) => head = h,
                }
            } else if stamp == head {
                // Not written for this lap: empty, unless a push is under way.
                if !verdict {
                    return Popped::Empty(0);
                }
                // SeqCst: with the SeqCst claims, puts this look at the tail in one
                // total order with every claim of either position, so "empty" holds
                // at a point of that order (select.rs, "one instant").
                fence(SeqCst);
                let tail = self.tail.load(Relaxed);
                if tail == head {
                    return Popped::Empty(head.wrapping_add(tail));
                }
                if tail & self.frozen != 0 {
                    return Popped::AskLock;
                }
                spin_wait(&mut step);
                head = self.head.load(Relaxed);
            } else {
                // Another pop claimed this position and is reading: look again.
                spin_wait(&mut step);
                head = self.head.load(Relaxed);
            }
        }
    }

    /// The sum of both positions if the ring is open (the version's share of the
    /// ring), `None` if frozen.
    pub(crate) fn open_positions(&self) -> Option<usize> {
        // SeqCst: read in the same total order as the claims (`push_open`), so a
        // version read after a verdict sees every claim the verdict saw.
        let tail = self.tail.load(SeqCst);
        let head = self.head.load(SeqCst);
        if (head | tail) & self.frozen != 0 {
            return None;
        }
        Some(head.wrapping_add(tail))
    }

    /// Sets the frozen bit: from now on no open operation starts. Lock holder only.
    pub(crate) fn freeze(&self) {
        // Relaxed: only lock holders set or clear the bit, and the lock orders them.
        // Still frozen from the last holder (somebody waits): nothing to do.
        if self.tail.load(Relaxed) & self.frozen != 0 {
            return;
        }
        // SeqCst: an open operation's claim either precedes this in the total order
        // (and the holder waits for its slot's stamp) or fails on the bit.
        self.tail.fetch_or(self.frozen, SeqCst);
        self.head.fetch_or(self.frozen, SeqCst);
    }

    /// Clears the frozen bit. Lock holder only, after `freeze`.
    pub(crate) fn thaw(&self) {
        // Release: publishes the holder's slot accesses to the open operations that
        // load the positions next (their stamp loads pair with our stamp stores too).
        // A plain store: no open operation changes a frozen position.
        self.tail
            .store(self.tail.load(Relaxed) & !self.frozen, Release);
        self.head
            .store(self.head.load(Relaxed) & !self.frozen, Release);
    }

    /// Both positions without the frozen bit. Lock holder only, frozen.
    fn frozen_positions(&self) -> (usize, usize) {
        // Relaxed: frozen, only the holder moves them (open claims made before the
        // freeze are ordered by the freeze's RMW on the same word).
        (
            self.head.load(Relaxed) & !self.frozen,
            self.tail.load(Relaxed) & !self.frozen,
        )
    }

    /// The version's share of the ring. Lock holder only, frozen.
    pub(crate) fn frozen_sum(&self) -> usize {
        let (head, tail) = self.frozen_positions();
        head.wrapping_add(tail)
    }

    /// Values held, counting a push under way and not a pop under way. Frozen.
    pub(crate) fn len(&self) -> usize {
        let (head, tail) = self.frozen_positions();
        let hix = head & (self.frozen - 1);
        let tix = tail & (self.frozen - 1);
        if hix < tix {
            tix - hix
        } else if hix > tix {
            self.cap - hix + tix
        } else if head == tail {
            0
        } else {
            self.cap
        }
    }

    /// Pushes; the caller checked that `len() < cap`. Lock holder only, frozen.
    pub(crate) fn push_frozen(&self, value: T) {
        let (_, tail) = self.frozen_positions();
        let slot = self.slot(tail);
        let mut step = 0;
        // Acquire: pairs with the Release stamp store of a pop of the last lap that
        // claimed this slot before the freeze and may still be reading it.
        while slot.stamp.load(Acquire) != tail {
            spin_wait(&mut step);
        }
        // SAFETY: frozen, we are the only one to claim positions; the stamp shows the
        // last reader done, so nobody else touches this cell.
        slot.value.with_mut(|p| unsafe { (*p).write(value) });
        // Release: pairs with the Acquire stamp load of the pop that takes it.
        slot.stamp.store(tail + 1, Release);
        // Relaxed would do for us; Release for an open pop after the thaw, which
        // reads the position and then the stamp.
        self.tail.store(self.next(tail) | self.frozen, Release);
    }

    /// Pops the oldest value, if any. Lock holder only, frozen.
    pub(crate) fn pop_frozen(&self) -> Option<T> {
        if self.len() == 0 {
            return None;
        }
        let (head, _) = self.frozen_positions();
        let slot = self.slot(head);
        let mut step = 0;
        // Acquire: pairs with the Release stamp store of a push that claimed this
        // slot before the freeze and may still be writing it.
        while slot.stamp.load(Acquire) != head + 1 {
            spin_wait(&mut step);
        }
        // SAFETY: frozen, we are the only one to claim positions; the stamp shows the
        // value written and nobody else reads it.
        let v = slot.value.with_mut(|p| unsafe { (*p).assume_init_read() });
        // Release: pairs with the Acquire stamp load of the next lap's push.
        slot.stamp.store(head.wrapping_add(self.one_lap), Release);
        self.head.store(self.next(head) | self.frozen, Release);
        Some(v)
    }
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        // `&mut self`: every operation has ended, so every claimed slot is written.
        self.freeze();
        while self.pop_frozen().is_some() {}
    }
}
