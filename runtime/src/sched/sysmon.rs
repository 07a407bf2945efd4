//! sysmon: one background thread that watches the Ps, as Go's `sysmon`.
//!
//! Every round (20 µs, doubling to 10 ms after 50 rounds with nothing to do):
//! 1. **Retake** a P whose M sits in `gort::blocking`: if its `syscall_tick` is the
//!    same as at the previous round, the call has lasted a whole round; take the P out
//!    of its slot and hand it to another M (`hand_off_p`), so its Gs keep running.
//! 2. **Retake** a P whose M is blocked in the kernel inside a poll, without
//!    `gort::blocking` (a `std::thread::sleep`, a synchronous read): seen polling the
//!    same G at two rounds at least 50 µs apart, its CPU clock advanced by less than
//!    half the wall time and `/proc` says it sleeps (cputime.rs). Handled as 1, so a
//!    careless blocking call costs its P about as little as an announced one. The
//!    G is reported once, through the `log` facade.
//! 3. **Preempt, and retake if Gs starve**, from a G that has held its P for more
//!    than 10 ms in one poll while computing (a long CPU loop): set the M's preempt
//!    flag (its next channel operation or coop check yields), and if Gs are starving
//!    behind it, take the P from the M's slot and hand it on, so they run at once.
//!    Not from an M whose CPU clock stood still while it was runnable: the OS keeps it
//!    off the CPU for other processes, and one more thread would only compete too.
//!    Gs starve when the P's queue has held some and none has left it for 10 ms (no
//!    other P is stealing them), or when the global queue has held some and not
//!    shrunk for 10 ms while every P is in a long poll. A queue that other Ps are
//!    draining needs no new thread: retaking then would only put one more thread
//!    than there are Ps on the CPUs, and leave the long poll's own spawns and wakes
//!    to the global queue. The stuck M gives up the P for good when its poll returns
//!    (it finds the P taken). The G is reported once.
//! 4. **Poll the network** without blocking when nobody has for 10 ms and sockets are
//!    registered (Go's sysmon does the same): Ms that never run out of local work
//!    never reach the netpoller themselves. The Gs woken go to the global queue.
//! 5. **Offer a waiting `runnext`**: a G woken into an empty `runnext` of a P with an
//!    empty ring does not wake an idle P (mod.rs, `schedule_task`: its waker's poll
//!    usually ends at once). If the same poll is still running at the next round,
//!    `wake_p`: a spinning M then steals it (steal.rs), as Go's `ready` would have had
//!    one do at once. The G waits at most a round (20 µs, or up to 10 ms when sysmon
//!    has backed off).
//!
//! Rejected: signal-based preemption (Go's async preemption). A Rust future cannot be
//! suspended mid-poll; taking its P away is what can be done without unsafety.

use super::p::PSlot;
use super::Shared;
use crate::loom::atomic::Ordering::Relaxed;
use std::collections::HashSet;
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

const MIN_DELAY: Duration = Duration::from_micros(20);
const MAX_DELAY: Duration = Duration::from_millis(10);
/// A poll longer than this is caught (Go's `forcePreemptNS`).
const LONG_POLL: Duration = Duration::from_millis(10);
const IDLE_ROUNDS_BEFORE_BACKOFF: u32 = 50;
/// The shortest wall time over which an M's CPU clock is compared (rule 2).
const BLOCK_SAMPLE: Duration = Duration::from_micros(50);

pub(crate) struct Sysmon {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: std::thread::JoinHandle<()>,
}

impl Sysmon {
    pub(crate) fn start(handle: &Arc<Shared>) -> std::io::Result<Sysmon> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let weak = Arc::downgrade(handle);
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name("gort-sysmon".into())
            .spawn(move || run(weak, &stop2))?;
        Ok(Sysmon { stop, thread })
    }

    pub(crate) fn stop(self) {
        *self.stop.0.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.stop.1.notify_all();
        let _ = self.thread.join();
    }
}

struct Watch {
    /// `syscall_tick` when first seen in a blocking call, if it was.
    syscall: Option<u32>,
    /// `poll_tick` and when it was first seen.
    poll: (u32, Instant),
    /// The P's queue's `consumed` count, and when it last moved (or was empty).
    consumed: (u32, Instant),
    /// The M's CPU time (ns) at the last look during the current poll, and when.
    cpu: Option<(u64, Instant)>,
}

