//! Timer channels (Go's `time.After`, `time.Tick`, `time.Ticker`): a channel of one
//! slot that the timing wheel feeds, so a deadline can stand in a `select!`.
//!
//! The timer's wake-up sends `Instant::now()` with `try_send`: a tick the receiver has
//! not taken yet makes the next one be dropped, as Go's ticker does, instead of piling
//! up. The channel stays open (a second receive waits, as in Go); when its last
//! receiver is dropped the timer is cancelled at once and the channel's sender freed.

use super::wheel::Key;
use crate::sched::{context, Shared};
use gort_channels::{bounded, Receiver, Sender};
use parking_lot::Mutex;
use std::sync::{Arc, Weak};
use std::task::{Wake, Waker};
use std::time::{Duration, Instant};

struct TimerChan {
    handle: Weak<Shared>,
    state: Mutex<State>,
}

struct State {
    tx: Option<Sender<Instant>>,
    key: Option<Key>,
    /// The deadline of the pending fire.
    next: Instant,
    /// `Some` for a ticker.
    period: Option<Duration>,
    /// `Ticker::stop` was called: a fire already on its way (taken from the wheel,
    /// not yet run) must neither tick nor re-arm.
    stopped: bool,
}

/// Sends the current instant on a channel after `duration` (Go's `time.After`); use it
/// to put a timeout into a `select!`. Dropping the receiver frees the timer at once.
///
/// ```
/// use std::time::Duration;
/// gort::run(async {
///     let (_tx, rx) = gort::chan::bounded::<u32>(0);
///     let timed_out = gort::select! {
///         recv(rx) -> _ => false,
///         recv(gort::time::after(Duration::from_millis(5))) -> _ => true,
///     };
///     assert!(timed_out);
/// });
/// ```
///
/// # Panics
/// On a thread with no gort runtime.
pub fn after(duration: Duration) -> Receiver<Instant> {
    start(duration, None).0
}

/// Sends the current instant every `period` (Go's `time.Tick`); ticks the receiver is
/// too slow to take are dropped. Dropping the receiver stops it.
///
/// # Panics
/// On a thread with no gort runtime, or if `period` is zero.
pub fn tick(period: Duration) -> Receiver<Instant> {
    Ticker::new(period).into_receiver()
}

/// A stoppable, resettable ticker (Go's `time.Ticker`).
///
/// ```
/// use std::time::Duration;
/// gort::run(async {
///     let ticker = gort::time::Ticker::new(Duration::from_millis(2));
///     for _ in 0..3 {
///         ticker.chan().recv().await.unwrap();
///     }
///     ticker.stop();
/// });
/// ```
#[derive(Debug)]
pub struct Ticker {
    rx: Receiver<Instant>,
    inner: Arc<TimerChan>,
}

impl std::fmt::Debug for TimerChan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimerChan").finish_non_exhaustive()
    }
}

impl Ticker {
    /// Ticks every `period`, the first one `period` from now.
    ///
    /// # Panics
    /// On a thread with no gort runtime, or if `period` is zero.
    pub fn new(period: Duration) -> Ticker {
        assert!(
            !period.is_zero(),
            "gort::time::Ticker needs a non-zero period"
        );
        let (rx, inner) = start(period, Some(period));
        Ticker { rx, inner }
    }

    /// The channel the ticks arrive on.
    pub fn chan(&self) -> &Receiver<Instant> {
        &self.rx
    }

    /// Stops the ticks (the channel stays open, as in Go).
    pub fn stop(&self) {
        self.inner.state.lock().stopped = true;
        self.inner.cancel_timer();
    }

    /// Stops, then ticks every `period` from now on.
    ///
    /// # Panics
    /// If `period` is zero.
    pub fn reset(&self, period: Duration) {
        assert!(
            !period.is_zero(),
            "gort::time::Ticker needs a non-zero period"
        );
        self.inner.cancel_timer();
        let mut s = self.inner.state.lock();
        s.period = Some(period);
        s.next = Instant::now() + period;
        s.stopped = false;
        drop(s);
        self.inner.arm();
    }

    fn into_receiver(self) -> Receiver<Instant> {
        self.rx
    }
}

fn start(first: Duration, period: Option<Duration>) -> (Receiver<Instant>, Arc<TimerChan>) {
    let handle = context::current().unwrap_or_else(|| {
        panic!(
            "gort::time::after/tick called outside a gort runtime: there is no gort runtime \
             on this thread"
        )
    });
    let (tx, rx) = bounded(1);
    let now = Instant::now();
    let inner = Arc::new(TimerChan {
        handle: Arc::downgrade(&handle),
        state: Mutex::new(State {
            tx: Some(tx.clone()),
            key: None,
            next: now
                .checked_add(first)
                .unwrap_or(now + Duration::from_secs(86_400 * 365 * 30)),
            period,
            stopped: false,
        }),
    });
    let on_drop = inner.clone();
    tx.on_receivers_dropped(move || on_drop.close());
    drop(tx);
    inner.arm();
    (rx, inner)
}

impl TimerChan {
    /// Registers the pending fire with the wheel.
    fn arm(self: &Arc<Self>) {
        let Some(handle) = self.handle.upgrade() else {
            return;
        };
        let mut s = self.state.lock();
        if s.tx.is_none() || s.stopped {
            return;
        }
        let waker = Waker::from(self.clone());
        match handle.timers.insert(&handle, s.next, waker) {
            Ok(key) => s.key = Some(key),
            Err(waker) => {
                drop(s);
                waker.wake();
            }
        }
    }

    fn cancel_timer(&self) {
        let key = self.state.lock().key.take();
        if let (Some(key), Some(handle)) = (key, self.handle.upgrade()) {
            handle.timers.remove(key);
        }
    }

    /// The last receiver is gone: no more fires, and the sender goes.
    fn close(&self) {
        self.cancel_timer();
        let tx = self.state.lock().tx.take();
        drop(tx);
    }
}

impl Wake for TimerChan {
    fn wake(self: Arc<Self>) {
        let now = Instant::now();
        let mut s = self.state.lock();
        s.key = None;
        if s.stopped {
            return;
        }
        if let Some(tx) = &s.tx {
            // Full: the receiver has not taken the last tick; drop this one.
            let _ = tx.try_send(now);
        }
        let Some(period) = s.period else { return };
        // The next tick on the period's grid after now: late ticks are skipped, not
        // bunched (Go's ticker).
        let behind = now.saturating_duration_since(s.next).as_nanos() / period.as_nanos().max(1);
        let steps = u32::try_from(behind + 1).unwrap_or(u32::MAX);
        s.next += period.saturating_mul(steps);
        drop(s);
        self.arm();
    }
}
