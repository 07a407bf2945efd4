//! Per-thread context: which runtime is current here, and the P this M holds.
//!
//! "Current runtime" is per thread: set on the runtime's Ms and, for the duration of
//! `block_on`, on the calling thread. The P lives here (not on the M's stack) so that
//! a wake or spawn made by the running G can reach its local run queue.

use super::p::{PCore, PSlot};
use super::Shared;
use crate::task::Notified;
use std::cell::{Cell, RefCell};
use std::sync::Arc;

struct Context {
    handle: RefCell<Option<Arc<Shared>>>,
    /// The P, between polls.
    core: RefCell<Option<Box<PCore>>>,
    /// This M's slot, where the P waits during a poll (p.rs, `PSlot`).
    slot: RefCell<Option<Arc<PSlot>>>,
    /// Index of the P whose G this M is polling.
    polling: Cell<Option<usize>>,
    /// `with_core` is using the P borrowed from the slot: a nested call (a task
    /// cancelled by a queue's overflow at shutdown, whose destructor wakes another)
    /// must not borrow it a second time.
    slot_borrowed: Cell<bool>,
    /// A G that woke itself during its poll (`yield_now`): queued by the M after the
    /// poll, when it holds its P again, instead of through the slot.
    yielded: Cell<Option<Notified>>,
    /// Set while the timer sleeper hands out the Gs of ready sockets: it takes a P
    /// and runs them itself next, so queueing them wakes no other M.
    defer_wake: Cell<bool>,
    /// Set while a netpoll hands out the Gs of ready sockets: they queue in order at
    /// the ring's tail, not through `runnext` (see `dispatching_net`).
    net_dispatch: Cell<bool>,
}

thread_local! {
    static CONTEXT: Context = const {
        Context {
            handle: RefCell::new(None),
            core: RefCell::new(None),
            slot: RefCell::new(None),
            polling: Cell::new(None),
            slot_borrowed: Cell::new(false),
            yielded: Cell::new(None),
            defer_wake: Cell::new(false),
            net_dispatch: Cell::new(false),
        }
    };
}

/// Runs `f` with wake-ups of other Ms deferred (see `Context::defer_wake`).
pub(crate) fn deferring_wakes<R>(f: impl FnOnce() -> R) -> R {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            let _ = CONTEXT.try_with(|cx| cx.defer_wake.set(false));
        }
    }
    CONTEXT.with(|cx| cx.defer_wake.set(true));
    let _reset = Reset;
    f()
}

/// Runs `f`, a netpoll's dispatch, with its wakes queued FIFO (Go's `injectglist`
/// puts a poll's Gs on the run queue in order). Through `runnext` each G woken would
/// displace the one before it, so the socket that became ready first would run last:
/// a tail latency of a whole batch.
pub(crate) fn dispatching_net<R>(f: impl FnOnce() -> R) -> R {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            let _ = CONTEXT.try_with(|cx| cx.net_dispatch.set(false));
        }
    }
    CONTEXT.with(|cx| cx.net_dispatch.set(true));
    let _reset = Reset;
    f()
}

/// True inside `dispatching_net`.
pub(crate) fn net_dispatch() -> bool {
    CONTEXT
        .try_with(|cx| cx.net_dispatch.get())
        .unwrap_or(false)
}

/// True inside `deferring_wakes`.
pub(crate) fn wakes_deferred() -> bool {
    CONTEXT.try_with(|cx| cx.defer_wake.get()).unwrap_or(false)
}

/// Runs `f` with the runtime current on this thread, without taking a reference
/// (spawning is hot: an `Arc` clone and drop per spawn is two contended atomics).
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Arc<Shared>>) -> R) -> R {
    let mut f = Some(f);
    match CONTEXT.try_with(|cx| (f.take().expect("called once"))(cx.handle.borrow().as_ref())) {
        Ok(r) => r,
        Err(_) => (f.take().expect("not called"))(None),
    }
}

/// The runtime current on this thread, if any.
pub(crate) fn current() -> Option<Arc<Shared>> {
    CONTEXT
        .try_with(|cx| cx.handle.borrow().clone())
        .ok()
        .flatten()
}

/// Makes `handle` current until the guard drops.
///
/// # Panics
/// If a runtime is already current here: `block_on` inside a runtime would block the
/// M that must run the very tasks it waits for.
pub(crate) fn enter(handle: &Arc<Shared>) -> EnterGuard {
    CONTEXT.with(|cx| {
        let mut h = cx.handle.borrow_mut();
        if h.is_some() {
            drop(h);
            panic!(
                "cannot block on a gort runtime from a thread that is already running one \
                 (block_on inside block_on, or inside a task): await the future instead, \
                 or use gort::blocking for synchronous code"
            );
        }
        *h = Some(handle.clone());
    });
    EnterGuard(())
}

