//! The one door through which the runtime reaches atomics, cells, locks and threads.
//!
//! Under `cfg(loom)` every type here is loom's model type, so the models in
//! `tests/loom_*.rs` explore every interleaving of the real code; otherwise they are
//! the std / parking_lot types at zero cost. `UnsafeCell` keeps loom's closure API
//! (`with`, `with_mut`) in both builds so that code compiles the same way under each.

#[cfg(not(loom))]
mod imp {
    pub(crate) use std::sync::atomic;
    pub(crate) use std::sync::Arc;

    /// A `Mutex` without poisoning: a panicking task never holds a scheduler lock.
    #[derive(Debug, Default)]
    pub(crate) struct Mutex<T>(parking_lot::Mutex<T>);

    pub(crate) type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;

    impl<T> Mutex<T> {
        pub(crate) const fn new(value: T) -> Self {
            Mutex(parking_lot::const_mutex(value))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock()
        }
    }

    /// Condition variable paired with [`Mutex`].
    #[derive(Debug, Default)]
    pub(crate) struct Condvar(parking_lot::Condvar);

    impl Condvar {
        pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            self.0.wait(guard);
        }

        /// Waits until notified or `deadline`; spurious returns are allowed.
        pub(crate) fn wait_until<T>(
            &self,
            guard: &mut MutexGuard<'_, T>,
            deadline: std::time::Instant,
        ) {
            self.0.wait_until(guard, deadline);
        }

        pub(crate) fn notify_one(&self) {
            self.0.notify_one();
        }
    }

    /// Waits a moment for another thread's brief step (a rare path).
    pub(crate) fn spin_wait() {
        std::thread::yield_now();
    }

    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(data: T) -> Self {
            UnsafeCell(std::cell::UnsafeCell::new(data))
        }

        #[allow(dead_code)]
        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
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
    #[allow(unused_imports)] // used by the models only
    pub(crate) use loom::thread;

    /// Lets loom schedule the thread being waited for.
    pub(crate) fn spin_wait() {
        loom::thread::yield_now();
    }

    #[derive(Debug, Default)]
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Mutex(loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock().unwrap()
        }
    }

    #[derive(Debug, Default)]
    pub(crate) struct Condvar(loom::sync::Condvar);

    impl Condvar {
        #[allow(dead_code)] // parity with the std shim
        pub(crate) fn new() -> Self {
            Condvar(loom::sync::Condvar::new())
        }

        pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            take_guard(guard, |g| self.0.wait(g).unwrap());
        }

        /// Loom has no clock: a timed wait is modelled as a wait that may also
        /// return spuriously, which the callers must tolerate anyway.
        pub(crate) fn wait_until<T>(
            &self,
            guard: &mut MutexGuard<'_, T>,
            _deadline: std::time::Instant,
        ) {
            take_guard(guard, |g| {
                self.0
                    .wait_timeout(g, std::time::Duration::from_millis(1))
                    .unwrap()
                    .0
            });
        }

        pub(crate) fn notify_one(&self) {
            self.0.notify_one();
        }
    }

    /// loom's `Condvar::wait` takes the guard by value; ours borrows it like parking_lot.
    fn take_guard<'a, T>(
        slot: &mut MutexGuard<'a, T>,
        f: impl FnOnce(MutexGuard<'a, T>) -> MutexGuard<'a, T>,
    ) {
        // SAFETY: the guard is moved out and a guard for the same mutex moved back in
        // before anyone can observe `slot`; `f` does not panic except on loom's own
        // model failure, which aborts the whole model run anyway.
        unsafe {
            let g = std::ptr::read(slot);
            std::ptr::write(slot, f(g));
        }
    }
}

pub(crate) use imp::*;