fn run(weak: Weak<Shared>, stop: &(Mutex<bool>, Condvar)) {
    let Some(procs) = weak.upgrade().map(|h| h.config.procs) else {
        return;
    };
    let now = Instant::now();
    let mut watch: Vec<Watch> = (0..procs)
        .map(|_| Watch {
            syscall: None,
            poll: (0, now),
            consumed: (0, now),
            cpu: None,
        })
        .collect();
    let mut reported: HashSet<u64> = HashSet::new();
    let mut global = (0, now);
    let mut delay = MIN_DELAY;
    let mut idle_rounds = 0;
    loop {
        {
            let stopped = stop.0.lock().unwrap_or_else(|e| e.into_inner());
            if *stopped {
                return;
            }
            let (stopped, _) = stop
                .1
                .wait_timeout(stopped, delay)
                .unwrap_or_else(|e| e.into_inner());
            if *stopped {
                return;
            }
        }
        let Some(handle) = weak.upgrade() else { return };
        if handle.is_shutdown() {
            return;
        }
        let mut acted = round(&handle, &mut watch, &mut global, &mut reported);
        if handle.net.has_sockets() && handle.net.since_last_poll() >= LONG_POLL {
            acted |= handle.net.poll_now() > 0;
        }
        if acted {
            delay = MIN_DELAY;
            idle_rounds = 0;
        } else {
            idle_rounds += 1;
            if idle_rounds > IDLE_ROUNDS_BEFORE_BACKOFF {
                delay = (delay * 2).min(MAX_DELAY);
            }
        }
    }
}

enum Stalled {
    /// No clock, or not enough time since the last look.
    Unknown,
    /// First look at this poll's CPU clock.
    FirstLook,
    /// The clock stood still and the thread sleeps in the kernel.
    Yes,
    /// The clock stood still but the thread is runnable: the OS has other threads on
    /// the CPUs (a loaded machine), and it is not computing either.
    Descheduled,
}

/// Whether the M behind `slot`, polling one G since the last round, is blocked in
/// the kernel rather than computing (cputime.rs): its CPU clock advanced by less than
/// half the wall time since the last look, and `/proc` does not say it runs.
fn kernel_blocked(slot: &PSlot, w: &mut Watch, now: Instant) -> Stalled {
    let Some(clock) = slot.clock else {
        return Stalled::Unknown;
    };
    let Some(cpu) = clock.cpu_nanos() else {
        return Stalled::Unknown;
    };
    let Some((cpu0, at)) = w.cpu else {
        w.cpu = Some((cpu, now));
        return Stalled::FirstLook;
    };
    let wall = now.duration_since(at);
    if wall < BLOCK_SAMPLE {
        return Stalled::Unknown;
    }
    w.cpu = Some((cpu, now));
    if cpu.saturating_sub(cpu0).saturating_mul(2) >= wall.as_nanos() as u64 {
        return Stalled::Unknown;
    }
    match clock.is_asleep() {
        Some(false) => Stalled::Descheduled,
        _ => Stalled::Yes,
    }
}

/// Logs, once per task, what sysmon caught it doing.
fn report(h: &Shared, reported: &mut HashSet<u64>, task: u64, what: &str) {
    if reported.len() > 100_000 {
        reported.clear();
    }
    if reported.insert(task) {
        let who = match h.names.lock().get(&task).cloned() {
            Some(n) => format!("task '{n}' (id {task})"),
            None => format!("task id {task}"),
        };
        log::warn!("gort: {who} {what}");
    }
}

