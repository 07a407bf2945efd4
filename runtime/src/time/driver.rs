//! The runtime's timers: one timing wheel under one lock, and the *timer sleeper*.
//!
//! Who fires timers? Any M looking for work (`find_runnable` step 3) fires the due
//! ones, so their Gs land on its P. When every M is idle, the first M to park becomes
//! the sleeper: it parks only until the nearest deadline, then takes an idle P and
//! fires. An insert earlier than the sleeper's deadline kicks it (Go's
//! `wakeNetPoller`); with no sleeper at all, an insert from a thread with no P calls
//! `wake_p`, so some M comes to look.
//!
//! No lost timer: the sleeper reads the wheel's next deadline under the same lock in
//! which an insert checks the sleeper's deadline, so either the sleeper's deadline
//! already counts the new timer, or the insert sees a later deadline and kicks it
//! (the kick is sticky, park.rs).
//!
//! Ticks are 2^18 ns (262 µs). A deadline rounds *up* to a tick, and a tick fires only
//! once the clock has passed it, so nothing fires early; an idle runtime is late by at
//! most one tick plus the wake-up of a parked thread.

use super::coarse::CoarseClock;
use super::wheel::{Key, Wheel};
use crate::loom::atomic::{AtomicU64, Ordering::*};
use crate::loom::Mutex;
use crate::sched::park::MPark;
use crate::sched::{context, Shared};
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

const TICK_SHIFT: u32 = 18;
const TICK_NS: u64 = 1 << TICK_SHIFT;
/// Wakers are woken outside the lock, this many at a time.
const FIRE_BATCH: usize = 64;

pub(crate) struct Driver {
    start: Instant,
    /// A cheap upper bound on now, for a sleep's first poll (coarse.rs).
    pub(crate) coarse: CoarseClock,
    inner: Mutex<Inner>,
    /// The wheel's next expiration tick (`u64::MAX`: none), readable without the lock.
    /// May be early (after a cancel), never late: written under the lock whenever the
    /// next expiration moves earlier or is recomputed.
    next_when: AtomicU64,
}

struct Inner {
    wheel: Wheel,
    sleeper: Option<Sleeper>,
    shutdown: bool,
}

struct Sleeper {
    park: Arc<MPark>,
    /// The tick it sleeps until (`u64::MAX`: indefinitely).
    until: u64,
}

/// What an insert asks of the scheduler once the lock is released.
enum Nudge {
    None,
    Kick(Arc<MPark>),
    WakeP,
}

impl Driver {
    pub(crate) fn new() -> Driver {
        Driver {
            start: Instant::now(),
            coarse: CoarseClock::new(),
            inner: Mutex::new(Inner {
                wheel: Wheel::new(),
                sleeper: None,
                shutdown: false,
            }),
            next_when: AtomicU64::new(u64::MAX),
        }
    }

    fn now_tick(&self) -> u64 {
        (Instant::now()
            .saturating_duration_since(self.start)
            .as_nanos() as u64)
            >> TICK_SHIFT
    }

    /// The first tick at or after `deadline`.
    fn deadline_tick(&self, deadline: Instant) -> u64 {
        let ns = deadline.saturating_duration_since(self.start).as_nanos();
        let ns = u64::try_from(ns).unwrap_or(u64::MAX - TICK_NS);
        ns.div_ceil(TICK_NS)
    }

    fn tick_instant(&self, tick: u64) -> Instant {
        self.start
            .checked_add(Duration::from_nanos(tick.saturating_mul(TICK_NS)))
            .unwrap_or_else(|| self.start + Duration::from_secs(86_400 * 365 * 30))
    }

    fn publish_next(&self, inner: &Inner) {
        let next = inner.wheel.next_expiration().unwrap_or(u64::MAX);
        // Release: pairs with the Acquire in `has_expired`; the lock orders writers.
        self.next_when.store(next, Release);
    }

