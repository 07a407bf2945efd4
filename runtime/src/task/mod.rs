//! The G: a spawned future in one allocation, with the handles that own it.
//!
//! - `RawTask` (raw.rs): the untyped pointer; `State` (state.rs): the state word.
//! - `Task`: one counted reference, as the owned list holds it.
//! - `Notified`: the reference that stands for "this G is runnable"; run queues hold
//!   these, and running one consumes it. Dropping one instead cancels the task: a G
//!   whose only way to run is thrown away (a queue dropped at shutdown, a spawn into
//!   a runtime that is closing) must not keep its future, or its `JoinHandle`
//!   waiting, forever.
//!
//! A G joins the owned list only when its first poll returns `Pending` (`bind`):
//! until then it is always in a run queue or being polled, and shutdown finds it
//! there. Most Gs never wait (a leaf of a fan-out, a short job) and so never take the
//! list's lock.
//! - `JoinHandle` (join.rs): the user's reference, which reads the output.
//!
//! The scheduler is reached through `Schedule`, so that loom models can drive tasks
//! with a toy scheduler.

mod error;
mod harness;
mod id;
mod join;
pub(crate) mod owned;
mod pool;
pub(crate) mod raw;
mod state;
mod waker;

pub use crate::spawn::Builder;
pub use error::JoinError;
pub use id::Id;
pub use join::JoinHandle;

use raw::{Header, RawTask};
use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::ptr::NonNull;
use std::sync::Arc;

/// What a task needs from whoever runs it.
pub(crate) trait Schedule: Send + Sync + 'static {
    /// A G was woken or spawned: queue it (runnext when the waker is a running G).
    fn schedule(&self, task: Notified);
    /// A G woke itself while running: queue it behind the others.
    fn yield_now(&self, task: Notified);
    /// A G returned `Pending` for the first time: from now on it may be reachable
    /// only through its wakers, so the scheduler keeps this reference to find it at
    /// shutdown. `Err` gives it back when the scheduler is closing: the caller then
    /// cancels the task.
    fn bind(&self, task: Task) -> Result<(), Task>;
    /// A G finished: remove it from the owned list (if `bind` put it there),
    /// returning the list's reference.
    fn release(&self, task: &Task) -> Option<Task>;
    /// A G panicked (the payload is about to go to its `JoinHandle`).
    fn task_panicked(&self, _header: &Header, _payload: &(dyn Any + Send)) {}
}

/// One counted reference to a task.
pub(crate) struct Task {
    raw: RawTask,
}

/// The reference that makes a task runnable; see `state.rs`, invariant 1.
pub(crate) struct Notified(RawTask);

impl Task {
    fn from_raw(raw: RawTask) -> Task {
        Task { raw }
    }

    pub(crate) fn raw(&self) -> RawTask {
        self.raw
    }

    pub(crate) fn header(&self) -> &Header {
        self.raw.header()
    }

    pub(crate) fn id(&self) -> Id {
        self.header().id
    }

    /// Cancels the task unless it is running, and gives up this reference.
    pub(crate) fn shutdown(self) {
        let raw = self.raw;
        std::mem::forget(self);
        raw.shutdown();
    }

    /// A new counted reference to the task behind `raw`.
    pub(crate) fn clone_raw(raw: RawTask) -> Task {
        raw.header().state.ref_inc();
        Task { raw }
    }

    /// Turns a reference that an owner took out with `into_raw` back into a `Task`.
    ///
    /// # Safety
    /// `raw` must carry one reference that nobody else will release.
    pub(crate) unsafe fn from_owned_raw(raw: RawTask) -> Task {
        Task { raw }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.raw.drop_reference();
    }
}

impl Notified {
    /// Polls the task once, consuming this reference.
    pub(crate) fn run(self) {
        self.into_raw().poll();
    }

    pub(crate) fn id(&self) -> Id {
        self.0.header().id
    }

