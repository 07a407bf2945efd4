//! The buffer of an unbounded channel: a list of blocks that senders and receivers
//! use without the channel's lock while nobody waits, and that only the lock's holder
//! uses otherwise. The same two states as the bounded ring (ring.rs: *open*, and
//! *frozen* by the lock's holder), here over crossbeam-channel's list flavor.
//!
//! Positions count slots; each block holds `LAP - 1` values and the position at its
//! last offset is skipped: a push that claims the last slot of a block installs the
//! next block and moves the tail past it, and a pop that claims it moves the head
//! past it once that block is linked. The pop that claims the last slot of a block
//! waits until every other slot's reader is done (each sets its `read` flag, a
//! store: no pop pays a second locked instruction), then keeps the block as the
//! spare that the next push needing a block takes, or frees it if there is one.
//! Reusing a block cannot confuse anyone holding its address from before: a claim is
//! a CAS on the position's index, which only ever grows, and nothing dereferences a
//! block pointer before its claim succeeds.
//!
//! Low bits of the positions: `FROZEN` in both (as in the ring: a claim's CAS fails on
//! it), and `HINT` in the head, set when the tail is in a later block, so a pop need
//! not read the tail. Every update of a position after its claim is itself an RMW, so
//! a freeze meanwhile is never lost.
//!
//! With ring.rs, slot.rs, spare.rs and token.rs, the crate's only `unsafe` code: the
//! value cells, each accessed by the one operation whose claim covers it, and the
//! blocks' allocation.

#![allow(unsafe_code)]

use crate::buffer::Popped;
use crate::loom::atomic::{fence, AtomicBool, AtomicPtr, AtomicUsize, Ordering::*};
use crate::loom::{spin_wait, UnsafeCell};
use crate::spare::Spare;
use crossbeam_utils::CachePadded;
use std::mem::MaybeUninit;
use std::ptr;

/// Positions per block; the last is skipped. Small under loom so that the models
/// cross blocks.
#[cfg(not(loom))]
const LAP: usize = 32;
#[cfg(loom)]
const LAP: usize = 3;
const BLOCK_CAP: usize = LAP - 1;
/// Positions move in steps of `1 << SHIFT`; the bits below are flags.
const SHIFT: usize = 2;
/// Head only: the tail is in a later block.
const HINT: usize = 1;
const FROZEN: usize = 2;

/// A block of `BLOCK_CAP` slots. The flags are in arrays of their own, apart from the
/// values: a cache line of values then holds as many as it can, and the flags, one
/// byte each, hold a block's worth in one line. `repr(C)` keeps the writers' flags
/// (`written`) and the readers' (`read`) at the two ends, away from each other.
#[repr(C)]
struct Block<T> {
    next: AtomicPtr<Block<T>>,
    /// Set once per slot by its push, a store, after the value is written.
    written: [AtomicBool; BLOCK_CAP],
    values: [UnsafeCell<MaybeUninit<T>>; BLOCK_CAP],
    /// Set once per slot by its pop, a store, after the value is read; the last slot's
    /// pop does not set its own: it is the one that waits for the others.
    read: [AtomicBool; BLOCK_CAP],
}

impl<T> Block<T> {
    fn new() -> Box<Block<T>> {
        Box::new(Block {
            next: AtomicPtr::new(ptr::null_mut()),
            written: std::array::from_fn(|_| AtomicBool::new(false)),
            values: std::array::from_fn(|_| UnsafeCell::new(MaybeUninit::uninit())),
            read: std::array::from_fn(|_| AtomicBool::new(false)),
        })
    }

    /// Makes a block whose every value has been read as good as new. `&mut`: nobody
    /// else holds it.
    fn reset(&mut self) {
        self.next = AtomicPtr::new(ptr::null_mut());
        for flag in self.written.iter_mut().chain(self.read.iter_mut()) {
            *flag = AtomicBool::new(false);
        }
    }

    fn wait_write(&self, offset: usize) {
        let mut step = 0;
        // Acquire: pairs with the push's Release store of `written`.
        while !self.written[offset].load(Acquire) {
            spin_wait(&mut step);
        }
    }

    fn wait_next(&self) -> *mut Block<T> {
        let mut step = 0;
        loop {
            // Acquire: pairs with the Release store of the push that linked it.
            let next = self.next.load(Acquire);
            if !next.is_null() {
                return next;
            }
            spin_wait(&mut step);
        }
    }

