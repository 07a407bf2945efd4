//! P's local run queue: a fixed ring of `LEN` Gs plus the `runnext` slot, as Go's
//! `runq`/`runnext` in `proc.go`.
//!
//! One producer (the M holding the P) pushes at `tail`; the owner and any number of
//! stealers consume at `head` by CAS. The ring never grows: when it is full, half of it
//! (LEN/2) and the new G move to the global queue in one batch (`runq_put_slow`).
//!
//! Fields:
//! - `head`: next slot to consume. Written by CAS only, by the owner (`pop`, overflow)
//!   and stealers (`grab`). A successful CAS commits the consumption of the slots it
//!   skips.
//! - `tail`: next slot to fill. Written only by the owner (Release: publishes the slot
//!   contents); read by stealers (Acquire).
//! - `buf`: the slots, atomics so that a stealer may read a slot the owner is
//!   rewriting; such a read is thrown away when its CAS on `head` fails.
//! - `runnext`: a G that runs before the ring (spawned or woken by the running G, so
//!   it inherits the cache and the time slice). The owner swaps it in; the owner and
//!   stealers take it by CAS to null.
//!
//! Rejected: tokio's two-part head (steal in two phases so slots can be plain cells).
//! Go's single head with atomic slots is simpler to check with loom and costs no more
//! on x86, where every slot access is a plain `mov` either way.

use crate::loom::atomic::{AtomicPtr, AtomicU32, Ordering::*};
use crate::loom::Arc;
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

#[cfg(not(loom))]
pub(crate) const LEN: u32 = 256;
/// Under loom the ring shrinks so that models reach overflow and stealing quickly.
#[cfg(loom)]
pub(crate) const LEN: u32 = 4;
const MASK: u32 = LEN - 1;

/// What the ring can hold: an owned pointer in disguise.
pub(crate) trait Item: Sized {
    fn into_ptr(self) -> NonNull<()>;
    /// # Safety
    /// `ptr` must come from `into_ptr` and be used once.
    unsafe fn from_ptr(ptr: NonNull<()>) -> Self;
}

struct Inner<T> {
    head: AtomicU32,
    tail: AtomicU32,
    buf: Box<[AtomicPtr<()>]>,
    runnext: AtomicPtr<()>,
    _items: PhantomData<T>,
}

/// The owner's handle: may only be used by the M holding the P.
pub(crate) struct Local<T: Item> {
    inner: Arc<Inner<T>>,
}

/// A stealer's handle, shared by all Ms.
pub(crate) struct Steal<T: Item>(Arc<Inner<T>>);

// SAFETY: items are owned pointers to `Send` values, moved between threads only
// through the atomic protocol above.
unsafe impl<T: Item + Send> Send for Local<T> {}
// SAFETY: as above.
unsafe impl<T: Item + Send> Send for Steal<T> {}
// SAFETY: as above; every shared access is atomic.
unsafe impl<T: Item + Send> Sync for Steal<T> {}

pub(crate) fn new<T: Item>() -> (Local<T>, Steal<T>) {
    let inner = Arc::new(Inner {
        head: AtomicU32::new(0),
        tail: AtomicU32::new(0),
        buf: (0..LEN).map(|_| AtomicPtr::new(ptr::null_mut())).collect(),
        runnext: AtomicPtr::new(ptr::null_mut()),
        _items: PhantomData,
    });
    (
        Local {
            inner: inner.clone(),
        },
        Steal(inner),
    )
}

impl<T: Item> Inner<T> {
    fn slot(&self, i: u32) -> &AtomicPtr<()> {
        &self.buf[(i & MASK) as usize]
    }

    fn len(&self) -> u32 {
        // Acquire on both: a consistent-enough snapshot for metrics and emptiness
        // checks (pairs with the owner's tail Release and consumers' head CAS).
        let h = self.head.load(Acquire);
        let t = self.tail.load(Acquire);
        t.wrapping_sub(h).min(LEN)
    }

