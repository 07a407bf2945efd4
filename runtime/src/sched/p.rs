//! P: the right to run Gs, and the owner of a local run queue.
//!
//! A P's mutable half, `PCore`, is owned by exactly one M at a time (or sits in the
//! idle list); it moves between threads as a `Box`. Its shared half, `Remote`, lives in
//! the runtime's array of Ps and is what other Ms steal from.

use super::local_queue::{self, Item, Local, Steal};
use crate::task::Notified;
use crate::util::rand::FastRand;
use std::ptr::NonNull;
use std::sync::atomic::AtomicU64;

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
    /// The id of the G this P is running (0: none), for schedtrace detail. Relaxed: a
    /// diagnostic snapshot.
    pub(crate) current: AtomicU64,
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
