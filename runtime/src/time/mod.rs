//! Time: `sleep`, `sleep_until`, `timeout`, and the timer channels `after`, `tick`
//! and `Ticker`, on the runtime's timing wheel.
//!
//! A `Sleep` registers with the wheel the first time it is polled (so building one is
//! free) and unregisters when dropped, which frees its entry at once. It completes
//! only once the clock has reached its deadline: nothing fires early.

mod chan;
#[cfg(all(test, not(loom)))]
mod choice;
mod coarse;
pub(crate) mod driver;
#[cfg(all(test, not(loom)))]
mod heap_alt;
mod wheel;

use crate::sched::{context, Shared};
pub use chan::{after, tick, Ticker};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
pub use std::time::Instant;

/// Waits until `duration` has elapsed.
///
/// ```
/// use std::time::{Duration, Instant};
/// gort::run(async {
///     let start = Instant::now();
///     gort::time::sleep(Duration::from_millis(5)).await;
///     assert!(start.elapsed() >= Duration::from_millis(5));
/// });
/// ```
///
/// # Panics
/// When polled on a thread with no gort runtime.
pub fn sleep(duration: Duration) -> Sleep {
    let deadline = Instant::now()
        .checked_add(duration)
        .unwrap_or_else(far_future);
    Sleep::new(deadline)
}

/// Waits until `deadline`.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(deadline)
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365 * 30)
}

/// The future of [`sleep`] and [`sleep_until`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    deadline: Instant,
    registration: Option<(Arc<Shared>, wheel::Key)>,
    done: bool,
}

impl Sleep {
    fn new(deadline: Instant) -> Sleep {
        Sleep {
            deadline,
            registration: None,
            done: false,
        }
    }

    /// The instant this sleep completes at (or after).
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// True once the sleep has completed.
    pub fn is_elapsed(&self) -> bool {
        self.done || Instant::now() >= self.deadline
    }

    /// Moves the deadline; the sleep is pending again until the new one.
    pub fn reset(&mut self, deadline: Instant) {
        self.unregister();
        self.deadline = deadline;
        self.done = false;
    }

    fn unregister(&mut self) {
        if let Some((handle, key)) = self.registration.take() {
            handle.timers.remove(key);
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(());
        }
        match &this.registration {
            Some((handle, key)) => {
                if Instant::now() >= this.deadline {
                    this.unregister();
                    this.done = true;
                    return Poll::Ready(());
                }
                if handle.timers.set_waker(*key, cx.waker()) {
                    return Poll::Pending;
                }
                // Fired between our clock read and now.
                this.registration = None;
                this.done = true;
                Poll::Ready(())
            }
            None => {
                let handle = context::current().unwrap_or_else(|| {
                    panic!(
                        "gort::time::sleep polled outside a gort runtime: there is no gort \
                         runtime on this thread (use gort::run, Runtime::block_on or gort::go)"
                    )
                });
                // A deadline far enough ahead needs no precise clock read (coarse.rs).
                if !handle.timers.coarse.surely_before(this.deadline)
                    && Instant::now() >= this.deadline
                {
                    this.done = true;
                    return Poll::Ready(());
                }
                match handle
                    .timers
                    .insert(&handle, this.deadline, cx.waker().clone())
                {
                    Ok(key) => {
                        this.registration = Some((handle, key));
                        Poll::Pending
                    }
                    Err(_) => {
                        this.done = true;
                        Poll::Ready(())
                    }
                }
            }
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.unregister();
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("registered", &self.registration.is_some())
            .field("done", &self.done)
            .finish()
    }
}

pin_project_lite::pin_project! {
    /// The future of [`timeout`].
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    #[derive(Debug)]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        sleep: Sleep,
    }
}

/// Runs `future` for at most `duration`. On `Err(Elapsed)` the future has been dropped
/// (when the `Timeout` is).
///
/// ```
/// use std::time::Duration;
/// gort::run(async {
///     let slow = gort::time::sleep(Duration::from_secs(10));
///     assert!(gort::time::timeout(Duration::from_millis(5), slow).await.is_err());
///     assert_eq!(gort::time::timeout(Duration::from_secs(1), async { 7 }).await, Ok(7));
/// });
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep(duration),
    }
}

/// Like [`timeout`], with a deadline.
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep_until(deadline),
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(v) = this.future.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        match Pin::new(this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The error of [`timeout`]: the deadline passed first.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Debug for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Elapsed")
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(_: Elapsed) -> std::io::Error {
        std::io::ErrorKind::TimedOut.into()
    }
}