    fn has_runnext(&self) -> bool {
        !self.runnext.load(Acquire).is_null()
    }
}

impl<T: Item> Local<T> {
    /// `runq_put`: with `next`, the G goes to `runnext` and the one it displaces to the
    /// tail of the ring. A full ring sends half of itself and the G to `overflow` in
    /// one batch.
    pub(crate) fn push(
        &mut self,
        item: T,
        next: bool,
        overflow: impl FnOnce(Overflow<'_, T>),
    ) -> Pushed {
        let mut ptr = item.into_ptr().as_ptr();
        if next {
            // AcqRel: Release publishes the G to a stealer's Acquire CAS; Acquire takes
            // ownership of the displaced one.
            let old = self.inner.runnext.swap(ptr, AcqRel);
            if old.is_null() {
                return Pushed::Runnext;
            }
            ptr = old;
        }
        self.push_back(ptr, overflow);
        Pushed::Ring
    }

    fn push_back(&mut self, ptr: *mut (), overflow: impl FnOnce(Overflow<'_, T>)) {
        let inner = &*self.inner;
        loop {
            // Acquire: pairs with consumers' CAS on head, so their reads of the slots
            // we are about to reuse are done.
            let h = inner.head.load(Acquire);
            // Relaxed: only this thread writes tail.
            let t = inner.tail.load(Relaxed);
            if t.wrapping_sub(h) < LEN {
                inner.slot(t).store(ptr, Relaxed);
                // Release: publishes the slot; pairs with the Acquire in `grab`.
                inner.tail.store(t.wrapping_add(1), Release);
                return;
            }
            // runq_put_slow: take the older half for the global queue.
            let n = LEN / 2;
            let mut batch = [ptr::null_mut(); (LEN / 2) as usize];
            for (i, b) in batch.iter_mut().enumerate() {
                *b = inner.slot(h.wrapping_add(i as u32)).load(Relaxed);
            }
            // AcqRel: Release commits the consumption (as in `pop`); a failure means a
            // stealer took some, so there is room now: retry.
            if inner
                .head
                .compare_exchange(h, h.wrapping_add(n), AcqRel, Relaxed)
                .is_err()
            {
                continue;
            }
            overflow(Overflow {
                batch,
                next: 0,
                last: Some(ptr),
                _items: PhantomData,
            });
            return;
        }
    }

    /// Appends Gs taken from the global queue. The caller guarantees room for them
    /// (it takes at most LEN/2, and only into a ring it just found empty, or one).
    pub(crate) fn push_back_all(&mut self, items: impl Iterator<Item = T>) {
        for item in items {
            self.push_back(item.into_ptr().as_ptr(), |_| {
                unreachable!("push_back_all overflowed: the caller promised room")
            });
        }
    }

    /// `runq_get`: `runnext` first (unless `skip_next`), then the head of the ring.
    pub(crate) fn pop(&mut self, skip_next: bool) -> Option<T> {
        let inner = &*self.inner;
        if !skip_next {
            // Relaxed load, Acquire CAS: only we put Gs here; stealers only clear it.
            let next = inner.runnext.load(Relaxed);
            if !next.is_null()
                && inner
                    .runnext
                    .compare_exchange(next, ptr::null_mut(), Acquire, Relaxed)
                    .is_ok()
            {
                // SAFETY: the CAS made the pointer ours, and it came from `into_ptr`.
                return Some(unsafe { T::from_ptr(NonNull::new_unchecked(next)) });
            }
        }
        loop {
            // Acquire: pairs with stealers' CAS, as in `push_back`.
            let h = inner.head.load(Acquire);
            let t = inner.tail.load(Relaxed);
            if t == h {
                return None;
            }
            let ptr = inner.slot(h).load(Relaxed);
            // AcqRel: Release commits the consumption, so the slot may be reused once a
            // producer's Acquire of head sees it.
            if inner
                .head
                .compare_exchange(h, h.wrapping_add(1), AcqRel, Relaxed)
                .is_ok()
            {
                // SAFETY: the CAS made the slot's G ours.
                return Some(unsafe { T::from_ptr(NonNull::new_unchecked(ptr)) });
            }
        }
    }

    pub(crate) fn has_runnext(&self) -> bool {
        self.inner.has_runnext()
    }

    /// Gs in the ring (not counting `runnext`).
    pub(crate) fn ring_len(&self) -> usize {
        self.inner.len() as usize
    }
}

impl<T: Item> Drop for Local<T> {
    fn drop(&mut self) {
        while let Some(item) = self.pop(false) {
            drop(item);
        }
    }
}

impl<T: Item> Steal<T> {
    /// True when there is nothing to steal, `runnext` included.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.len() == 0 && !self.0.has_runnext()
    }

    /// How many Gs have ever left the ring from its head (by its owner or by
    /// stealers), wrapping: two readings that differ mean the queue is moving.
    pub(crate) fn consumed(&self) -> u32 {
        // Relaxed: a progress hint for sysmon, compared across its rounds.
        self.0.head.load(Relaxed)
    }

    /// Whether `runnext` holds a G (a snapshot).
    pub(crate) fn has_runnext(&self) -> bool {
        self.0.has_runnext()
    }

    /// Queue length including `runnext`, for metrics.
    pub(crate) fn len(&self) -> usize {
        self.0.len() as usize + usize::from(self.0.has_runnext())
    }

    /// `runq_steal`: moves half of this ring into `dst` (whose ring must be empty) and
    /// returns one G to run now. An otherwise empty victim gives up its `runnext` as
    /// `next` says.
    pub(crate) fn steal_into(&self, dst: &mut Local<T>, next: StealNext) -> Option<T> {
        let dst_inner = &*dst.inner;
        // Relaxed: we own dst's tail. Acquire on head pairs with dst's consumers.
        let dst_t = dst_inner.tail.load(Relaxed);
        let dst_h = dst_inner.head.load(Acquire);
        if dst_t.wrapping_sub(dst_h) > LEN / 2 {
            return None;
        }
        let n = self.grab(dst_inner, dst_t, next);
        if n == 0 {
            return None;
        }
        let n = n - 1;
        let ptr = dst_inner.slot(dst_t.wrapping_add(n)).load(Relaxed);
        if n > 0 {
            // Release: publishes the stolen slots to dst's stealers.
            dst_inner.tail.store(dst_t.wrapping_add(n), Release);
        }
        // SAFETY: `grab` moved ownership of these slots to us.
        Some(unsafe { T::from_ptr(NonNull::new_unchecked(ptr)) })
    }

    /// `runq_grab`: copies half of the victim's Gs into `dst`'s slots from `dst_t` on
    /// (not yet published) and commits by CAS on the victim's head.
    fn grab(&self, dst: &Inner<T>, dst_t: u32, next_rule: StealNext) -> u32 {
        let src = &*self.0;
        let mut waited = false;
        loop {
            // Acquire: pairs with consumers' head CAS and the owner's tail Release (so
            // the slots below tail are visible).
            let h = src.head.load(Acquire);
            let t = src.tail.load(Acquire);
            let avail = t.wrapping_sub(h);
            let n = avail - avail / 2;
            if n == 0 {
                if next_rule != StealNext::No {
                    // Acquire: pairs with the owner's swap (Release), to see the G.
                    let next = src.runnext.load(Acquire);
                    if next.is_null() {
                        return 0;
                    }
                    if next_rule == StealNext::AfterOwner && !waited {
                        waited = true;
                        wait_for_owner(&src.runnext, next);
                        continue;
                    }
                    if src
                        .runnext
                        .compare_exchange(next, ptr::null_mut(), AcqRel, Relaxed)
                        .is_err()
                    {
                        continue;
                    }
                    dst.slot(dst_t).store(next, Relaxed);
                    return 1;
                }
                return 0;
            }
            if n > LEN / 2 {
                // h and t were read at different moments: inconsistent, read again.
                continue;
            }
            for i in 0..n {
                let p = src.slot(h.wrapping_add(i)).load(Relaxed);
                dst.slot(dst_t.wrapping_add(i)).store(p, Relaxed);
            }
            // AcqRel: Release commits the consumption (producers' Acquire of head then
            // knows our slot reads are done).
            if src
                .head
                .compare_exchange(h, h.wrapping_add(n), AcqRel, Relaxed)
                .is_ok()
            {
                return n;
            }
        }
    }
}

/// Where `push` left the queue's new work.
#[must_use]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Pushed {
    /// In an empty `runnext`: the ring did not grow.
    Runnext,
    /// The G, or the one it displaced from `runnext`, went to the ring (or overflowed).
    Ring,
}

