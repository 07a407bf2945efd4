//! One allocation kept for reuse: a list block whose values have all been read
//! (list.rs), or the entry of an operation that waited (chan.rs), so that a channel
//! in a steady rhythm does not pay an allocation and a free each time, as Go's
//! runtime keeps a per-P cache of `sudog`s.
//!
//! The place holds at most one, owned: `put` gives it up only into an empty place
//! (else it is dropped as usual), `take` empties the place. Either end may run on any
//! thread. A channel's entries are taken only under its lock (`entry_under_lock`),
//! which lets that taker use a load and a store where `take` swaps.
//!
//! A waiting entry is kept only when nobody else holds it (its count is one): no
//! queue, no claimer, no select. Its contents are replaced by a blank then, so that
//! whatever it held (a waker, and through it a task; a value given back) is dropped
//! at the moment the entry would have been freed. The next taker replaces the blank
//! with its own entry: the memory is reused, never the token or the slot, which are
//! new values (token.rs: a token never goes back to waiting; slot.rs, rule 3: a slot
//! serves one wait).

#![allow(unsafe_code)]

use crate::chan::Entry;
use crate::loom::atomic::{fence, AtomicPtr, Ordering::*};
use crate::loom::Arc;
use std::marker::PhantomData;
use std::ptr;

/// An owning pointer that can pass through a raw one: `Box` or `Arc`.
pub(crate) trait Owned {
    type Target;
    fn into_raw(this: Self) -> *mut Self::Target;
    /// # Safety
    /// `raw` came from `into_raw` of the same type, and is given back once.
    unsafe fn from_raw(raw: *mut Self::Target) -> Self;
}

impl<T> Owned for Box<T> {
    type Target = T;
    fn into_raw(this: Self) -> *mut T {
        Box::into_raw(this)
    }
    unsafe fn from_raw(raw: *mut T) -> Self {
        // SAFETY: the caller's contract.
        unsafe { Box::from_raw(raw) }
    }
}

impl<T> Owned for Arc<T> {
    type Target = T;
    fn into_raw(this: Self) -> *mut T {
        Arc::into_raw(this).cast_mut()
    }
    unsafe fn from_raw(raw: *mut T) -> Self {
        // SAFETY: the caller's contract.
        unsafe { Arc::from_raw(raw) }
    }
}

pub(crate) struct Spare<P: Owned> {
    /// From `P::into_raw`; null when there is none.
    kept: AtomicPtr<P::Target>,
    _owns: PhantomData<P>,
}

impl<P: Owned> Spare<P> {
    pub(crate) fn new() -> Spare<P> {
        Spare {
            kept: AtomicPtr::new(ptr::null_mut()),
            _owns: PhantomData,
        }
    }

    /// Whether one is kept: a hint, to skip work for a `put` that would fail.
    pub(crate) fn is_full(&self) -> bool {
        // Relaxed: a hint; `put`'s exchange decides.
        !self.kept.load(Relaxed).is_null()
    }

    /// The kept one, if any.
    pub(crate) fn take(&self) -> Option<P> {
        // A plain load first: when none is kept, a swap would cost a locked
        // instruction for nothing.
        if !self.is_full() {
            return None;
        }
        // Acquire: pairs with the Release exchange in `put`, so whatever the giver
        // did to it (a reset, a blank) comes before our use.
        let kept = self.kept.swap(ptr::null_mut(), Acquire);
        // SAFETY: `put` stored it from `P::into_raw`, and the swap gave it to us alone.
        (!kept.is_null()).then(|| unsafe { P::from_raw(kept) })
    }

    /// Keeps `p` if the place is empty; else drops it.
    pub(crate) fn put(&self, p: P) {
        let raw = P::into_raw(p);
        // Release: pairs with the Acquire swap in `take`.
        if self
            .kept
            .compare_exchange(ptr::null_mut(), raw, Release, Relaxed)
            .is_err()
        {
            // SAFETY: `raw` came from `into_raw` above and was not published.
            drop(unsafe { P::from_raw(raw) });
        }
    }
}

impl<P: Owned> Drop for Spare<P> {
    fn drop(&mut self) {
        drop(self.take());
    }
}

impl<S> Spare<Arc<Entry<S>>> {
    /// `entry` in the kept memory if there is some, else in a new allocation.
    ///
    /// The caller holds the lock of the channel this place belongs to, as every
    /// caller of this method does: takers never race each other, only `put`s, whose
    /// exchange succeeds only on an empty place. So a load and a store take the kept
    /// entry where `take` needs a swap, one locked instruction fewer a wait.
    pub(crate) fn entry_under_lock(&self, entry: Entry<S>) -> Arc<Entry<S>> {
        // Acquire: pairs with the Release exchange in `put`.
        let kept = self.kept.load(Acquire);
        if kept.is_null() {
            return Arc::new(entry);
        }
        // Relaxed: the place is ours until this store empties it (no `put` installs
        // into a full place, no other taker runs without the lock); a `put` after it
        // needs nothing from us.
        self.kept.store(ptr::null_mut(), Relaxed);
        // SAFETY: `keep` stored it from `Arc::into_raw` (through `put`), and the load
        // and store above gave it to us alone.
        let kept = unsafe { Arc::from_raw(kept) };
        // Not `Arc::get_mut`: its uniqueness check costs a locked instruction on the
        // path of every wait, and `keep` has made that check already.
        // SAFETY: `keep` stores an entry only after it found it unique; while kept it
        // is a raw pointer that nothing clones. Entries are never downgraded, so no
        // `Weak` exists either: this is the only handle to the memory.
        unsafe { *Arc::as_ptr(&kept).cast_mut() = entry };
        kept
    }

    /// Keeps `entry`'s memory for the next `entry` call if nobody else holds it and
    /// the place is free; else it is dropped as usual. `blank` replaces its contents.
    pub(crate) fn keep(&self, entry: Arc<Entry<S>>, blank: impl FnOnce() -> Entry<S>) {
        if self.is_full() || Arc::strong_count(&entry) != 1 {
            return;
        }
        // Not `Arc::get_mut`, whose guard against a `Weak` racing it costs a locked
        // instruction on the path of every wait: entries are never downgraded, so the
        // count alone says that no other handle exists, nor can one appear (a clone
        // needs a handle). The count is read `Relaxed`; the fence makes it Acquire, so
        // that the Release decrement of whoever dropped the other handle last
        // (a claimer, a queue) comes before our write, as `Arc`'s own drop does before
        // it frees.
        fence(Acquire);
        // SAFETY: ours is the only handle (above), so nothing reads the memory while we
        // write, and the fence ordered every earlier access by other threads before it.
        unsafe { *Arc::as_ptr(&entry).cast_mut() = blank() };
        self.put(entry);
    }
}
