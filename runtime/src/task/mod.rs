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

/// The polled G's id and a pointer to its name (valid during the poll).
type CurrentSlot = Option<(Id, *const Option<Arc<str>>)>;

thread_local! {
    static CURRENT: Cell<CurrentSlot> = const { Cell::new(None) };
}

/// Marks the G being polled on this thread, for panic reports and schedtrace.
pub(crate) struct CurrentTask {
    prev: CurrentSlot,
}

impl CurrentTask {
    pub(crate) fn enter(header: &Header) -> CurrentTask {
        let prev = CURRENT.with(|c| c.replace(Some((header.id, &header.name as *const _))));
        CurrentTask { prev }
    }

    /// The id and name of the G this thread is polling, if any.
    pub(crate) fn get() -> Option<(Id, Option<Arc<str>>)> {
        CURRENT.with(|c| {
            c.get().map(|(id, name)| {
                // SAFETY: the pointer is set only while `CurrentTask` guards a poll of
                // that task, whose header outlives the poll.
                (id, unsafe { (*name).clone() })
            })
        })
    }
}

impl Drop for CurrentTask {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.prev));
    }
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
