//! A one-slot wake-up and a countdown latch, built only on `std::task::Waker`.
//!
//! Used as the peer-neutral synchronisation of the benches: gort and tokio run the same
//! code, so neither gets a channel or notify primitive tuned for its own scheduler.
//! Both are deliberately plain (a `Mutex` around a waker slot): what the benches measure
//! is how fast each scheduler runs the woken task, not the primitive.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

/// A binary semaphore with room for one waiting task: `notify` sets the flag and wakes
/// the waiter, if any; `wait` completes once the flag is set, and clears it.
///
/// Notifications do not queue: two `notify` calls before a `wait` count as one. The
/// benches use it in strict alternation (ping-pong) or exactly once (completion signal).
#[derive(Debug, Default)]
pub struct Handoff {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    ready: bool,
    waiter: Option<Waker>,
}

impl Handoff {
    pub fn new() -> Handoff {
        Handoff::default()
    }

    /// Sets the flag and wakes the waiting task (outside the lock).
    pub fn notify(&self) {
        let waiter = {
            let mut s = self.state.lock().unwrap();
            s.ready = true;
            s.waiter.take()
        };
        if let Some(w) = waiter {
            w.wake();
        }
    }

    /// Completes once the flag is set (then clears it). One waiter at a time.
    pub fn wait(&self) -> Wait<'_> {
        Wait { handoff: self }
    }
}

/// The future of [`Handoff::wait`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
#[derive(Debug)]
pub struct Wait<'a> {
    handoff: &'a Handoff,
}

impl Future for Wait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.handoff.state.lock().unwrap();
        if s.ready {
            s.ready = false;
            return Poll::Ready(());
        }
        match &mut s.waiter {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

/// A countdown latch (Go's `sync.WaitGroup` with a fixed count): `done` is called `n`
/// times, the last call wakes the one task in `wait`.
#[derive(Debug)]
pub struct Countdown {
    remaining: AtomicUsize,
    zero: Handoff,
}

impl Countdown {
    pub fn new(n: usize) -> Countdown {
        assert!(n > 0, "Countdown::new(0) would never be signalled");
        Countdown {
            remaining: AtomicUsize::new(n),
            zero: Handoff::new(),
        }
    }

    pub fn done(&self) {
        // AcqRel: the last decrementer sees every earlier task's writes (Acquire) and
        // publishes them to the waiter through the Handoff's mutex.
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.zero.notify();
        }
    }

    /// Completes once `done` has been called `n` times.
    pub async fn wait(&self) {
        self.zero.wait().await;
    }
}
