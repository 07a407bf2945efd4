//! The `Waker` of a G: the task pointer itself, counted in the state word. A wake is a
//! CAS on that word plus, when it must be queued, one push through the scheduler.

use super::raw::{Header, RawTask};
use super::state::TransitionToNotified;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// # Safety
/// The returned waker owns one reference: the caller must own one to give it, or wrap
/// the waker in `ManuallyDrop` and never drop it.
pub(super) unsafe fn waker_from_raw(task: RawTask) -> Waker {
    let raw = RawWaker::new(task.as_ptr().as_ptr() as *const (), &VTABLE);
    // SAFETY: VTABLE's functions uphold RawWaker's contract for task pointers.
    unsafe { Waker::from_raw(raw) }
}

/// # Safety
/// `ptr` must be a task header pointer owned by a waker.
unsafe fn task(ptr: *const ()) -> RawTask {
    // SAFETY: wakers are only made from live task headers (non-null).
    unsafe { RawTask::from_raw(NonNull::new_unchecked(ptr as *mut Header)) }
}

unsafe fn clone(ptr: *const ()) -> RawWaker {
    // SAFETY: the waker being cloned holds a reference.
    let t = unsafe { task(ptr) };
    t.state().ref_inc();
    RawWaker::new(ptr, &VTABLE)
}

unsafe fn wake(ptr: *const ()) {
    // SAFETY: this waker holds a reference, which the transition consumes.
    let t = unsafe { task(ptr) };
    match t.state().transition_to_notified_by_val() {
        TransitionToNotified::Submit => t.schedule(),
        TransitionToNotified::Dealloc => t.dealloc(),
        TransitionToNotified::DoNothing => {}
    }
}

unsafe fn wake_by_ref(ptr: *const ()) {
    // SAFETY: this waker holds a reference for the duration of the call.
    let t = unsafe { task(ptr) };
    match t.state().transition_to_notified_by_ref() {
        TransitionToNotified::Submit => t.schedule(),
        TransitionToNotified::Dealloc => unreachable!("a wake by reference freed its task"),
        TransitionToNotified::DoNothing => {}
    }
}

unsafe fn drop_waker(ptr: *const ()) {
    // SAFETY: this waker's reference is given up here.
    unsafe { task(ptr) }.drop_reference();
}