    pub(crate) fn into_raw(self) -> RawTask {
        let raw = self.0;
        std::mem::forget(self);
        raw
    }

    /// # Safety
    /// `raw` must carry a `Notified` reference, as produced by `into_raw`.
    pub(crate) unsafe fn from_raw(raw: RawTask) -> Notified {
        Notified(raw)
    }
}

impl Drop for Notified {
    /// Nobody will run this G (module docs): cancel it unless it is running or done,
    /// and give up this reference.
    fn drop(&mut self) {
        self.0.shutdown();
    }
}

impl std::fmt::Debug for Notified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Notified").field(&self.id()).finish()
    }
}

/// Makes a task: returns its first `Notified` and its `JoinHandle`.
pub(crate) fn new_task<F, S>(
    future: F,
    scheduler: S,
    name: Option<Arc<str>>,
) -> (Notified, JoinHandle<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    let raw = RawTask::new(future, scheduler, Id::next(), name);
    (Notified(raw), JoinHandle::new(raw))
}

/// The G being polled on this thread (its header, valid during the poll), and
/// whether it asked to yield during this poll (`request_yield`).
struct Current {
    task: Cell<Option<NonNull<Header>>>,
    yield_requested: Cell<bool>,
}

thread_local! {
    static CURRENT: Current = const {
        Current {
            task: Cell::new(None),
            yield_requested: Cell::new(false),
        }
    };
}

/// Marks the G being polled on this thread, for panic reports, schedtrace and
/// `request_yield`.
pub(crate) struct CurrentTask {
    prev: Option<NonNull<Header>>,
}

impl CurrentTask {
    #[inline]
    pub(crate) fn enter(header: &Header) -> CurrentTask {
        let prev = CURRENT.with(|c| c.task.replace(Some(NonNull::from(header))));
        CurrentTask { prev }
    }

    /// The id and name of the G this thread is polling, if any.
    pub(crate) fn get() -> Option<(Id, Option<Arc<str>>)> {
        CURRENT.with(|c| {
            c.task.get().map(|h| {
                // SAFETY: the pointer is set only while `CurrentTask` guards a poll of
                // that task, whose caller holds a reference.
                let h = unsafe { h.as_ref() };
                (h.id, h.name.clone())
            })
        })
    }

    /// Whether the G asked to yield during the poll that just ended; clears it.
    #[inline]
    pub(crate) fn take_yield_request() -> bool {
        CURRENT.with(|c| c.yield_requested.replace(false))
    }
}

impl Drop for CurrentTask {
    #[inline]
    fn drop(&mut self) {
        CURRENT.with(|c| c.task.set(self.prev));
    }
}

/// `yield_now`'s fast path: if `waker` is the waker of the G this thread is polling
/// (and not, say, that of an executor nested inside it), notes that the G wants to
/// run again after the others, and returns true. Its runner then requeues it as it
/// leaves the poll, in the same state-word CAS that ends the poll, instead of a wake
/// CAS now and that one later.
pub(crate) fn request_yield(waker: &std::task::Waker) -> bool {
    CURRENT
        .try_with(|c| {
            let Some(h) = c.task.get() else { return false };
            // SAFETY: as in `get`; the waker is never dropped (ManuallyDrop), so it
            // takes no reference.
            let own =
                std::mem::ManuallyDrop::new(unsafe { waker::waker_from_raw(RawTask::from_raw(h)) });
            if !waker.will_wake(&own) {
                return false;
            }
            c.yield_requested.set(true);
            true
        })
        .unwrap_or(false)
}

/// The id of the task this thread is running, as Go's goroutine id; `None` outside
/// a task.
pub fn id() -> Option<Id> {
    CurrentTask::get().map(|(id, _)| id)
}

/// The message of a panic payload, when it is a string.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> Option<String> {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        Some((*s).to_string())
    } else {
        payload.downcast_ref::<String>().cloned()
    }
}
