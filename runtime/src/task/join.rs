//! `JoinHandle`: the spawner's reference to a G, and the way to its output.

use super::raw::RawTask;
use super::{Id, JoinError};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

/// An owned permission to await a task's output, as `std::thread::JoinHandle` is for
/// threads. Awaiting it gives `Ok(output)`, or `Err(JoinError)` if the task panicked or
/// was aborted. Dropping it detaches the task, which keeps running.
///
/// ```
/// let sum = gort::run(async {
///     let h = gort::go(async { 40 + 2 });
///     h.await.unwrap()
/// });
/// assert_eq!(sum, 42);
/// ```
#[must_use = "dropping a JoinHandle detaches the task; await it to get the output"]
pub struct JoinHandle<T> {
    raw: RawTask,
    _output: PhantomData<T>,
}

// SAFETY: the handle only moves `T` out (needs `T: Send`) and otherwise touches the
// task through atomics.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` only allows `abort`, `is_finished` and `id`, all atomic.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    pub(super) fn new(raw: RawTask) -> JoinHandle<T> {
        JoinHandle {
            raw,
            _output: PhantomData,
        }
    }

    /// Asks the task to stop: its future is dropped at its next scheduling point (at
    /// once if it is waiting), and awaiting this handle then gives a cancelled
    /// `JoinError`. A task that already finished keeps its output.
    pub fn abort(&self) {
        if self.raw.state().transition_to_notified_and_cancel() {
            self.raw.schedule();
        }
    }

    /// True once the task has finished, by completing, panicking or being aborted.
    pub fn is_finished(&self) -> bool {
        self.raw.state().load().is_complete()
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.raw.header().id
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut out: Poll<Result<T, JoinError>> = Poll::Pending;
        // SAFETY: `T` is the task's output type (fixed by `new_task`).
        unsafe {
            self.raw.try_read_output(
                &mut out as *mut Poll<Result<T, JoinError>> as *mut (),
                cx.waker(),
            )
        };
        out
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        self.raw.drop_join_handle_slow();
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}
