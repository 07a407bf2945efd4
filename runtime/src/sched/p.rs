//! P: the right to run Gs, and the owner of a local run queue.
//!
//! A P's mutable half, `PCore`, is owned by exactly one M at a time (or sits in the
//! idle list); it moves between threads as a `Box`. Its shared half, `Remote`, lives in
//! the runtime's array of Ps and is what other Ms steal from.

use super::local_queue::{self, Item, Local, Steal};
use crate::loom::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, Ordering::*};
use crate::loom::Mutex;
use crate::task::Notified;
use crate::util::rand::FastRand;
use std::ptr::NonNull;
use std::sync::Arc;

/// After this many Gs in a row from `runnext`, the ring goes first once, so that two
/// Gs waking each other cannot starve the rest of the queue (Go relies on sysmon's
/// time-slice preemption for this; a cap costs nothing and needs no timer).
const MAX_RUNNEXT_STREAK: u32 = 16;

pub(crate) struct PCore {
    pub(crate) id: usize,
    pub(crate) runq: Local<Notified>,
    /// Go's `schedtick`: counts scheduling rounds; every 61st checks the global queue
    /// first.
    pub(crate) sched_tick: u32,
    runnext_streak: u32,
    pub(crate) rng: FastRand,
}

pub(crate) struct Remote {
    pub(crate) steal: Steal<Notified>,
    /// The id of the G this P is running (0: none), for schedtrace detail and sysmon.
    /// Relaxed: a diagnostic snapshot.
    pub(crate) current: AtomicU64,
    /// Bumped (by the P's M only) each time it starts polling a G; sysmon compares
    /// two readings to see a poll that has lasted (Go's `schedtick`).
    pub(crate) poll_tick: AtomicU32,
    /// The slot of the M that last took this P, where the P waits while that M polls
    /// a G: sysmon looks there to retake it.
    pub(crate) holder: Mutex<Option<Arc<PSlot>>>,
}

/// An M's parking place for its P while it polls a G. The M moves its P in before
/// the poll and out after; sysmon may take it meanwhile (a blocking call, a poll that
/// lasts). The swap decides: exactly one of them gets the P.
///
/// One slot per M, never per P: an M whose P was retaken still polls, and must not be
/// able to reach the P that another M now runs.
pub(crate) struct PSlot {
    p: AtomicPtr<PCore>,
    /// The M is inside `gort::blocking` (blocking.rs).
    pub(crate) in_syscall: AtomicBool,
    /// Bumped on each `gort::blocking` entry (Go's `syscalltick`).
    pub(crate) syscall_tick: AtomicU32,
    /// Set by sysmon to ask the G this M polls to yield; read by the coop budget.
    pub(crate) preempt: Arc<std::sync::atomic::AtomicBool>,
}

impl PSlot {
    pub(crate) fn new() -> PSlot {
        PSlot {
            p: AtomicPtr::new(std::ptr::null_mut()),
            in_syscall: AtomicBool::new(false),
            syscall_tick: AtomicU32::new(0),
            preempt: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        }
    }

    pub(crate) fn put(&self, core: Box<PCore>) {
        // Release: publishes the P's state to whoever takes it (pairs with `take`).
        let old = self.p.swap(Box::into_raw(core), Release);
        debug_assert!(old.is_null(), "a P slot held two Ps");
    }

    /// Takes the P if it is still there. Exactly one of the racing takers gets it.
    pub(crate) fn take(&self) -> Option<Box<PCore>> {
        // AcqRel: Acquire pairs with the Release in `put`; Release hands our own
        // writes to the P (none) on, as the swap is the ownership transfer.
        let ptr = self.p.swap(std::ptr::null_mut(), AcqRel);
        if ptr.is_null() {
            return None;
        }
        // SAFETY: a non-null pointer here came from `Box::into_raw` in `put`, and the
        // swap to null made this caller its only owner.
        Some(unsafe { Box::from_raw(ptr) })
    }

    pub(crate) fn is_occupied(&self) -> bool {
        !self.p.load(Relaxed).is_null()
    }
}

impl Drop for PSlot {
    fn drop(&mut self) {
        drop(self.take());
    }
}

impl Item for Notified {
    fn into_ptr(self) -> NonNull<()> {
        self.into_raw().as_ptr().cast()
    }

    unsafe fn from_ptr(ptr: NonNull<()>) -> Self {
        // SAFETY: the pointer came from `into_ptr`, so it carries a Notified reference.
        unsafe { Notified::from_raw(crate::task::raw::RawTask::from_raw(ptr.cast())) }
    }
}

pub(crate) fn new(id: usize) -> (Box<PCore>, Remote) {
    let (local, steal) = local_queue::new();
    (
        Box::new(PCore {
            id,
            runq: local,
            sched_tick: 0,
            runnext_streak: 0,
            rng: FastRand::from_entropy(),
        }),
        Remote {
            steal,
            current: AtomicU64::new(0),
            poll_tick: AtomicU32::new(0),
            holder: Mutex::new(None),
        },
    )
}

impl PCore {
    /// `runq_get`: runnext, then the ring, with the streak cap above.
    pub(crate) fn runq_get(&mut self) -> Option<Notified> {
        if self.runnext_streak < MAX_RUNNEXT_STREAK && self.runq.has_runnext() {
            if let Some(t) = self.runq.pop(false) {
                self.runnext_streak += 1;
                return Some(t);
            }
        }
        self.runnext_streak = 0;
        self.runq.pop(true).or_else(|| self.runq.pop(false))
    }
}
