//! P: the right to run Gs, and the owner of a local run queue.
//!
//! A P's mutable half, `PCore`, is owned by exactly one M at a time (or sits in the
//! idle list); it moves between threads as a `Box`. Its shared half, `Remote`, lives in
//! the runtime's array of Ps and is what other Ms steal from.

use super::barrier::Barrier;
use super::cputime::ThreadClock;
use super::local_queue::{self, Item, Local, Steal};
use crate::loom::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, Ordering::*};
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
    /// Gs spawned, and Gs finished, by this P's holders (for metrics; `bump`).
    pub(crate) spawned: AtomicU64,
    pub(crate) finished: AtomicU64,
}

/// Adds one to a counter that only the holder of one P writes: a load and a store,
/// not a locked add. Relaxed: a statistic, read as a snapshot; a P changing hands is
/// ordered by the hand-off itself.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Relaxed).wrapping_add(1), Relaxed);
}

/// An M's parking place for its P while it polls a G. The M publishes its P here
/// before the poll and takes it back after; sysmon may retake it meanwhile (a blocking
/// call, a poll that lasts).
///
/// One slot per M, never per P: an M whose P was retaken still polls, and must not be
/// able to reach the P that another M now runs.
///
/// # The handshake
/// The M uses its P during a poll (a wake pushing to its run queue, the end of the
/// poll) only after announcing it: `busy = true`, a light fence, then a look at
/// `claim`. sysmon retakes only after claiming: `claim = CLAIMING` (a CAS, so racing
/// retakers exclude each other), a heavy fence, then a look at `busy`. The fences
/// (barrier.rs) guarantee that at least one side sees the other's store:
/// - sysmon sees `busy`: the M is using its P; sysmon backs off (`claim = FREE`);
/// - the M sees `CLAIMING`: it waits for sysmon's verdict, then uses the P if sysmon
///   backed off, or knows it lost it (`TAKEN`);
/// - the M saw `FREE`: then sysmon saw `busy` and backs off.
///
/// So exactly one of them owns the P at any moment, and the M's side costs plain
/// stores and loads: no locked instruction on the path every poll takes.
///
/// Invariants:
/// 1. `p` is non-null only between `put` and the end of the poll (`take`, or a retake);
///    only the M writes a non-null value, and only while `claim == FREE`.
/// 2. After sysmon sets `TAKEN`, neither side touches `p` until the M, back in `take`,
///    resets `claim` to `FREE`; sysmon nulls `p` before it sets `TAKEN`.
/// 3. `busy` is false only while the M polls and is not using its P.
pub(crate) struct PSlot {
    p: AtomicPtr<PCore>,
    busy: AtomicBool,
    claim: AtomicU8,
    barrier: Barrier,
    /// The M is inside `gort::blocking` (blocking.rs).
    pub(crate) in_syscall: AtomicBool,
    /// Bumped on each `gort::blocking` entry (Go's `syscalltick`).
    pub(crate) syscall_tick: AtomicU32,
    /// Set by sysmon to ask the G this M polls to yield; read by the coop budget.
    pub(crate) preempt: Arc<std::sync::atomic::AtomicBool>,
    /// The M's CPU clock, for sysmon to see a poll blocked in the kernel.
    pub(crate) clock: Option<ThreadClock>,
}

const FREE: u8 = 0;
const CLAIMING: u8 = 1;
const TAKEN: u8 = 2;

impl PSlot {
    /// A slot for the calling thread's M.
    pub(crate) fn new(barrier: Barrier) -> PSlot {
        PSlot {
            p: AtomicPtr::new(std::ptr::null_mut()),
            busy: AtomicBool::new(true),
            claim: AtomicU8::new(FREE),
            barrier,
            in_syscall: AtomicBool::new(false),
            syscall_tick: AtomicU32::new(0),
            preempt: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            clock: ThreadClock::current(),
        }
    }

    /// M, before a poll: the P becomes retakable.
    pub(crate) fn put(&self, core: Box<PCore>) {
        debug_assert!(self.p.load(Relaxed).is_null(), "a P slot held two Ps");
        self.p.store(Box::into_raw(core), Relaxed);
        // Release: publishes `p` and the P's state to the sysmon that reads `busy`
        // (Acquire in `retake`) and then takes the P.
        self.busy.store(false, Release);
    }

