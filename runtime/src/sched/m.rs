//! M: an OS thread that runs Gs while it holds a P (Go's `mstart`/`schedule`/
//! `findRunnable`/`stopm`).
//!
//! The loop: find a runnable G (below), stop spinning if we were (and wake another
//! spinner, so that a burst of work fans out one M at a time), run it, repeat.
//!
//! `find_runnable`, in Go's order but for steps 5 and 6:
//! 1. every 61st tick, due timers, ready sockets and one G from the global queue
//!    first (so none can starve behind a P that never runs out of local work);
//! 2. the local queue: `runnext`, then the ring;
//! 3. due timers (their Gs land on this P), then look again;
//! 4. the global queue (a fair share of it moves to this P);
//! 5. steal, if spinning or if fewer than half the busy Ps have a spinning M, and
//!    after a steal poll the netpoller too (the stolen Gs run first);
//! 6. the netpoller, without blocking (net/poller.rs), if any socket is registered
//!    (Go polls before it steals; see the comment at the poll for why not here);
//! 7. give the P back and park. A spinning M re-checks every queue after it stops
//!    spinning (idle.rs, case 2). The first M to park becomes the timer sleeper: it
//!    blocks in the netpoller until the nearest timer, a ready socket or a kick.

use super::barrier::Barrier;
use super::context;
use super::p::{PCore, PSlot};
use super::park::{MPark, Woke};
use super::Shared;
use crate::loom::atomic::Ordering::Relaxed;
use crate::task::Notified;
use std::cell::Cell;
use std::sync::Arc;
use std::time::Instant;

/// Go checks the global queue first every 61 ticks: a prime, so that it does not beat
/// in step with a program's own periods.
const GLOBAL_CHECK_INTERVAL: u32 = 61;

struct M {
    handle: Arc<Shared>,
    park: Arc<MPark>,
    spinning: Cell<bool>,
    /// Where this M's P waits during a poll (p.rs, `PSlot`).
    slot: Arc<PSlot>,
    /// The P whose `holder` names our slot (so it is set once per P taken).
    holder_of: Cell<Option<usize>>,
}

enum Parked {
    /// Holding a P again: look for work.
    Resume,
    Shutdown,
    /// Idle past the keep-alive while more Ms than Ps exist: the thread ends.
    Exit,
}

pub(crate) fn m_main(handle: Arc<Shared>, p: Box<PCore>, spinning: bool) {
    let _enter = context::enter(&handle);
    context::set_core(Some(p));
    let slot = Arc::new(PSlot::new(Barrier::detect()));
    context::set_slot(Some(slot.clone()));
    gort_channels::coop::set_preempt_flag(Some(slot.preempt.clone()));
    let m = M {
        park: Arc::new(MPark::new()),
        handle,
        spinning: Cell::new(spinning),
        slot,
        holder_of: Cell::new(None),
    };
    m.schedule();
    if m.spinning.replace(false) {
        m.handle.idle.unclaim_wake();
    }
    gort_channels::coop::set_preempt_flag(None);
    context::set_slot(None);
    // Drop the P (and any Gs on it: their futures are dropped by the owned list).
    drop(context::set_core(None));
    drop(m.park.take_handoff());
}

impl M {
    fn schedule(&self) {
        while let Some(task) = self.find_runnable() {
            if self.spinning.get() {
                self.reset_spinning();
            }
            self.run(task);
            if !context::has_core() {
                // The G blocked in `gort::blocking` long enough for sysmon to hand our
                // P on, and no P was idle when it returned: get one or park.
                match self.reacquire_p() {
                    Parked::Resume => {}
                    Parked::Shutdown | Parked::Exit => return,
                }
            }
        }
    }

    fn run(&self, task: Notified) {
        let p = context::core(|c| c.id);
        let remote = &self.handle.remotes[p];
        if self.holder_of.get() != Some(p) {
            // Tell sysmon where this P waits while we poll.
            *remote.holder.lock() = Some(self.slot.clone());
            self.holder_of.set(Some(p));
        }
        // Relaxed, all of these: written by this M only while it holds the P; read by
        // sysmon and schedtrace as snapshots.
        self.slot.preempt.store(false, Relaxed);
        remote.current.store(task.id().as_u64(), Relaxed);
        let tick = remote.poll_tick.load(Relaxed);
        remote.poll_tick.store(tick.wrapping_add(1), Relaxed);
        context::begin_poll(&self.slot);
        // Channel operations that never wait spend this budget; when it is gone the
        // next one yields, so a G that always finds a ready channel cannot hold the P.
        gort_channels::coop::with_budget(gort_channels::coop::DEFAULT_BUDGET, || task.run());
        let yielded = context::take_yield();
        if context::end_poll(&self.slot) {
            remote.current.store(0, Relaxed);
            if let Some(t) = yielded {
                // Behind the others, not runnext, or it would run again at once.
                context::core(|c| {
                    let _ring = c.runq.push(t, false, |o| self.handle.push_global_batch(o));
                });
            }
        } else {
            // sysmon retook the P (the poll blocked); it runs on another M now.
            self.holder_of.set(None);
            if let Some(t) = yielded {
                self.handle.inject(t);
            }
        }
    }