fn round(
    h: &Arc<Shared>,
    watch: &mut [Watch],
    global: &mut (usize, Instant),
    reported: &mut HashSet<u64>,
) -> bool {
    let now = Instant::now();
    let mut acted = false;
    // Starving: Gs queued, and none taken for a time slice (module docs, 3).
    let len = h.global_len.load(Relaxed);
    if len == 0 || len < global.0 {
        global.1 = now;
    }
    global.0 = len;
    // The global queue is every P's: its Gs starve only if every P is stuck.
    let long_polls = watch
        .iter()
        .zip(h.remotes.iter())
        .filter(|(w, r)| {
            r.current.load(Relaxed) != 0
                && r.poll_tick.load(Relaxed) == w.poll.0
                && now.duration_since(w.poll.1) >= LONG_POLL
        })
        .count();
    let global_stuck = now.duration_since(global.1) >= LONG_POLL && long_polls == watch.len();
    for (i, w) in watch.iter_mut().enumerate() {
        let r = &h.remotes[i];
        let consumed = r.steal.consumed();
        if r.steal.is_empty() || consumed != w.consumed.0 {
            w.consumed = (consumed, now);
        }
        let local_stuck = now.duration_since(w.consumed.1) >= LONG_POLL;
        let Some(slot) = r.holder.lock().clone() else {
            continue;
        };
        if !slot.is_occupied() {
            // Not polling (or retaken already): nothing to watch.
            w.syscall = None;
            w.poll = (r.poll_tick.load(Relaxed), now);
            w.cpu = None;
            continue;
        }
        // 1. Retake from a blocking call that lasted a whole round.
        if slot.in_syscall.load(Relaxed) {
            let tick = slot.syscall_tick.load(Relaxed);
            acted = true; // short rounds while anyone blocks
            if w.syscall == Some(tick) {
                w.syscall = None;
                let still_blocked =
                    || slot.in_syscall.load(Relaxed) && slot.syscall_tick.load(Relaxed) == tick;
                if let Some(p) = slot.retake(still_blocked) {
                    h.retakes.fetch_add(1, Relaxed);
                    h.hand_off_p(p);
                }
                continue;
            }
            w.syscall = Some(tick);
        } else {
            w.syscall = None;
        }
        let current = r.current.load(Relaxed);
        let tick = r.poll_tick.load(Relaxed);
        if current == 0 || tick != w.poll.0 {
            w.poll = (tick, now);
            w.cpu = None;
            continue;
        }
        // The same poll as at the last round.
        // 2. Blocked in the kernel without `gort::blocking`: as 1.
        let mut descheduled = false;
        if !slot.in_syscall.load(Relaxed) {
            match kernel_blocked(&slot, w, now) {
                Stalled::Unknown => {}
                Stalled::Descheduled => descheduled = true,
                Stalled::FirstLook => acted = true, // look again soon
                Stalled::Yes => {
                    acted = true;
                    if let Some(p) = slot.retake(|| r.poll_tick.load(Relaxed) == tick) {
                        h.retakes.fetch_add(1, Relaxed);
                        h.hand_off_p(p);
                        report(
                            h,
                            reported,
                            current,
                            "is blocked in the kernel (blocking code outside \
                             gort::blocking?); its P was handed to another thread",
                        );
                    }
                    continue;
                }
            }
        }
        // 5. A G woken into `runnext` behind this poll was not announced to the idle
        // Ps (mod.rs, `schedule_task`): the poll has now lasted a round, so offer it.
        if r.steal.has_runnext() && h.idle.npidle.load(Relaxed) > 0 {
            acted = true;
            h.wake_p();
        }
        // 3. A poll that has lasted too long: ask the G to yield, and retake the P
        // if Gs starve behind it.
        if now.duration_since(w.poll.1) < LONG_POLL {
            continue;
        }
        if !slot.preempt.swap(true, Relaxed) {
            h.preemptions.fetch_add(1, Relaxed);
        }
        // Only when Gs starve behind it (module docs, 3), and only from an M that
        // computes: one the OS keeps off the CPU would get a rival thread, not time.
        let handed = (local_stuck || global_stuck)
            && !descheduled
            && match slot.retake(|| r.poll_tick.load(Relaxed) == tick) {
                Some(p) => {
                    h.hand_off_p(p);
                    true
                }
                None => false,
            };
        acted |= handed;
        let msg = if handed {
            "has run for over 10 ms in one poll without yielding; its P was handed to \
             another thread"
        } else {
            "has run for over 10 ms in one poll without yielding; other Ps are running \
             the Gs queued behind it"
        };
        report(h, reported, current, msg);
    }
    acted
}
