//! How an idle M sleeps and how it is handed a P.
//!
//! An M with nothing to run parks on its own `MPark`. Whoever wakes it (`start_m`)
//! passes the P in the same critical section as the wake-up, as Go's `mput`/`notewakeup`
//! pair does with `m.nextp`, so an M never wakes to find its P taken. A `kick` wakes it
//! without a P (the timer sleeper, when an earlier timer arrives). Flags are sticky: a
//! hand-off or kick that arrives before the M waits is seen when it does.

use super::p::PCore;
use crate::loom::{Condvar, Mutex};
use std::time::Instant;

#[derive(Default)]
pub(crate) struct MPark {
    state: Mutex<ParkState>,
    cv: Condvar,
}

#[derive(Default)]
struct ParkState {
    handoff: Option<(Box<PCore>, bool)>,
    kicked: bool,
    shutdown: bool,
}

pub(crate) enum Woke {
    /// Given a P; the flag says whether the M starts out spinning.
    Handed(Box<PCore>, bool),
    /// Kicked or timed out: no P. Re-evaluate timers and try again.
    Kicked,
    Shutdown,
}

impl MPark {
    pub(crate) fn new() -> MPark {
        MPark::default()
    }

    /// Sleeps until handed a P, kicked, shut down, or (with a deadline) timed out.
    pub(crate) fn wait(&self, deadline: Option<Instant>) -> Woke {
        let mut s = self.state.lock();
        loop {
            if let Some((p, spinning)) = s.handoff.take() {
                s.kicked = false;
                return Woke::Handed(p, spinning);
            }
            if s.shutdown {
                return Woke::Shutdown;
            }
            if std::mem::take(&mut s.kicked) {
                return Woke::Kicked;
            }
            match deadline {
                None => self.cv.wait(&mut s),
                Some(d) => {
                    if Instant::now() >= d {
                        return Woke::Kicked;
                    }
                    self.cv.wait_until(&mut s, d);
                }
            }
        }
    }

    /// Sleeps until handed a P or shut down: kicks are ignored.
    pub(crate) fn wait_for_handoff(&self) -> Woke {
        let mut s = self.state.lock();
        loop {
            if let Some((p, spinning)) = s.handoff.take() {
                return Woke::Handed(p, spinning);
            }
            if s.shutdown {
                return Woke::Shutdown;
            }
            self.cv.wait(&mut s);
        }
    }

    pub(crate) fn hand(&self, p: Box<PCore>, spinning: bool) {
        let mut s = self.state.lock();
        debug_assert!(s.handoff.is_none(), "an M was handed two Ps");
        s.handoff = Some((p, spinning));
        drop(s);
        self.cv.notify_one();
    }

    pub(crate) fn kick(&self) {
        self.state.lock().kicked = true;
        self.cv.notify_one();
    }

    pub(crate) fn shutdown(&self) {
        self.state.lock().shutdown = true;
        self.cv.notify_one();
    }

    /// A P handed to an M that has stopped; returned at shutdown.
    pub(crate) fn take_handoff(&self) -> Option<Box<PCore>> {
        self.state.lock().handoff.take().map(|(p, _)| p)
    }
}