    fn reacquire_p(&self) -> Parked {
        let h = &self.handle;
        if h.is_shutdown() {
            return Parked::Shutdown;
        }
        let mut s = h.sched.lock();
        if let Some(p) = h.take_idle_p(&mut s) {
            drop(s);
            return self.resume(p, false);
        }
        drop(s);
        self.stop_m()
    }

    /// `resetspinning`: we found work; if we were the last spinner, wake another so
    /// that any further work is picked up.
    fn reset_spinning(&self) {
        self.spinning.set(false);
        self.handle.idle.unclaim_wake();
        self.handle.wake_p();
    }

    fn find_runnable(&self) -> Option<Notified> {
        let h = &self.handle;
        loop {
            if h.is_shutdown() {
                return None;
            }
            let tick = context::core(|core| {
                core.sched_tick = core.sched_tick.wrapping_add(1);
                core.sched_tick
            });
            // Go's `checkTimers` at the top of every round, here every 61st round and
            // whenever the local queue is empty: Gs that never run out of work must
            // not keep a timer from firing, and a clock read per poll is not free.
            if tick % GLOBAL_CHECK_INTERVAL == 0 {
                h.timers.fire_expired();
                // Ready sockets too (tokio's `event_interval`): an M that never runs
                // out of local work would otherwise leave them to sysmon's 10 ms poll,
                // and their Gs queue behind the ring's, at its tail.
                h.net.poll_now();
            }
            let local = context::core(|core| {
                if tick % GLOBAL_CHECK_INTERVAL == 0 {
                    if let Some(t) = h.glob_runq_get(core, 1) {
                        return Some(t);
                    }
                }
                core.runq_get()
            });
            if local.is_some() {
                return local;
            }
            if h.timers.fire_expired() > 0 {
                continue;
            }
            if let Some(t) = context::core(|core| h.glob_runq_get(core, 0)) {
                return Some(t);
            }
            if self.spinning.get() || h.idle.may_spin(h.config.procs) {
                if !self.spinning.get() {
                    self.spinning.set(true);
                    h.idle.start_spinning();
                }
                if let Some(t) = h.steal_work() {
                    // The poll this P would have made had there been nothing to steal:
                    // ready sockets are still found as soon as a P runs dry, and their
                    // Gs queue behind the stolen ones, which have waited longer.
                    h.net.poll_now();
                    return Some(t);
                }
            }
            // Sockets that became ready: their Gs land on this P. After the steal, not
            // before it as in Go: a P that ran dry and took fresh Gs from the poll,
            // while another P's ring was long, would run them first and leave the
            // long ring's Gs the longer wait. Polling first, a TCP echo's p99 came out
            // 10-15% worse, for 0-4% more throughput (BENCHMARKS.md, "TCP echo").
            if h.net.poll_now() > 0 {
                continue;
            }
            match self.release_p_and_park() {
                Parked::Resume => continue,
                Parked::Shutdown | Parked::Exit => return None,
            }
        }
    }

    fn release_p_and_park(&self) -> Parked {
        let h = &self.handle;
        {
            let mut s = h.sched.lock();
            if s.shutdown {
                return Parked::Shutdown;
            }
            if !s.global.is_empty() {
                return Parked::Resume;
            }
            let p = context::set_core(None).expect("parking M holds a P");
            if self.holder_of.take().is_some() {
                *h.remotes[p.id].holder.lock() = None;
            }
            h.put_idle_p(&mut s, p);
            // Listed idle in the same critical section that idles the P: in between,
            // a `wake_p` would find an idle P and no idle M and start a thread more
            // than there are Ps, which then takes turns with the others (on 2 CPUs,
            // a runnable third thread preempts a busy M for a whole time slice).
            s.idle_ms.push(self.park.clone());
        }
        if self.spinning.replace(false) {
            h.idle.drop_spinning();
            if h.any_work() || h.timers.has_expired() {
                let mut s = h.sched.lock();
                let Some(i) = s.idle_ms.iter().position(|m| Arc::ptr_eq(m, &self.park)) else {
                    // Taken off the list by a `wake_p`: a P is on its way to us.
                    drop(s);
                    return match self.park.wait_for_handoff() {
                        Woke::Handed(p, spinning) => self.resume(p, spinning),
                        _ => Parked::Shutdown,
                    };
                };
                if let Some(p) = h.take_idle_p(&mut s) {
                    s.idle_ms.swap_remove(i);
                    drop(s);
                    context::set_core(Some(p));
                    self.spinning.set(true);
                    h.idle.start_spinning();
                    return Parked::Resume;
                }
            }
        }
        self.park_listed()
    }

