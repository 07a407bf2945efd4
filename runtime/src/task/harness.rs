//! What happens to a G when it is run, woken, joined, aborted or shut down: the
//! generic half of the task, reached through the vtable in `raw.rs`.
//!
//! Each operation first wins a transition in `state.rs`, which says who may touch the
//! future or the output; the code here only acts on what the transition granted.

use super::raw::{Cell, Header, RawTask, Stage};
use super::state::{TransitionToIdle, TransitionToRunning};
use super::{JoinError, Notified, Schedule, Task};
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

pub(super) struct Harness<F: Future, S: 'static> {
    cell: NonNull<Cell<F, S>>,
}

impl<F, S> Harness<F, S>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    /// # Safety
    /// `ptr` must be the header of a live `Cell<F, S>`.
    pub(super) unsafe fn from_raw(ptr: NonNull<Header>) -> Self {
        Harness { cell: ptr.cast() }
    }

    fn cell(&self) -> &Cell<F, S> {
        // SAFETY: the caller of `from_raw` holds a reference, keeping the cell alive.
        unsafe { self.cell.as_ref() }
    }

    fn raw(&self) -> RawTask {
        // SAFETY: the header is the first field of the live cell.
        unsafe { RawTask::from_raw(self.cell.cast()) }
    }

    fn header(&self) -> &Header {
        &self.cell().header
    }

    /// Runs the stage closure on the future or output.
    ///
    /// # Safety
    /// The caller holds `RUNNING`, or owns the output after `COMPLETE`.
    unsafe fn with_stage<R>(&self, f: impl FnOnce(&mut Stage<F>) -> R) -> R {
        // SAFETY: exclusive by the caller's contract (state.rs, invariants 2 and 3).
        self.cell()
            .stage
            .with_mut(|stage| f(unsafe { &mut *stage }))
    }

    pub(super) fn poll(self) {
        match self.header().state.transition_to_running() {
            TransitionToRunning::Success => {}
            TransitionToRunning::Cancelled => {
                self.cancel_and_complete();
                self.raw().drop_reference();
                return;
            }
            TransitionToRunning::Failed => {
                self.raw().drop_reference();
                return;
            }
        }

        let Some(yielded) = self.poll_future() else {
            self.complete();
            self.raw().drop_reference();
            return;
        };

        // First `Pending`: from here on the G may be reachable only through its
        // wakers, so it joins the owned list (mod.rs). Still RUNNING: nobody else can
        // complete it before it is there.
        if !self.header().is_bound() {
            if let Err(refused) = self.cell().scheduler.bind(Task::clone_raw(self.raw())) {
                // The runtime is shutting down: nobody would ever find this G.
                drop(refused);
                self.cancel_and_complete();
                self.raw().drop_reference();
                return;
            }
        }

        match self.header().state.transition_to_idle(yielded) {
            TransitionToIdle::Ok => {}
            TransitionToIdle::OkDealloc => self.raw().dealloc(),
            TransitionToIdle::OkNotified => {
                // Woken while it ran (e.g. `yield_now`): back of the queue, not runnext,
                // or it would run again at once. Our reference goes with it.
                self.cell().scheduler.yield_now(Notified(self.raw()));
            }
            TransitionToIdle::Cancelled => {
                self.cancel_and_complete();
                self.raw().drop_reference();
            }
        }
    }

    /// Polls the future once: `None` when it finished (output or panic stored), else
    /// whether it asked to yield (`task::request_yield`).
    fn poll_future(&self) -> Option<bool> {
        let header = self.header();
        // SAFETY: the waker is built on this task's own reference-counted pointer and
        // is never dropped (ManuallyDrop), so it takes no reference of its own.
        let waker = ManuallyDrop::new(unsafe { super::waker::waker_from_raw(self.raw()) });
        let mut cx = Context::from_waker(&waker);
        let _guard = super::CurrentTask::enter(header);

        // SAFETY: we hold RUNNING.
        let res = catch_unwind(AssertUnwindSafe(|| unsafe {
            self.with_stage(|stage| match stage {
                Stage::Running(fut) => {
                    // SAFETY: the future lives in the heap cell and is never moved
                    // until it is dropped in place.
                    let fut = std::pin::Pin::new_unchecked(fut);
                    fut.poll(&mut cx)
                }
                _ => unreachable!("a task was polled after it finished"),
            })
        }));
        let yielded = super::CurrentTask::take_yield_request();
        let output = match res {
            Ok(Poll::Pending) => return Some(yielded),
            Ok(Poll::Ready(out)) => Ok(out),
            Err(payload) => {
                self.cell().scheduler.task_panicked(header, &*payload);
                Err(JoinError::panic(header.id, header.name.clone(), payload))
            }
        };
        self.drop_future_then_store(output);
        None
    }

    /// Replaces the future by the output. A panic from the future's destructor
    /// replaces the output by that panic, as a panic in the body would.
    fn drop_future_then_store(&self, output: Result<F::Output, JoinError>) {
        let header = self.header();
        // SAFETY: we hold RUNNING.
        let dropped = catch_unwind(AssertUnwindSafe(|| unsafe {
            self.with_stage(|s| *s = Stage::Consumed)
        }));
        let output = match dropped {
            Ok(()) => output,
            Err(payload) => Err(JoinError::panic(header.id, header.name.clone(), payload)),
        };
        // SAFETY: we hold RUNNING.
        unsafe { self.with_stage(|s| *s = Stage::Finished(output)) };
    }

    fn cancel_and_complete(&self) {
        let header = self.header();
        let err = JoinError::cancelled(header.id, header.name.clone());
        self.drop_future_then_store(Err(err));
        self.complete();
    }

    /// Publishes the output, tells the JoinHandle, and leaves the owned list.
    fn complete(&self) {
        let prev = self.header().state.transition_to_complete();
        if !prev.is_join_interested() {
            // Nobody will read it: the output is ours to drop (state.rs, invariant 3).
            // SAFETY: as just said.
            let _ = catch_unwind(AssertUnwindSafe(|| unsafe {
                self.with_stage(|s| *s = Stage::Consumed)
            }));
        } else {
            self.header().join_waker.wake();
        }
        // Leaving the owned list gives back its reference; the caller still holds one,
        // so the task cannot be freed under us here.
        let me = ManuallyDrop::new(Task::from_raw(self.raw()));
        drop(self.cell().scheduler.release(&me));
    }

    pub(super) fn schedule(self) {
        self.cell().scheduler.schedule(Notified(self.raw()));
    }

    /// # Safety
    /// `dst` must point to a `Poll<Result<F::Output, JoinError>>`.
    pub(super) unsafe fn try_read_output(
        self,
        dst: *mut Poll<Result<F::Output, JoinError>>,
        waker: &Waker,
    ) {
        let state = &self.header().state;
        if !state.load().is_complete() {
            self.header().join_waker.register(waker);
            // Re-check after registering: a completion in between either is seen here
            // or finds our waker (atomic_waker.rs).
            if !state.load().is_complete() {
                return;
            }
        }
        // SAFETY: COMPLETE with JOIN_INTEREST still set (we are the handle): the output
        // is the handle's (state.rs, invariant 3).
        let stage = unsafe { self.with_stage(|s| std::mem::replace(s, Stage::Consumed)) };
        match stage {
            // SAFETY: the caller vouches for `dst`.
            Stage::Finished(out) => unsafe { *dst = Poll::Ready(out) },
            _ => panic!("JoinHandle polled after it returned its output"),
        }
    }

    pub(super) fn drop_join_handle_slow(self) {
        if self.header().state.unset_join_interested().is_err() {
            // Complete already: the output is ours to drop.
            // SAFETY: state.rs, invariant 3.
            let _ = catch_unwind(AssertUnwindSafe(|| unsafe {
                self.with_stage(|s| *s = Stage::Consumed)
            }));
        }
        drop(self.header().join_waker.take());
        self.raw().drop_reference();
    }

    pub(super) fn shutdown(self) {
        if self.header().state.transition_to_shutdown() {
            self.cancel_and_complete();
        }
        self.raw().drop_reference();
    }
}
