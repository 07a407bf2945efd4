//! `Metrics`: a snapshot of the scheduler, as `rt.metrics()` and schedtrace show it.

use crate::loom::atomic::Ordering::*;
use crate::sched::Shared;

/// A snapshot of a runtime's scheduler. Counts are read one by one, not atomically
/// together, so under load they may disagree slightly with each other.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Ps (GOMAXPROCS).
    pub procs: usize,
    /// Ps with no M (in the idle list).
    pub idle_procs: usize,
    /// Ms (OS threads) started and not exited.
    pub threads: usize,
    /// Ms parked, waiting for a P.
    pub idle_threads: usize,
    /// Ms holding a P and looking for work.
    pub spinning_threads: usize,
    /// Gs in the global run queue.
    pub global_queue_len: usize,
    /// Gs in each P's local queue (ring and `runnext`), by P.
    pub local_queue_lens: Vec<usize>,
    /// Successful steals since the runtime started.
    pub steals: u64,
    /// Ps sysmon handed to another thread: from a thread inside `gort::blocking`, or
    /// from a poll that ran over 10 ms while Gs starved behind it.
    pub hand_offs: u64,
    /// Ps sysmon took back from threads inside `gort::blocking`, or blocked in the
    /// kernel inside a poll without it.
    pub retakes: u64,
    /// Polls sysmon caught running too long without yielding.
    pub preemptions: u64,
    /// Tasks spawned since the runtime started.
    pub spawned: u64,
    /// Tasks alive now (spawned and not finished).
    pub alive_tasks: usize,
    /// Timers pending in the timing wheel.
    pub timers: usize,
}

impl Metrics {
    pub(crate) fn snapshot(h: &Shared) -> Metrics {
        let (threads, idle_threads, global_queue_len) = {
            let s = h.sched.lock();
            (s.threads, s.idle_ms.len(), s.global.len())
        };
        let (spawned, alive_tasks) = h.alive_tasks();
        Metrics {
            procs: h.config.procs,
            idle_procs: h.idle.npidle.load(Relaxed),
            threads,
            idle_threads,
            spinning_threads: h.idle.nmspinning.load(Relaxed),
            global_queue_len,
            local_queue_lens: h.remotes.iter().map(|r| r.steal.len()).collect(),
            steals: h.steals.load(Relaxed),
            hand_offs: h.hand_offs.load(Relaxed),
            retakes: h.retakes.load(Relaxed),
            preemptions: h.preemptions.load(Relaxed),
            spawned,
            alive_tasks: alive_tasks as usize,
            timers: h.timers.len(),
        }
    }
}