    /// Registers a timer. `Err` gives the waker back when `deadline` has passed.
    pub(crate) fn insert(
        &self,
        handle: &Arc<Shared>,
        deadline: Instant,
        waker: Waker,
    ) -> Result<Key, Waker> {
        let when = self.deadline_tick(deadline);
        let mut inner = self.inner.lock();
        if inner.shutdown {
            return Err(waker);
        }
        let key = inner.wheel.insert(when, waker)?;
        if when < self.next_when.load(Relaxed) {
            self.next_when.store(when, Release);
        }
        let nudge = match &mut inner.sleeper {
            Some(s) if when < s.until => {
                s.until = when;
                Nudge::Kick(s.park.clone())
            }
            Some(_) => Nudge::None,
            None => Nudge::WakeP,
        };
        drop(inner);
        match nudge {
            Nudge::None => {}
            Nudge::Kick(park) => park.kick(),
            // An M holding a P fires timers itself before it parks.
            Nudge::WakeP => {
                if !context::holds_p(handle) {
                    handle.wake_p();
                }
            }
        }
        Ok(key)
    }

    /// Updates a pending timer's waker; false when it has fired.
    pub(crate) fn set_waker(&self, key: Key, waker: &Waker) -> bool {
        self.inner.lock().wheel.set_waker(key, waker)
    }

    /// Cancels a timer, freeing it at once.
    pub(crate) fn remove(&self, key: Key) {
        let waker = self.inner.lock().wheel.remove(key);
        // Dropped outside the lock: a waker's drop may free a task.
        drop(waker);
    }

    /// True when some timer is due now.
    pub(crate) fn has_expired(&self) -> bool {
        // Acquire: pairs with `publish_next`.
        let next = self.next_when.load(Acquire);
        next != u64::MAX && next <= self.now_tick()
    }

    /// True when any timer is pending.
    pub(crate) fn has_pending(&self) -> bool {
        self.next_when.load(Acquire) != u64::MAX
    }

    /// Fires every due timer (waking their Gs); returns how many fired.
    pub(crate) fn fire_expired(&self) -> usize {
        if !self.has_expired() {
            return 0;
        }
        let now = self.now_tick();
        let mut fired = 0;
        loop {
            let mut batch: Vec<Waker> = Vec::with_capacity(FIRE_BATCH);
            let done = {
                let mut inner = self.inner.lock();
                let done = inner.wheel.advance(now, FIRE_BATCH, |w| batch.push(w));
                self.publish_next(&inner);
                done
            };
            fired += batch.len();
            for w in batch {
                w.wake();
            }
            if done {
                return fired;
            }
        }
    }

    /// Makes `park` the sleeper if there is none. `Some(deadline)` (`Some(None)`:
    /// no timer pending, sleep until kicked) when it became the sleeper.
    pub(crate) fn try_become_sleeper(&self, park: &Arc<MPark>) -> Option<Option<Instant>> {
        let mut inner = self.inner.lock();
        if inner.sleeper.is_some() || inner.shutdown {
            return None;
        }
        let until = inner.wheel.next_expiration().unwrap_or(u64::MAX);
        inner.sleeper = Some(Sleeper {
            park: park.clone(),
            until,
        });
        Some((until != u64::MAX).then(|| self.tick_instant(until)))
    }

    /// Wakes the sleeper, if any, to look at the world again.
    pub(crate) fn kick_sleeper(&self) {
        let park = self.inner.lock().sleeper.as_ref().map(|s| s.park.clone());
        if let Some(park) = park {
            park.kick();
        }
    }

    /// True while some M is the sleeper.
    pub(crate) fn has_sleeper(&self) -> bool {
        self.inner.lock().sleeper.is_some()
    }

    pub(crate) fn resign_sleeper(&self, park: &Arc<MPark>) {
        let mut inner = self.inner.lock();
        if inner
            .sleeper
            .as_ref()
            .is_some_and(|s| Arc::ptr_eq(&s.park, park))
        {
            inner.sleeper = None;
        }
    }

    /// Pending timers (for metrics and the churn tests).
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().wheel.len()
    }

    pub(crate) fn shutdown(&self) {
        let mut inner = self.inner.lock();
        inner.shutdown = true;
        inner.sleeper = None;
    }

    /// Drops every pending timer's waker.
    pub(crate) fn clear(&self) {
        let old = {
            let mut inner = self.inner.lock();
            std::mem::replace(&mut inner.wheel, Wheel::new())
        };
        drop(old);
        self.next_when.store(u64::MAX, Release);
    }
}