    /// Waits until the readers of every slot but the last are done. They have all
    /// claimed their slots (the caller claimed the last, after them), so each is
    /// between its claim and its `read` store: a wait of the same kind as
    /// `wait_write`'s, on an operation already under way.
    fn wait_readers(&self) {
        for flag in &self.read[..BLOCK_CAP - 1] {
            let mut step = 0;
            // Acquire: pairs with the reader's Release store, so its read of the cell
            // comes before the block is reused or freed.
            while !flag.load(Acquire) {
                spin_wait(&mut step);
            }
        }
    }
}

struct Position<T> {
    index: AtomicUsize,
    block: AtomicPtr<Block<T>>,
}

pub(crate) struct List<T> {
    head: CachePadded<Position<T>>,
    tail: CachePadded<Position<T>>,
    /// A block whose values have all been read, kept for the next push that needs one
    /// (null: none). One is enough: pops free blocks at the rate pushes need them.
    spare: CachePadded<Spare<Box<Block<T>>>>,
}

// SAFETY: values move between threads through the slots (`T: Send`); every cell
// access is covered by the claim of one operation (module doc).
unsafe impl<T: Send> Send for List<T> {}
// SAFETY: as for `Send`.
unsafe impl<T: Send> Sync for List<T> {}

/// A position's slot count, without the flag bits; the one at a block's skipped last
/// offset counts as the next block's first.
fn counter(index: usize) -> usize {
    let c = index >> SHIFT;
    if c % LAP == BLOCK_CAP {
        c.wrapping_add(1)
    } else {
        c
    }
}

impl<T> List<T> {
    pub(crate) fn new() -> List<T> {
        List {
            head: CachePadded::new(Position {
                index: AtomicUsize::new(0),
                block: AtomicPtr::new(ptr::null_mut()),
            }),
            tail: CachePadded::new(Position {
                index: AtomicUsize::new(0),
                block: AtomicPtr::new(ptr::null_mut()),
            }),
            spare: CachePadded::new(Spare::new()),
        }
    }

    /// A block for a push to install: the spare if there is one, else a new one.
    fn fresh_block(&self) -> Box<Block<T>> {
        self.spare.take().unwrap_or_else(Block::new)
    }

    /// Frees a block every slot of which has been claimed by a pop, or keeps it as the
    /// spare, once its readers are done.
    ///
    /// # Safety
    /// `this` is such a block, both positions are past it, and the caller is the pop
    /// of its last slot, done reading it.
    unsafe fn recycle(&self, this: *mut Block<T>) {
        // SAFETY: the readers of the other slots have not all set `read` yet, or the
        // last just did: nobody frees it but us.
        unsafe { (*this).wait_readers() };
        // SAFETY: every reader is done, and no position points to it: it is ours.
        let mut block = unsafe { Box::from_raw(this) };
        block.reset();
        // The reset comes before a push's reuse: `put` and `take` pair.
        self.spare.put(block);
    }

    /// Pushes unless the list is frozen (`Err` gives the value back).
    pub(crate) fn push_open(&self, value: T) -> Result<(), T> {
        self.push(value, true)
    }

    /// Pushes. Lock holder only, frozen.
    pub(crate) fn push_frozen(&self, value: T) {
        if self.push(value, false).is_err() {
            unreachable!("a frozen push is never refused");
        }
    }

    fn push(&self, value: T, open: bool) -> Result<(), T> {
        let mut step = 0;
        // Acquire: pairs with the Release updates of the last push's block install.
        let mut tail = self.tail.index.load(Acquire);
        let mut block = self.tail.block.load(Acquire);
        let mut next_block: Option<Box<Block<T>>> = None;
        loop {
            if open && tail & FROZEN != 0 {
                return Err(value);
            }
            let offset = (tail >> SHIFT) % LAP;
            if offset == BLOCK_CAP {
                // Another push is installing the next block.
                spin_wait(&mut step);
                tail = self.tail.index.load(Acquire);
                block = self.tail.block.load(Acquire);
                continue;
            }
            if offset + 1 == BLOCK_CAP && next_block.is_none() {
                next_block = Some(self.fresh_block());
            }
            if block.is_null() {
                // The first push: install the first block.
                let new = Box::into_raw(next_block.take().unwrap_or_else(Block::new));
                // Release: publishes the block's initialization to whoever loads it.
                if self
                    .tail
                    .block
                    .compare_exchange(block, new, Release, Relaxed)
                    .is_ok()
                {
                    self.head.block.store(new, Release);
                    block = new;
                } else {
                    // SAFETY: `new` came from `Box::into_raw` above and was never
                    // shared (the CAS failed).
                    next_block = Some(unsafe { Box::from_raw(new) });
                    tail = self.tail.index.load(Acquire);
                    block = self.tail.block.load(Acquire);
                    continue;
                }
            }
            // SeqCst: one total order of the claims of both positions, the fence of
            // an "empty" verdict and the version reads (as in ring.rs).
            match self
                .tail
                .index
                .compare_exchange_weak(tail, tail + (1 << SHIFT), SeqCst, Acquire)
            {
                Ok(_) => {
                    if offset + 1 == BLOCK_CAP {
                        let next = Box::into_raw(next_block.take().expect("allocated above"));
                        // Release: the pushes that load it next see it initialized.
                        self.tail.block.store(next, Release);
                        // An RMW: a freeze may have set FROZEN since our claim.
                        self.tail.index.fetch_add(1 << SHIFT, Release);
                        // SAFETY: `block` is live: the pop that frees it must first
                        // claim its last slot, which is ours.
                        unsafe { (*block).next.store(next, Release) };
                    }
                    // SAFETY: our claim covers this slot; its block is live until its
                    // reader, which waits for `written`, has read it.
                    let block = unsafe { &*block };
                    // SAFETY: as above; nobody reads the cell before `written` is set.
                    block.values[offset].with_mut(|p| unsafe { (*p).write(value) });
                    // Release: publishes the value to the reader's `wait_write`.
                    block.written[offset].store(true, Release);
                    return Ok(());
                }
                Err(t) => {
                    tail = t;
                    block = self.tail.block.load(Acquire);
                    spin_wait(&mut step);
                }
            }
        }
    }

