//! `WaitGroup` (Go's `sync.WaitGroup`): a counter that waiters wait to see at zero.
//!
//! The counter and the current "zero" channel sit under one lock. A waiter that finds
//! the counter above zero takes a receiver of the channel and waits for it to close;
//! the `done` that brings the counter to zero closes it and forgets it, so the next
//! round (a later `add`) gets a fresh channel. Being a gort channel, the wait works
//! from a task (`recv().await`) and from a plain thread (`recv_blocking`) alike.

use crate::loom::{Arc, Mutex};
use gort_channels::{bounded, Receiver, Sender};
use std::fmt;

/// Waits for a collection of goroutines to finish: `add` before starting each,
/// `done` as each ends, `wait` for the count to reach zero. Clones share the counter.
///
/// ```
/// use gort::sync::WaitGroup;
/// use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
/// use std::sync::Arc;
/// gort::run(async {
///     let wg = WaitGroup::new();
///     let sum = Arc::new(AtomicUsize::new(0));
///     for i in 1..=10 {
///         wg.add(1);
///         let (wg, sum) = (wg.clone(), sum.clone());
///         gort::go(async move {
///             sum.fetch_add(i, SeqCst);
///             wg.done();
///         });
///     }
///     wg.wait().await;
///     assert_eq!(sum.load(SeqCst), 55);
/// });
/// ```
#[derive(Clone)]
pub struct WaitGroup(Arc<Mutex<State>>);

struct State {
    count: usize,
    /// Closed when `count` next reaches zero; made by the first waiter of a round.
    zero: Option<(Sender<()>, Receiver<()>)>,
}

impl WaitGroup {
    /// A wait group with a count of zero.
    pub fn new() -> WaitGroup {
        WaitGroup(Arc::new(Mutex::new(State {
            count: 0,
            zero: None,
        })))
    }

    /// Adds `n` to the counter.
    ///
    /// # Panics
    /// If the counter would overflow.
    pub fn add(&self, n: usize) {
        let mut s = self.0.lock();
        s.count = s
            .count
            .checked_add(n)
            .expect("gort::sync::WaitGroup counter overflow");
    }

    /// Subtracts one from the counter; at zero, every waiter is released.
    ///
    /// # Panics
    /// If the counter is zero already ("negative WaitGroup counter", as Go).
    pub fn done(&self) {
        let zero = {
            let mut s = self.0.lock();
            let Some(count) = s.count.checked_sub(1) else {
                drop(s);
                panic!(
                    "gort::sync::WaitGroup: negative counter (done() called more times than \
                     add() counted)"
                );
            };
            s.count = count;
            if count > 0 {
                return;
            }
            s.zero.take()
        };
        // Closed outside the lock: closing wakes the waiters.
        if let Some((tx, _)) = zero {
            tx.close();
        }
    }

    /// The counter now (it may change at once; for diagnostics).
    pub fn count(&self) -> usize {
        self.0.lock().count
    }

    /// `None` when the counter is zero now, else a receiver closed when it gets there.
    fn zero(&self) -> Option<Receiver<()>> {
        let mut s = self.0.lock();
        if s.count == 0 {
            return None;
        }
        let (_, rx) = s.zero.get_or_insert_with(|| bounded(0));
        Some(rx.clone())
    }

    /// Waits until the counter is zero.
    pub async fn wait(&self) {
        if let Some(rx) = self.zero() {
            // Only ever closed: `None` is the signal.
            let _ = rx.recv().await;
        }
    }

    /// Blocks this thread until the counter is zero (for plain threads, not tasks).
    pub fn wait_blocking(&self) {
        if let Some(rx) = self.zero() {
            let _ = rx.recv_blocking();
        }
    }
}

impl Default for WaitGroup {
    fn default() -> Self {
        WaitGroup::new()
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitGroup")
            .field("count", &self.count())
            .finish()
    }
}