    /// `stopm`: park until handed a P. The first parker becomes the timer sleeper and
    /// wakes for the nearest timer on its own; it stays in the idle list while it
    /// looks, so `start_m` can still hand it a P instead of starting a new thread.
    /// Other parkers wait until handed a P, or kicked to take over as the sleeper.
    fn stop_m(&self) -> Parked {
        {
            let mut s = self.handle.sched.lock();
            if s.shutdown {
                return Parked::Shutdown;
            }
            s.idle_ms.push(self.park.clone());
        }
        self.park_listed()
    }

    /// `stop_m` once this M is on the idle list.
    fn park_listed(&self) -> Parked {
        let h = &self.handle;
        // Set when this M, as the sleeper, woke to Gs (ready sockets, due timers) but
        // found every P busy: it then parks as an ordinary idle M (Go's `stopm` after
        // `injectglist`). Back in the poll it would be woken by nearly every socket
        // event the busy Ms cause, a third thread preempting them on 2 CPUs, while the
        // busy Ms poll and fire timers themselves (find_runnable steps 1, 3, 5 and 6) and
        // the next M to go idle becomes the sleeper.
        let mut stand_down = false;
        loop {
            let sleeper = if std::mem::take(&mut stand_down) {
                None
            } else {
                h.timers.try_become_sleeper(&self.park)
            };
            let keep_alive = Instant::now() + h.config.keep_alive;
            let deadline = match sleeper {
                Some(d) => d,
                // Extra Ms (left by blocking calls) end after the keep-alive.
                None => (h.sched.lock().threads > h.config.procs).then_some(keep_alive),
            };
            let woke = match sleeper {
                // The sleeper waits in the netpoller while sockets are registered:
                // they wake it as timers do (net/poller.rs, who polls).
                Some(_) if cfg!(not(loom)) && h.net.has_sockets() => {
                    self.park.wait_polling(deadline, &h.net)
                }
                _ => self.park.wait(deadline),
            };
            if sleeper.is_some() {
                h.timers.resign_sleeper(&self.park);
                if matches!(woke, Woke::Handed(..))
                    && (h.timers.has_pending() || h.net.has_sockets())
                {
                    // Going to run Gs, maybe for long: pass the sleeper's watch to
                    // another idle M so that timers still fire, and sockets are still
                    // polled, on time.
                    if let Some(m) = h.sched.lock().idle_ms.last() {
                        m.kick();
                    }
                }
            }
            match woke {
                Woke::Handed(p, spinning) => return self.resume(p, spinning),
                Woke::Shutdown => return Parked::Shutdown,
                Woke::Kicked => {}
            }
            if sleeper.is_none() && Instant::now() >= keep_alive {
                let mut s = h.sched.lock();
                if s.threads > h.config.procs {
                    if let Some(i) = s.idle_ms.iter().position(|m| Arc::ptr_eq(m, &self.park)) {
                        s.idle_ms.swap_remove(i);
                        s.threads -= 1;
                        return Parked::Exit;
                    }
                }
            }
            if !h.timers.has_expired() && h.global_len.load(Relaxed) == 0 {
                continue; // an earlier timer arrived: sleep again with the new deadline
            }
            // Timers are due: leave the idle list (unless a hand-off is on its way)
            // and take a P to fire them with, so their Gs run here.
            let mut s = h.sched.lock();
            let Some(i) = s.idle_ms.iter().position(|m| Arc::ptr_eq(m, &self.park)) else {
                drop(s);
                return match self.park.wait_for_handoff() {
                    Woke::Handed(p, spinning) => self.resume(p, spinning),
                    _ => Parked::Shutdown,
                };
            };
            if let Some(p) = h.take_idle_p(&mut s) {
                s.idle_ms.swap_remove(i);
                let more = s.global.len() > 1;
                drop(s);
                if more {
                    // Several Gs for one P (a poll woke them without waking Ms):
                    // another M comes to share them, and fans out further itself.
                    h.wake_p();
                }
                return self.resume(p, false);
            }
            drop(s);
            // Every P is busy: fire from here; the Gs go to the global queue, where
            // the busy Ms find them. Then stand down as the sleeper (above).
            h.timers.fire_expired();
            stand_down = true;
        }
    }

    fn resume(&self, p: Box<PCore>, spinning: bool) -> Parked {
        context::set_core(Some(p));
        self.spinning.set(spinning);
        Parked::Resume
    }
}