    /// Pops unless the list is frozen or empty; `verdict` as in `Ring::pop_open`.
    pub(crate) fn pop_open(&self, verdict: bool) -> Popped<T> {
        self.pop(Some(verdict))
    }

    /// Pops the oldest value, if any. Lock holder only, frozen.
    pub(crate) fn pop_frozen(&self) -> Option<T> {
        match self.pop(None) {
            Popped::Value(v) => Some(v),
            _ => None,
        }
    }

    /// `open`: `Some(verdict)` for an open pop, `None` for the frozen holder's.
    fn pop(&self, open: Option<bool>) -> Popped<T> {
        let mut step = 0;
        // Acquire: pairs with the Release updates of a pop's move to the next block.
        let mut head = self.head.index.load(Acquire);
        let mut block = self.head.block.load(Acquire);
        loop {
            if open.is_some() && head & FROZEN != 0 {
                return Popped::AskLock;
            }
            let offset = (head >> SHIFT) % LAP;
            if offset == BLOCK_CAP {
                // Another pop is moving the head to the next block.
                spin_wait(&mut step);
                head = self.head.index.load(Acquire);
                block = self.head.block.load(Acquire);
                continue;
            }
            let mut new_head = head + (1 << SHIFT);
            if new_head & HINT == 0 {
                // SeqCst: puts this look at the tail in the claims' total order, so
                // that "empty" holds at a point of it (as in ring.rs). Without a
                // verdict a stale tail only makes a non-empty list look empty, a hint.
                if open != Some(false) {
                    fence(SeqCst);
                }
                let tail = self.tail.index.load(Relaxed);
                if head >> SHIFT == tail >> SHIFT {
                    return match open {
                        Some(_) if tail & FROZEN != 0 => Popped::AskLock,
                        Some(true) => Popped::Empty(counter(head).wrapping_add(counter(tail))),
                        Some(false) | None => Popped::Empty(0),
                    };
                }
                if (head >> SHIFT) / LAP != (tail >> SHIFT) / LAP {
                    new_head |= HINT;
                }
            }
            if block.is_null() {
                // The first push is installing the first block.
                spin_wait(&mut step);
                head = self.head.index.load(Acquire);
                block = self.head.block.load(Acquire);
                continue;
            }
            // SeqCst: as in `push`.
            match self
                .head
                .index
                .compare_exchange_weak(head, new_head, SeqCst, Acquire)
            {
                Ok(_) => {
                    if offset + 1 == BLOCK_CAP {
                        // SAFETY: `block` is live: we have claimed its last slot and
                        // not read it yet.
                        let next = unsafe { (*block).wait_next() };
                        // SAFETY: `next` is live: no pop has claimed any of its slots.
                        let more = unsafe { !(*next).next.load(Relaxed).is_null() };
                        self.head.block.store(next, Release);
                        self.move_head_past_block(more);
                    }
                    // SAFETY: our claim covers this slot; the block lives until its
                    // readers are done, and we are one.
                    let b = unsafe { &*block };
                    b.wait_write(offset);
                    // SAFETY: `written` is set, and our claim makes us the only reader.
                    let v = b.values[offset].with_mut(|p| unsafe { (*p).assume_init_read() });
                    if offset + 1 == BLOCK_CAP {
                        // SAFETY: every slot is claimed (ours is the last), both
                        // positions are past the block, and we are done reading.
                        unsafe { self.recycle(block) };
                    } else {
                        // Release: pairs with `wait_readers`; after it the block may
                        // be gone, so nothing here touches it again.
                        b.read[offset].store(true, Release);
                    }
                    return Popped::Value(v);
                }
                Err(h) => {
                    head = h;
                    block = self.head.block.load(Acquire);
                    spin_wait(&mut step);
                }
            }
        }
    }