/// Whether a thief may take the victim's `runnext` when its ring is empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StealNext {
    No,
    Yes,
    /// Yes, but only after giving the victim's M, busy polling a G, a few microseconds
    /// to take it first (Go's `runqgrab`). The G in `runnext` was usually just woken
    /// by that poll, which is about to end: a G that sends and then receives on a
    /// channel. Taking it at once would move every such pair across two CPUs, each
    /// message then paying for the lock's cache line and a wake-up of the other M.
    AfterOwner,
}

/// Gives the victim's M a moment to run `g` before the thief takes it, as Go's
/// `runqgrab` does with `usleep(3)`. It sleeps rather than spins: the kernel's timer
/// slack (50 µs by default on Linux) stretches the 3 µs to tens of microseconds, so a
/// spinning M that keeps finding only a `runnext` G on a busy P becomes a cheap poll
/// instead of a second CPU fighting the first for the channel's lock and cache lines.
/// A pipeline whose Gs wake each other then stays on one P more of the time, as in
/// Go; with a spin here, mpsc cap 1 kept 1.8 CPUs busy (1.4 with the sleep) and took
/// 1.6–2.8× as long a message, mpsc cap 64 and select 1.3–1.7× (BENCHMARKS.md).
/// Under loom, one yield: the model explores both outcomes.
fn wait_for_owner(runnext: &AtomicPtr<()>, g: *mut ()) {
    #[cfg(loom)]
    {
        let _ = (runnext, g);
        crate::loom::thread::yield_now();
    }
    #[cfg(not(loom))]
    {
        const OWNER_GRACE: std::time::Duration = std::time::Duration::from_micros(3);
        // Relaxed: a hint; the CAS that follows decides.
        if runnext.load(Relaxed) == g {
            std::thread::sleep(OWNER_GRACE);
        }
    }
}