    /// M, during a poll: the P, if sysmon has not taken it. The P stays in the slot;
    /// sysmon cannot take it until the guard drops. Not reentrant: the caller
    /// (`context::with_core`) runs no task code while it holds the guard.
    pub(crate) fn borrow(&self) -> Option<Borrowed<'_>> {
        if !self.announce() {
            return None;
        }
        Some(Borrowed(self))
    }

    /// M, after a poll: takes the P back, or learns that sysmon took it.
    pub(crate) fn take(&self) -> Option<Box<PCore>> {
        if !self.announce() {
            // Invariant 2: sysmon is done with this slot; it may be claimed again
            // once a later `put` publishes a P.
            self.claim.store(FREE, Relaxed);
            return None;
        }
        let ptr = self.p.load(Relaxed);
        self.p.store(std::ptr::null_mut(), Relaxed);
        debug_assert!(!ptr.is_null(), "take without put");
        // SAFETY: `p` came from `Box::into_raw` in `put` (invariant 1), and the
        // handshake (`announce` saw no claim) makes this M its only owner.
        Some(unsafe { Box::from_raw(ptr) })
    }

    /// The M's side of the handshake: `busy`, light fence, then sysmon's verdict.
    /// True if the P is still ours. `busy` stays set until the caller releases it.
    fn announce(&self) -> bool {
        self.busy.store(true, Relaxed);
        // Pairs with the heavy fence in `retake`: either sysmon sees `busy` or we
        // see its claim.
        self.barrier.light();
        loop {
            // Acquire: pairs with sysmon's Release when it backs off or takes.
            match self.claim.load(Acquire) {
                FREE => return true,
                TAKEN => return false,
                _ => crate::loom::spin_wait(), // sysmon decides within microseconds
            }
        }
    }

    /// sysmon: takes the P if the M is polling and not using it, and `still_wanted`
    /// (checked while the M is held off) agrees. At most one caller gets the P.
    pub(crate) fn retake(&self, still_wanted: impl FnOnce() -> bool) -> Option<Box<PCore>> {
        if self.p.load(Relaxed).is_null() {
            return None; // not polling: nothing to take (a stale read only delays us)
        }
        // Relaxed: the heavy fence below orders the claim before our look at `busy`.
        if self
            .claim
            .compare_exchange(FREE, CLAIMING, Relaxed, Relaxed)
            .is_err()
        {
            return None;
        }
        let ordered = self.barrier.heavy();
        // Acquire: pairs with the Release stores of `busy = false` (`put`, and the
        // end of a borrow), so the P's state as the M left it is visible here.
        if !ordered || self.busy.load(Acquire) || !still_wanted() {
            // Release: pairs with the M's Acquire in `announce`; we changed nothing.
            self.claim.store(FREE, Release);
            return None;
        }
        let ptr = self.p.load(Relaxed);
        self.p.store(std::ptr::null_mut(), Relaxed);
        // Release: pairs with the M's Acquire in `announce` (invariant 2's order).
        self.claim.store(TAKEN, Release);
        debug_assert!(!ptr.is_null(), "busy was false, so the M is polling");
        // SAFETY: `busy` was false after our claim, so the M is inside a poll with its
        // P published in `p` (invariant 3) and will not touch it again: every later
        // `announce` waits for our verdict and reads `TAKEN`.
        Some(unsafe { Box::from_raw(ptr) })
    }

    /// Whether a P is published here (a hint for sysmon and tests).
    pub(crate) fn is_occupied(&self) -> bool {
        !self.p.load(Relaxed).is_null()
    }
}

/// The M's use of its P in the middle of a poll; sysmon is held off until it drops.
pub(crate) struct Borrowed<'a>(&'a PSlot);

impl std::ops::Deref for Borrowed<'_> {
    type Target = PCore;
    fn deref(&self) -> &PCore {
        // SAFETY: as in `deref_mut`.
        unsafe { &*self.0.p.load(Relaxed) }
    }
}

impl std::ops::DerefMut for Borrowed<'_> {
    fn deref_mut(&mut self) -> &mut PCore {
        // SAFETY: `announce` saw no claim while `busy` is set, so the P published by
        // `put` is still in the slot and only this M may touch it until the guard
        // drops (the handshake); `&mut self` makes the borrow unique on this side.
        unsafe { &mut *self.0.p.load(Relaxed) }
    }
}

impl Drop for Borrowed<'_> {
    fn drop(&mut self) {
        // Release: pairs with sysmon's Acquire load of `busy`, handing it our changes
        // to the P if it takes it next.
        self.0.busy.store(false, Release);
    }
}

impl Drop for PSlot {
    fn drop(&mut self) {
        let ptr = self.p.load(Relaxed);
        if !ptr.is_null() {
            // SAFETY: invariant 1; `&mut self` excludes both the M and sysmon.
            drop(unsafe { Box::from_raw(ptr) });
        }
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
            spawned: AtomicU64::new(0),
            finished: AtomicU64::new(0),
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
