//! The G's single allocation and its type-erased handle.
//!
//! A task is one heap block, `Cell<F, S>`: the non-generic `Header` first (state word,
//! vtable, id, name, join waker), then the scheduler handle, then the future or its
//! output. Everything outside this module and `harness.rs` holds a `RawTask`, a thin
//! pointer to the header, and reaches the generic code through the vtable.

use super::harness::Harness;
use super::state::State;
use super::{Id, Schedule};
use crate::loom::atomic::AtomicUsize;
use crate::loom::UnsafeCell;
use crate::util::atomic_waker::AtomicWaker;
use std::alloc::Layout;
use std::future::Future;
use std::ptr::NonNull;
use std::sync::Arc;
use std::task::Waker;

pub(crate) struct Header {
    pub(super) state: State,
    pub(super) vtable: &'static Vtable,
    pub(crate) id: Id,
    pub(crate) name: Option<Arc<str>>,
    /// The slab key in the owned list, `UNBOUND` until the G first waits. Written by
    /// `OwnedTasks::bind`, under the shard's lock, by the holder of `RUNNING`; read
    /// by later holders of `RUNNING` (the state word's AcqRel transitions order them)
    /// and under the shard's lock.
    pub(crate) owned_key: AtomicUsize,
    pub(super) join_waker: AtomicWaker,
}

/// `owned_key` of a G that is not in the owned list.
pub(crate) const UNBOUND: usize = usize::MAX;

impl Header {
    /// Whether the G is in the owned list. Only for the holder of `RUNNING`.
    #[inline]
    pub(crate) fn is_bound(&self) -> bool {
        // Relaxed: see `owned_key`.
        self.owned_key.load(crate::loom::atomic::Ordering::Relaxed) != UNBOUND
    }
}

pub(super) struct Vtable {
    pub(super) poll: unsafe fn(NonNull<Header>),
    pub(super) schedule: unsafe fn(NonNull<Header>),
    pub(super) dealloc: unsafe fn(NonNull<Header>),
    pub(super) try_read_output: unsafe fn(NonNull<Header>, *mut (), &Waker),
    pub(super) drop_join_handle_slow: unsafe fn(NonNull<Header>),
    pub(super) shutdown: unsafe fn(NonNull<Header>),
}

pub(super) enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, super::JoinError>),
    Consumed,
}

#[repr(C)]
pub(super) struct Cell<F: Future, S> {
    pub(super) header: Header,
    pub(super) scheduler: S,
    /// Touched only by the holder of `RUNNING`, or after `COMPLETE` by the owner of
    /// the output (see `state.rs`, invariant 3).
    pub(super) stage: UnsafeCell<Stage<F>>,
}

/// A thin, copyable pointer to a task. It owns nothing: `Task`, `Notified` and
/// `JoinHandle` wrap it and own one reference each.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawTask {
    ptr: NonNull<Header>,
}

// SAFETY: a task's future and output are `Send` (required by `RawTask::new`) and the
// header is only reached through atomics or under the state protocol.
unsafe impl Send for RawTask {}
// SAFETY: as above.
unsafe impl Sync for RawTask {}

fn vtable<F, S>() -> &'static Vtable
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    &Vtable {
        poll: poll::<F, S>,
        schedule: schedule::<F, S>,
        dealloc: dealloc::<F, S>,
        try_read_output: try_read_output::<F, S>,
        drop_join_handle_slow: drop_join_handle_slow::<F, S>,
        shutdown: shutdown::<F, S>,
    }
}

impl RawTask {
    pub(crate) fn new<F, S>(future: F, scheduler: S, id: Id, name: Option<Arc<str>>) -> RawTask
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
        S: Schedule,
    {
        let cell = Cell {
            header: Header {
                state: State::new(),
                vtable: vtable::<F, S>(),
                id,
                name,
                owned_key: AtomicUsize::new(UNBOUND),
                join_waker: AtomicWaker::new(),
            },
            scheduler,
            stage: UnsafeCell::new(Stage::Running(future)),
        };
        let ptr = super::pool::alloc(Layout::new::<Cell<F, S>>()).cast::<Cell<F, S>>();
        // SAFETY: the pool gave memory for this layout, uninitialised and ours.
        unsafe { ptr.as_ptr().write(cell) };
        RawTask { ptr: ptr.cast() }
    }