/// Half a full ring plus the G that did not fit, on its way to the global queue.
pub(crate) struct Overflow<'a, T: Item> {
    batch: [*mut (); (LEN / 2) as usize],
    next: usize,
    last: Option<*mut ()>,
    _items: PhantomData<&'a T>,
}

impl<T: Item> Iterator for Overflow<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        let ptr = if self.next < self.batch.len() {
            self.next += 1;
            self.batch[self.next - 1]
        } else {
            self.last.take()?
        };
        // SAFETY: the head CAS in `push_back` made these slots ours; each is yielded once.
        Some(unsafe { T::from_ptr(NonNull::new_unchecked(ptr)) })
    }
}

impl<T: Item> Drop for Overflow<'_, T> {
    fn drop(&mut self) {
        for item in self.by_ref() {
            drop(item);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    //! Stress tests on real threads (the loom models in `tests/loom_queue.rs` cover
    //! the interleavings on a 4-slot ring; these cover the 256-slot one at speed).
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
    use std::sync::Mutex;

    struct Val(usize);

    impl Item for Box<Val> {
        fn into_ptr(self) -> NonNull<()> {
            NonNull::from(Box::leak(self)).cast()
        }
        unsafe fn from_ptr(ptr: NonNull<()>) -> Self {
            // SAFETY: made by `into_ptr` from a Box<Val>, used once.
            unsafe { Box::from_raw(ptr.cast::<Val>().as_ptr()) }
        }
    }

    #[test]
    fn smoke() {
        let (mut local, steal) = new::<Box<Val>>();
        let mut overflowed = Vec::new();
        for i in 0..LEN as usize + 10 {
            let _where = local.push(Box::new(Val(i)), i % 3 == 0, |o| {
                overflowed.extend(o.map(|v| v.0))
            });
        }
        assert_eq!(
            overflowed.len(),
            LEN as usize / 2 + 1,
            "one batch of half a ring + 1"
        );
        let (mut thief, _) = new::<Box<Val>>();
        let first = steal
            .steal_into(&mut thief, StealNext::No)
            .expect("a non-empty ring gives half");
        let mut seen = vec![first.0];
        seen.extend(overflowed);
        while let Some(v) = thief.pop(false) {
            seen.push(v.0);
        }
        while let Some(v) = local.pop(false) {
            seen.push(v.0);
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..LEN as usize + 10).collect::<Vec<_>>());
    }

    #[test]
    fn runnext_is_first_and_displaces_to_the_tail() {
        let (mut local, _steal) = new::<Box<Val>>();
        let pushed = [
            local.push(Box::new(Val(1)), false, |_| unreachable!()),
            local.push(Box::new(Val(2)), true, |_| unreachable!()),
            local.push(Box::new(Val(3)), true, |_| unreachable!()),
        ];
        assert_eq!(pushed, [Pushed::Ring, Pushed::Runnext, Pushed::Ring]);
        let order: Vec<_> = std::iter::from_fn(|| local.pop(false))
            .map(|v| v.0)
            .collect();
        assert_eq!(order, [3, 1, 2]);
    }

    /// One owner pushing, popping and overflowing while stealers take halves: every
    /// value comes out exactly once.
    #[test]
    fn stress() {
        const N: usize = 200_000;
        const STEALERS: usize = 3;
        let (mut local, steal) = new::<Box<Val>>();
        let steal = std::sync::Arc::new(steal);
        let done = std::sync::Arc::new(AtomicBool::new(false));
        let seen: std::sync::Arc<Vec<AtomicUsize>> =
            std::sync::Arc::new((0..N).map(|_| AtomicUsize::new(0)).collect());
        let overflow = std::sync::Arc::new(Mutex::new(Vec::new()));
        let thieves: Vec<_> = (0..STEALERS)
            .map(|t| {
                let (steal, done, seen) = (steal.clone(), done.clone(), seen.clone());
                std::thread::spawn(move || {
                    let (mut mine, _) = new::<Box<Val>>();
                    loop {
                        let finished = done.load(SeqCst);
                        if let Some(v) = steal.steal_into(
                            &mut mine,
                            if t == 0 {
                                StealNext::Yes
                            } else {
                                StealNext::No
                            },
                        ) {
                            seen[v.0].fetch_add(1, SeqCst);
                            while let Some(v) = mine.pop(false) {
                                seen[v.0].fetch_add(1, SeqCst);
                            }
                        } else if finished {
                            return;
                        }
                    }
                })
            })
            .collect();
        for i in 0..N {
            let _where = local.push(Box::new(Val(i)), i % 5 == 0, |o| {
                overflow.lock().unwrap().extend(o.map(|v| v.0))
            });
            if i % 3 == 0 {
                if let Some(v) = local.pop(false) {
                    seen[v.0].fetch_add(1, SeqCst);
                }
            }
        }
        while let Some(v) = local.pop(false) {
            seen[v.0].fetch_add(1, SeqCst);
        }
        done.store(true, SeqCst);
        for t in thieves {
            t.join().unwrap();
        }
        for v in overflow.lock().unwrap().iter() {
            seen[*v].fetch_add(1, SeqCst);
        }
        for (i, s) in seen.iter().enumerate() {
            assert_eq!(s.load(SeqCst), 1, "value {i} seen {} times", s.load(SeqCst));
        }
    }
}
