//! How an idle M sleeps and how it is handed a P.
//!
//! An M with nothing to run parks on its own `MPark`. Whoever wakes it (`start_m`)
//! passes the P in the same critical section as the wake-up, as Go's `mput`/`notewakeup`
//! pair does with `m.nextp`, so an M never wakes to find its P taken. A `kick` wakes it
//! without a P (the timer sleeper, when an earlier timer arrives). Flags are sticky: a
//! hand-off or kick that arrives before the M waits is seen when it does.
//!
//! The timer sleeper waits in the netpoller instead of on the condition variable
//! (`wait_polling`). It takes the poll before it checks its flags and says where it
//! waits under the same lock as the flags, so whoever sets a flag after that check
//! wakes the poll, and nobody else can take that wake-up from the poll meanwhile.

use super::p::PCore;
use crate::loom::{Condvar, Mutex};
use crate::net::poller::Poller;
use std::sync::Arc;
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
    /// Set while this M is blocked in the netpoller: wake that, not the condvar.
    polling: Option<Arc<Poller>>,
}

pub(crate) enum Woke {
    /// Given a P; the flag says whether the M starts out spinning.
    Handed(Box<PCore>, bool),
    /// Kicked or timed out: no P. Re-evaluate timers and try again.
    Kicked,
    Shutdown,
}

impl ParkState {
    /// What a waiting M wakes to, if anything is set: a hand-off first (it supersedes
    /// a kick), then shutdown, then a kick.
    fn take_flag(&mut self) -> Option<Woke> {
        if let Some((p, spinning)) = self.handoff.take() {
            self.kicked = false;
            return Some(Woke::Handed(p, spinning));
        }
        if self.shutdown {
            return Some(Woke::Shutdown);
        }
        std::mem::take(&mut self.kicked).then_some(Woke::Kicked)
    }
}

impl MPark {
    pub(crate) fn new() -> MPark {
        MPark::default()
    }

    /// Sleeps until handed a P, kicked, shut down, or (with a deadline) timed out.
    pub(crate) fn wait(&self, deadline: Option<Instant>) -> Woke {
        let mut s = self.state.lock();
        loop {
            if let Some(woke) = s.take_flag() {
                return woke;
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

    /// `wait`, blocked in the netpoller: Gs whose sockets became ready are woken as
    /// they are found (to the global queue: this M holds no P), and it returns
    /// `Kicked` so that the caller looks for them.
    pub(crate) fn wait_polling(&self, deadline: Option<Instant>, net: &Arc<Poller>) -> Woke {
        loop {
            let mut poll = net.lock();
            {
                let mut s = self.state.lock();
                if let Some(woke) = s.take_flag() {
                    return woke;
                }
                s.polling = Some(net.clone());
            }
            let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let ready = match timeout {
                Some(t) if t.is_zero() => 0,
                // The Gs woken go to the global queue without waking another M: this
                // one takes a P and runs them (m.rs, `stop_m`), as Go's findRunnable
                // does with the list its blocking netpoll returns.
                _ => super::context::deferring_wakes(|| net.poll_locked(&mut poll, timeout)),
            };
            drop(poll);
            self.state.lock().polling = None;
            if ready > 0 || deadline.is_some_and(|d| Instant::now() >= d) {
                // Gs to run, or the deadline: flags are looked at by the next wait.
                return Woke::Kicked;
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
        self.notify(s);
    }

    pub(crate) fn kick(&self) {
        let mut s = self.state.lock();
        s.kicked = true;
        self.notify(s);
    }

    pub(crate) fn shutdown(&self) {
        let mut s = self.state.lock();
        s.shutdown = true;
        self.notify(s);
    }

    /// Wakes the M after a flag was set under `s`.
    fn notify(&self, s: crate::loom::MutexGuard<'_, ParkState>) {
        let polling = s.polling.clone();
        drop(s);
        match polling {
            Some(net) => net.wake(),
            None => self.cv.notify_one(),
        }
    }

    /// A P handed to an M that has stopped; returned at shutdown.
    pub(crate) fn take_handoff(&self) -> Option<Box<PCore>> {
        self.state.lock().handoff.take().map(|(p, _)| p)
    }
}
