//! The one door through which the channels reach atomics, `Arc`, locks, thread parking
//! and the select's per-thread random state.
//!
//! Under `cfg(loom)` every type here is loom's model type, so the models in
//! `tests/loom_*.rs` explore every interleaving of the real channel code; otherwise
//! they are the std types themselves, and `spin`'s mutex (see `Mutex` for why), so
//! the ordinary build pays nothing for the models.
//!
//! Left outside on purpose: `coop.rs`'s budget and preemption flag. They are per
//! thread, read-only for the channels, and part of the public API a scheduler calls
//! with std types; no model depends on them (the budget is unset in a model thread).

#[cfg(not(loom))]
mod imp {
    pub(crate) use std::sync::atomic;
    pub(crate) use std::sync::Arc;
    pub(crate) use std::thread_local;

    /// The channels' lock: a one-byte spin lock (`spin`'s, flume's too) that spins a
    /// little, then yields the CPU, and never parks the thread. No poisoning, so a
    /// panic elsewhere (a waker's, a value's destructor) never makes a channel
    /// unusable.
    ///
    /// Why not parking_lot's mutex: every critical section here is a few dozen
    /// instructions, and its holder is running (an M holds a CPU). When a producer and
    /// a consumer on two CPUs hammer one channel, parking_lot parks the loser in the
    /// kernel after a short spin, and the winner's unlock must then wake it: on
    /// spsc_cap64 under gort a fifth of the time went to that futex convoy, and a
    /// parked M parks its P and all its Gs with it. Go's channel lock spins, then
    /// yields, before it sleeps.
    pub(crate) type Mutex<T> = spin::mutex::SpinMutex<T, Backoff>;

    pub(crate) type MutexGuard<'a, T> = spin::mutex::SpinMutexGuard<'a, T>;

    /// How a thread waits for the lock: a short spin, and every eighth wait a yield,
    /// so that a holder that lost its CPU (more threads than CPUs) gets to run.
    pub(crate) struct Backoff;

    impl spin::relax::RelaxStrategy for Backoff {
        #[inline]
        fn relax() {
            thread_local! {
                static WAITS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
            }
            let n = WAITS.with(|w| {
                let n = w.get().wrapping_add(1);
                w.set(n);
                n
            });
            if n % 8 == 0 {
                std::thread::yield_now();
            } else {
                for _ in 0..16 {
                    std::hint::spin_loop();
                }
            }
        }
    }

    pub(crate) mod thread {
        pub(crate) use std::thread::{current, park, park_timeout, Thread};
    }
}

#[cfg(loom)]
mod imp {
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