    /// # Safety
    /// `ptr` must point to a live task header.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> RawTask {
        RawTask { ptr }
    }

    pub(crate) fn as_ptr(self) -> NonNull<Header> {
        self.ptr
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: whoever holds a RawTask holds (or borrows from someone holding) a
        // reference, so the allocation is live.
        unsafe { self.ptr.as_ref() }
    }

    pub(super) fn state(&self) -> &State {
        &self.header().state
    }

    /// Runs the task. The caller gives up the `Notified` reference it held.
    pub(super) fn poll(self) {
        // SAFETY: the vtable was built for this task's concrete types.
        unsafe { (self.header().vtable.poll)(self.ptr) }
    }

    /// Hands a `Notified` reference (already counted) to the task's scheduler.
    pub(super) fn schedule(self) {
        // SAFETY: as in `poll`.
        unsafe { (self.header().vtable.schedule)(self.ptr) }
    }

    pub(super) fn dealloc(self) {
        // SAFETY: as in `poll`; called once, when the last reference went away.
        unsafe { (self.header().vtable.dealloc)(self.ptr) }
    }

    /// # Safety
    /// `dst` must point to a `Poll<Result<T, JoinError>>` where `T` is the task's
    /// output type.
    pub(super) unsafe fn try_read_output(self, dst: *mut (), waker: &Waker) {
        // SAFETY: as in `poll`, and the caller vouches for `dst`.
        unsafe { (self.header().vtable.try_read_output)(self.ptr, dst, waker) }
    }

    pub(super) fn drop_join_handle_slow(self) {
        // SAFETY: as in `poll`.
        unsafe { (self.header().vtable.drop_join_handle_slow)(self.ptr) }
    }

    /// Cancels the task if nobody is running it, then drops the caller's reference.
    pub(super) fn shutdown(self) {
        // SAFETY: as in `poll`.
        unsafe { (self.header().vtable.shutdown)(self.ptr) }
    }

    #[inline]
    pub(super) fn drop_reference(self) {
        if self.state().ref_dec() {
            self.dealloc();
        }
    }
}

unsafe fn poll<F, S>(ptr: NonNull<Header>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    // SAFETY: the vtable is only reachable from a task built with these types.
    unsafe { Harness::<F, S>::from_raw(ptr) }.poll();
}

unsafe fn schedule<F, S>(ptr: NonNull<Header>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    // SAFETY: as in `poll`.
    unsafe { Harness::<F, S>::from_raw(ptr) }.schedule();
}

unsafe fn dealloc<F, S>(ptr: NonNull<Header>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    let cell = ptr.cast::<Cell<F, S>>();
    // SAFETY: `RawTask::new` wrote this `Cell<F, S>` into memory from the pool, and
    // this runs once, after the last reference is gone: nothing reads it again.
    unsafe {
        std::ptr::drop_in_place(cell.as_ptr());
        super::pool::dealloc(cell.cast(), Layout::new::<Cell<F, S>>());
    }
}

unsafe fn try_read_output<F, S>(ptr: NonNull<Header>, dst: *mut (), waker: &Waker)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    // SAFETY: as in `poll`; the caller vouches for `dst`'s type.
    unsafe { Harness::<F, S>::from_raw(ptr).try_read_output(dst.cast(), waker) };
}

unsafe fn drop_join_handle_slow<F, S>(ptr: NonNull<Header>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    // SAFETY: as in `poll`.
    unsafe { Harness::<F, S>::from_raw(ptr) }.drop_join_handle_slow();
}

unsafe fn shutdown<F, S>(ptr: NonNull<Header>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    // SAFETY: as in `poll`.
    unsafe { Harness::<F, S>::from_raw(ptr) }.shutdown();
}