    /// Moves the head from a block's skipped last offset to the next block's first,
    /// with `HINT` as the next block says, keeping `FROZEN` as it is now.
    fn move_head_past_block(&self, more: bool) {
        // Relaxed: the CAS below decides.
        let mut cur = self.head.index.load(Relaxed);
        loop {
            let mut new = (cur & !HINT) + (1 << SHIFT);
            if more {
                new |= HINT;
            }
            // Release: pairs with the Acquire load of the next pop, which then sees
            // the new block pointer stored before.
            match self
                .head
                .index
                .compare_exchange_weak(cur, new, Release, Relaxed)
            {
                Ok(_) => return,
                Err(c) => cur = c,
            }
        }
    }

    /// The sum of both positions if the list is open, `None` if frozen.
    pub(crate) fn open_positions(&self) -> Option<usize> {
        // SeqCst: as in `Ring::open_positions`.
        let tail = self.tail.index.load(SeqCst);
        let head = self.head.index.load(SeqCst);
        if (head | tail) & FROZEN != 0 {
            return None;
        }
        Some(counter(head).wrapping_add(counter(tail)))
    }

    /// Sets the frozen bit: from now on no open operation starts. Lock holder only.
    pub(crate) fn freeze(&self) {
        // Relaxed: only lock holders set or clear the bit, and the lock orders them.
        if self.tail.index.load(Relaxed) & FROZEN != 0 {
            return;
        }
        // SeqCst: as in `Ring::freeze`.
        self.tail.index.fetch_or(FROZEN, SeqCst);
        self.head.index.fetch_or(FROZEN, SeqCst);
    }

    /// Clears the frozen bit. Lock holder only. RMWs, not stores: a push or pop that
    /// claimed before the freeze may still be moving a position past a block.
    pub(crate) fn thaw(&self) {
        // Release: publishes the holder's slot accesses to the open operations next.
        self.tail.index.fetch_and(!FROZEN, Release);
        self.head.index.fetch_and(!FROZEN, Release);
    }

    /// The version's share of the list. Lock holder only, frozen.
    pub(crate) fn frozen_sum(&self) -> usize {
        let (head, tail) = self.frozen_counters();
        head.wrapping_add(tail)
    }

    fn frozen_counters(&self) -> (usize, usize) {
        // Acquire: frozen, only the holder and the moves of operations claimed before
        // the freeze change them; either way the count is the claims' count.
        (
            counter(self.head.index.load(Acquire)),
            counter(self.tail.index.load(Acquire)),
        )
    }

    /// Values held, counting a push under way and not a pop under way. Frozen.
    pub(crate) fn len(&self) -> usize {
        let (head, tail) = self.frozen_counters();
        // Each block before the tail's skips one position.
        let skipped = tail / LAP - head / LAP;
        tail.wrapping_sub(head).wrapping_sub(skipped)
    }
}

impl<T> Drop for List<T> {
    fn drop(&mut self) {
        // `&mut self`: every operation has ended, so every claimed slot is written
        // and every position has moved past its block's end.
        let mut head = self.head.index.load(Relaxed) >> SHIFT;
        let tail = self.tail.index.load(Relaxed) >> SHIFT;
        let mut block = self.head.block.load(Relaxed);
        while head != tail {
            let offset = head % LAP;
            if offset < BLOCK_CAP {
                // SAFETY: the head's block is live (its last slot is unclaimed or
                // this loop frees it below).
                let cell = unsafe { &(*block).values[offset] };
                // SAFETY: a position between head and tail holds a written value
                // nobody read.
                cell.with_mut(|p| unsafe { (*p).assume_init_drop() });
            } else {
                // SAFETY: a block that the head has not left yet is live, and its
                // `next` is set (the tail is past it).
                let next = unsafe { (*block).next.load(Relaxed) };
                // SAFETY: nothing else points into it any more.
                drop(unsafe { Box::from_raw(block) });
                block = next;
            }
            head = head.wrapping_add(1);
        }
        if !block.is_null() {
            // SAFETY: the head's block, not freed by any pop (its last slot unclaimed).
            drop(unsafe { Box::from_raw(block) });
        }
    }
}