pub(crate) struct EnterGuard(());

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let _ = CONTEXT.try_with(|cx| {
            cx.handle.borrow_mut().take();
            cx.core.borrow_mut().take();
        });
    }
}

/// Runs `f` on this thread's P if this thread is an M of `handle` holding one and the
/// P is not already borrowed; otherwise gives `item` back.
pub(crate) fn with_core<T, R>(
    handle: &Shared,
    item: T,
    f: impl FnOnce(&mut PCore, T) -> R,
) -> Result<R, T> {
    let mut item = Some(item);
    let mut out = None;
    let _ = CONTEXT.try_with(|cx| {
        let same = match &*cx.handle.borrow() {
            Some(h) => std::ptr::eq(Arc::as_ptr(h), handle),
            None => false,
        };
        if !same {
            return;
        }
        if let Ok(mut core) = cx.core.try_borrow_mut() {
            if let Some(core) = core.as_mut() {
                out = Some(f(core, item.take().expect("item is taken once")));
                return;
            }
        }
        // Inside a poll the P waits in our slot, unless sysmon took it.
        if cx.polling.get().is_none() || cx.slot_borrowed.get() {
            return;
        }
        let slot = cx.slot.borrow();
        let Some(slot) = slot.as_ref() else { return };
        let borrowed = slot.borrow();
        if let Some(mut core) = borrowed {
            cx.slot_borrowed.set(true);
            out = Some(f(&mut core, item.take().expect("item is taken once")));
            cx.slot_borrowed.set(false);
        }
    });
    match (out, item) {
        (Some(out), _) => Ok(out),
        (None, item) => Err(item.expect("item is given back when f did not run")),
    }
}

/// Whether this thread holds a P of `handle`.
pub(crate) fn holds_p(handle: &Shared) -> bool {
    with_core(handle, (), |_, _| {}).is_ok()
}

/// Runs `f` on the P this M holds. Only for the M's own loop.
pub(crate) fn core<R>(f: impl FnOnce(&mut PCore) -> R) -> R {
    CONTEXT.with(|cx| f(cx.core.borrow_mut().as_mut().expect("this M holds no P")))
}

/// Keeps a G that yielded during this M's poll of a G of `handle`; gives it back if
/// this thread is not such an M.
pub(crate) fn stash_yield(handle: &Shared, task: Notified) -> Result<(), Notified> {
    let mut task = Some(task);
    let _ = CONTEXT.try_with(|cx| {
        let same = match &*cx.handle.borrow() {
            Some(h) => std::ptr::eq(Arc::as_ptr(h), handle),
            None => false,
        };
        if same && cx.polling.get().is_some() {
            let old = cx.yielded.replace(task.take());
            debug_assert!(old.is_none(), "two yields in one poll");
            drop(old);
        }
    });
    match task {
        None => Ok(()),
        Some(t) => Err(t),
    }
}

/// The G stashed by `stash_yield`, if any.
pub(crate) fn take_yield() -> Option<Notified> {
    CONTEXT.with(|cx| cx.yielded.take())
}

/// Gives this thread its M slot (once, at the M's start).
pub(crate) fn set_slot(slot: Option<Arc<PSlot>>) {
    CONTEXT.with(|cx| *cx.slot.borrow_mut() = slot);
}

/// Before a poll: the P moves into this M's `slot`, where sysmon can retake it.
pub(crate) fn begin_poll(slot: &PSlot) {
    CONTEXT.with(|cx| {
        let core = cx.core.borrow_mut().take().expect("polling M holds a P");
        cx.polling.set(Some(core.id));
        slot.put(core);
    });
}

/// After a poll: takes the P back. False when sysmon took it meanwhile.
pub(crate) fn end_poll(slot: &PSlot) -> bool {
    let core = slot.take();
    let back = core.is_some();
    CONTEXT.with(|cx| {
        cx.polling.set(None);
        *cx.core.borrow_mut() = core;
    });
    back
}

/// Runs `f` on this M's slot if this thread is polling a G (for `gort::blocking`).
/// Returns whether it did.
pub(crate) fn with_polling_slot(f: impl FnOnce(&PSlot)) -> bool {
    CONTEXT
        .try_with(|cx| {
            if cx.polling.get().is_none() {
                return false;
            }
            match cx.slot.borrow().as_deref() {
                Some(slot) => {
                    f(slot);
                    true
                }
                None => false,
            }
        })
        .unwrap_or(false)
}

/// Whether this thread holds a P.
pub(crate) fn has_core() -> bool {
    CONTEXT.with(|cx| cx.core.borrow().is_some())
}

pub(crate) fn set_core(core: Option<Box<PCore>>) -> Option<Box<PCore>> {
    CONTEXT.with(|cx| std::mem::replace(&mut *cx.core.borrow_mut(), core))
}
