//! The one door through which the channels reach atomics, `Arc`, locks, the slots'
//! cells, thread parking and the select's per-thread random state.
//!
//! Under `cfg(loom)` every type here is loom's model type, so the models in
//! `tests/loom_*.rs` explore every interleaving of the real channel code; otherwise
//! they are the std / parking_lot types themselves (re-exports, or a newtype whose
//! only method is an `#[inline]` forward), so the ordinary build is unchanged.
//!
//! Left outside on purpose: `coop.rs`'s budget and preemption flag. They are per
//! thread, read-only for the channels, and part of the public API a scheduler calls
//! with std types; no model depends on them (the budget is unset in a model thread).
//! The ordinary build's lock reads the budget only to choose how its spin waits
//! (`Mutex::lock_contended`).

#[cfg(not(loom))]
mod imp {
    pub(crate) use std::sync::atomic;
    pub(crate) use std::sync::Arc;
    pub(crate) use std::thread_local;

    /// parking_lot's lock: one word, and no poisoning, so a panic elsewhere (a
    /// waker's, a value's destructor) never makes a channel unusable.
    pub(crate) struct Mutex<T>(parking_lot::Mutex<T>);

    pub(crate) type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;

    impl<T> Mutex<T> {
        #[inline]
        pub(crate) const fn new(value: T) -> Self {
            Mutex(parking_lot::const_mutex(value))
        }

        #[inline]
        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            match self.0.try_lock() {
                Some(g) => g,
                None => self.lock_contended(),
            }
        }

        /// A thread that finds the channel's lock taken spins before it parks, as Go's
        /// `lock2` does, and re-tries only once it sees the lock free (parking_lot
        /// alone turns to `sched_yield` after 14 pauses: a system call for a wait
        /// shorter than one). How far apart it looks depends on who waits:
        ///
        /// - A task polled by a scheduler that keeps gort's budget (coop.rs: gort's
        ///   runtime) looks after 120, 240 and 480 pauses. Its thread is one of as
        ///   many as there are CPUs. While it stays off the lock's cache lines, the
        ///   holder's CPU takes the lock again and again without a miss, and under
        ///   contention that does more work than handing the lock and the channel's
        ///   lines across at every chance. Go's 4 × 30 pauses ran mpmc cap 0 and
        ///   cap 1 at 211 and 241 ns a message, and 600 with the CPUs far apart;
        ///   these looks, 170 and 178, and about 200 far apart (BENCHMARKS.md, "The
        ///   lock's spin").
        /// - Any other thread (a plain thread, blocking or not; another executor's
        ///   worker) looks every 30 pauses, four times. A blocked thread's wait is a
        ///   hand-off's latency, with no batch to gain, and with more such threads
        ///   than CPUs a long spin takes the CPU the holder needs: the long looks
        ///   made ping-pong between two threads 1.5–2.1× slower and mpmc between
        ///   eight threads 1.5–2.2×.
        ///
        /// A `pause` takes about 28 ns here, so the spin lasts at most 24 µs. After
        /// it, parking_lot's fair lock: a thread preempted while holding the lock
        /// cannot make the others burn their CPUs for long, and one that takes it in
        /// a tight loop cannot starve the rest.
        #[cold]
        fn lock_contended(&self) -> MutexGuard<'_, T> {
            let (mut pauses, looks, grow) = if crate::coop::in_budgeted_poll() {
                (120, 3, 2)
            } else {
                (30, 4, 1)
            };
            for _ in 0..looks {
                for _ in 0..pauses {
                    std::hint::spin_loop();
                }
                if !self.0.is_locked() {
                    if let Some(g) = self.0.try_lock() {
                        return g;
                    }
                }
                pauses *= grow;
            }
            self.0.lock()
        }
    }

    pub(crate) mod thread {
        pub(crate) use std::thread::{current, park, park_timeout, Thread};
    }

    /// One round of waiting for another thread's few instructions (a ring slot being
    /// written or read): pauses that double, then yields (crossbeam's `Backoff`).
    #[inline]
    pub(crate) fn spin_wait(step: &mut u32) {
        if *step < 6 {
            for _ in 0..1u32 << *step {
                std::hint::spin_loop();
            }
            *step += 1;
        } else {
            std::thread::yield_now();
        }
    }

    /// std's cell behind loom's closure API (`with_mut`), so slot.rs reads the same
    /// in both builds.
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        #[inline]
        pub(crate) const fn new(data: T) -> Self {
            UnsafeCell(std::cell::UnsafeCell::new(data))
        }

        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

#[cfg(loom)]
mod imp {
    pub(crate) use loom::cell::UnsafeCell;
    pub(crate) use loom::sync::atomic;
    pub(crate) use loom::sync::Arc;
    pub(crate) use loom::thread_local;

    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Mutex(loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            // Poisoning only follows a panic, and a panic in a model fails the model.
            self.0
                .lock()
                .expect("a model thread panicked under a channel lock")
        }
    }

    /// Loom must see a spinning thread yield, or it explores the spin forever.
    pub(crate) fn spin_wait(_step: &mut u32) {
        loom::thread::yield_now();
    }

    pub(crate) mod thread {
        #[allow(unused_imports)] // spawn: used by the models only
        pub(crate) use loom::thread::{current, park, spawn, Thread};

        /// Loom has no clock: a timed park is modelled as an untimed one, which a
        /// spurious-wake-tolerant caller cannot tell from a long timeout. So a model
        /// must not use the `*_timeout` operations: with no counterpart they would
        /// report a deadlock instead of timing out.
        pub(crate) fn park_timeout(_dur: std::time::Duration) {
            park();
        }
    }
}

pub(crate) use imp::*;
