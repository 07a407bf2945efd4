//! One waiting entry's memory, kept by a channel for the next operation that waits on
//! it, so that an operation that waits and wakes in a steady rhythm (a ping-pong, a
//! rendezvous, a full or empty buffer) does not pay an allocation and a free each
//! time, as Go's runtime keeps a per-P cache of `sudog`s.
//!
//! An entry is kept only when nobody else holds it (`Arc::get_mut`): no queue, no
//! claimer, no select. Its contents are replaced by a blank then, so that whatever it
//! held (a waker, and through it a task; a value given back) is dropped at the moment
//! the entry would have been freed. The next taker replaces the blank with its own
//! entry: the memory is reused, never the token or the slot, which are new values
//! (token.rs: a token never goes back to waiting; slot.rs, rule 3: a slot serves one
//! wait).

#![allow(unsafe_code)]

use crate::chan::Entry;
use crate::loom::atomic::{AtomicPtr, Ordering::*};
use crate::loom::Arc;
use std::ptr;

pub(crate) struct Spare<S> {
    /// From `Arc::into_raw`, holding a blank; null when there is none.
    entry: AtomicPtr<Entry<S>>,
}

impl<S> Spare<S> {
    pub(crate) fn new() -> Spare<S> {
        Spare {
            entry: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// `entry` in the kept memory if there is some, else in a new allocation.
    pub(crate) fn entry(&self, entry: Entry<S>) -> Arc<Entry<S>> {
        // Null check first, a plain load: when none is kept (the first wait here, or
        // another waiter has it) a swap would cost a locked instruction for nothing.
        // Relaxed: a hint; the swap below decides.
        if self.entry.load(Relaxed).is_null() {
            return Arc::new(entry);
        }
        // Acquire: pairs with the Release exchange in `keep`, so the blank written
        // there comes before our write below.
        let kept = self.entry.swap(ptr::null_mut(), Acquire);
        if kept.is_null() {
            return Arc::new(entry);
        }
        // SAFETY: `keep` stored a pointer from `Arc::into_raw` of an `Arc` it held
        // alone, and the swap gave that reference to us alone.
        let mut kept = unsafe { Arc::from_raw(kept) };
        *Arc::get_mut(&mut kept).expect("a kept entry has no other holder") = entry;
        kept
    }

    /// Keeps `entry`'s memory for the next `entry` call, if nobody else holds it and
    /// the place is free; else it is dropped as usual. `blank` replaces its contents.
    pub(crate) fn keep(&self, mut entry: Arc<Entry<S>>, blank: impl FnOnce() -> Entry<S>) {
        // Relaxed: a hint; the exchange decides. Full: keeping it would only free it.
        if !self.entry.load(Relaxed).is_null() {
            return;
        }
        let Some(contents) = Arc::get_mut(&mut entry) else {
            return;
        };
        *contents = blank();
        let raw = Arc::into_raw(entry).cast_mut();
        // Release: pairs with the Acquire swap in `entry`.
        if self
            .entry
            .compare_exchange(ptr::null_mut(), raw, Release, Relaxed)
            .is_err()
        {
            // SAFETY: `raw` came from `Arc::into_raw` above and was not published.
            drop(unsafe { Arc::from_raw(raw) });
        }
    }
}

impl<S> Drop for Spare<S> {
    fn drop(&mut self) {
        // Relaxed: `&mut self`, every `keep` has ended.
        let kept = self.entry.load(Relaxed);
        if !kept.is_null() {
            // SAFETY: from `Arc::into_raw` in `keep`, owned by the spare alone.
            drop(unsafe { Arc::from_raw(kept) });
        }
    }
}
