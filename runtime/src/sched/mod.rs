//! The GMP scheduler: Gs (tasks) run by Ms (OS threads) that hold Ps (processors).
//!
//! Where does a G go?
//! - Spawned or woken by a G running on this M: this P's `runnext` (the G it displaces
//!   goes to the ring's tail; a full ring sends half of itself to the global queue).
//!   See `Shared::schedule_task`.
//! - Woken by itself during its poll (`yield_now`): the ring's tail.
//! - Spawned or woken from any other thread: the global queue, then `wake_p`.
//!
//! Where does an M look for work? `m.rs`, `find_runnable`, in Go's order.
//! How do idle Ms sleep and wake? `idle.rs` (spinning, `wake_p`, `start_m`) and
//! `park.rs`. Stealing: `steal.rs`. The global queue: `global_queue.rs`.
//!
//! `Shared` is the runtime: the array of Ps' shared halves, Go's `sched` (one lock
//! over the global queue, the idle Ps and the idle Ms), the counters that make wake-ups
//! cheap (`npidle`, `nmspinning`), the owned-task list and the timers.

pub(crate) mod barrier;
pub(crate) mod blocking;
pub(crate) mod context;
pub(crate) mod cputime;
mod global_queue;
pub(crate) mod idle;
pub(crate) mod local_queue;
mod m;
pub(crate) mod p;
pub(crate) mod park;
mod steal;
pub(crate) mod sysmon;
pub(crate) mod trace;

use crate::loom::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use crate::loom::Mutex;
use crate::net::poller::Poller;
use crate::task::{self, owned::OwnedTasks, JoinHandle, Notified, Schedule, Task};
use crate::time::driver::Driver as TimerDriver;
use crossbeam_utils::CachePadded;
use local_queue::Pushed;
use p::{PCore, Remote};
use park::MPark;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Arc;

/// What a task panic does to the runtime (see `Builder::on_task_panic`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TaskPanic {
    /// The panic goes to the task's `JoinHandle` as a `JoinError`; the M and every
    /// other task carry on. The default, as in Go's `recover` per goroutine and tokio.
    #[default]
    Isolate,
    /// Print the report and abort the process, as an unrecovered panic does in Go.
    Abort,
}

pub(crate) struct Config {
    pub(crate) procs: usize,
    /// How long an M beyond `procs` may stay idle before its thread ends.
    pub(crate) keep_alive: std::time::Duration,
    pub(crate) max_threads: usize,
    pub(crate) on_task_panic: TaskPanic,
    pub(crate) thread_name: String,
    pub(crate) stack_size: Option<usize>,
}

/// Go's `sched`: everything guarded by the scheduler lock.
pub(crate) struct Sched {
    pub(crate) global: VecDeque<Notified>,
    // Boxed: a P moves between threads and lists as one pointer.
    #[allow(clippy::vec_box)]
    pub(crate) idle_ps: Vec<Box<PCore>>,
    pub(crate) idle_ms: Vec<Arc<MPark>>,
    /// Ms alive (each an OS thread), including those inside `gort::blocking`.
    pub(crate) threads: usize,
    /// Ms ever started (names the threads).
    pub(crate) started: usize,
    pub(crate) shutdown: bool,
    pub(crate) join_handles: Vec<std::thread::JoinHandle<()>>,
}

pub(crate) struct Shared {
    pub(crate) config: Config,
    /// Padded: `current` is written on every poll by its own M only.
    pub(crate) remotes: Box<[CachePadded<Remote>]>,
    pub(crate) sched: Mutex<Sched>,
    /// Length of `sched.global`, readable without the lock. Written under it.
    pub(crate) global_len: AtomicUsize,
    /// `npidle` and `nmspinning`, the counters of the wake-up protocol (idle.rs).
    pub(crate) idle: idle::Idle,
    /// Set once, under the sched lock, when the runtime is dropped.
    pub(crate) shutdown: AtomicBool,
    pub(crate) owned: OwnedTasks,
    /// Gs spawned and finished on threads holding no P (the P's own counts are in
    /// `Remote`); locked adds, but off the hot path.
    pub(crate) spawned_elsewhere: AtomicU64,
    pub(crate) finished_elsewhere: AtomicU64,
    pub(crate) timers: TimerDriver,
    pub(crate) net: Arc<Poller>,
    /// Go's `stealOrder`: the numbers coprime to `procs`, for random victim order.
    pub(crate) coprimes: Box<[u32]>,
    pub(crate) steals: AtomicU64,
    /// Ps handed to another M by sysmon (blocking.rs, idle.rs `hand_off_p`).
    pub(crate) hand_offs: AtomicU64,
    /// Ps taken back from Ms inside `gort::blocking`.
    pub(crate) retakes: AtomicU64,
    /// Long polls caught by sysmon.
    pub(crate) preemptions: AtomicU64,
    pub(crate) thread_limit_warned: AtomicBool,
    /// Names of the live named tasks, by id, for schedtrace detail.
    pub(crate) names: Mutex<HashMap<u64, Arc<str>>>,
}

impl Shared {
    #[allow(clippy::vec_box)]
    pub(crate) fn new(config: Config, net: Poller) -> (Arc<Shared>, Vec<Box<PCore>>) {
        let procs = config.procs;
        let (cores, remotes): (Vec<_>, Vec<_>) = (0..procs).map(p::new).unzip();
        let coprimes = (1..=procs as u32)
            .filter(|&c| gcd(c, procs as u32) == 1)
            .collect();
        let shared = Arc::new(Shared {
            remotes: remotes.into_iter().map(CachePadded::new).collect(),
            sched: Mutex::new(Sched {
                global: VecDeque::new(),
                idle_ps: Vec::with_capacity(procs),
                idle_ms: Vec::new(),
                threads: 0,
                started: 0,
                shutdown: false,
                join_handles: Vec::new(),
            }),
            global_len: AtomicUsize::new(0),
            idle: idle::Idle::new(),
            shutdown: AtomicBool::new(false),
            owned: OwnedTasks::new(procs * 4),
            spawned_elsewhere: AtomicU64::new(0),
            finished_elsewhere: AtomicU64::new(0),
            timers: TimerDriver::new(),
            net: Arc::new(net),
            coprimes,
            steals: AtomicU64::new(0),
            hand_offs: AtomicU64::new(0),
            retakes: AtomicU64::new(0),
            preemptions: AtomicU64::new(0),
            thread_limit_warned: AtomicBool::new(false),
            names: Mutex::new(HashMap::new()),
            config,
        });
        (shared, cores)
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        // Acquire: pairs with the Release in `shutdown`, so an M that sees it also
        // sees the state it was set under.
        self.shutdown.load(Acquire)
    }

    pub(crate) fn spawn<F>(
        self: &Arc<Self>,
        future: F,
        name: Option<Arc<str>>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (notified, join) = task::new_task(future, self.clone(), name.clone());
        if let Some(name) = name {
            // Before it is queued: from then on it may finish and remove its name.
            self.names.lock().insert(notified.id().as_u64(), name);
        }
        self.schedule_task(notified, Queued::Spawn);
        join
    }

    /// Tasks spawned, and those not finished (a snapshot: the counters are read one
    /// by one). Finished first: a G counted there was spawned before.
    pub(crate) fn alive_tasks(&self) -> (u64, u64) {
        let total = |elsewhere: &AtomicU64, per_p: fn(&Remote) -> &AtomicU64| {
            elsewhere.load(Relaxed)
                + self
                    .remotes
                    .iter()
                    .map(|r| per_p(r).load(Relaxed))
                    .sum::<u64>()
        };
        let finished = total(&self.finished_elsewhere, |r| &r.finished);
        let spawned = total(&self.spawned_elsewhere, |r| &r.spawned);
        (spawned, spawned.saturating_sub(finished))
    }

    /// Queues a runnable G: on this M's P when called from one of our Ms (runnext
    /// unless it is a yield), else on the global queue. A spawn is also counted.
    fn schedule_task(self: &Arc<Self>, task: Notified, how: Queued) {
        let is_yield = matches!(how, Queued::Yield);
        // A netpoll's Gs go to the tail in order (context.rs, `dispatching_net`).
        let next = !is_yield && !context::net_dispatch();
        let local = context::with_core(self, task, |core, task| {
            if matches!(how, Queued::Spawn) {
                p::bump(&self.remotes[core.id].spawned);
            }
            let pushed = core
                .runq
                .push(task, next, |overflow| self.push_global_batch(overflow));
            (pushed, core.runq.ring_len() == 0)
        });
        match local {
            // A G woken into an empty `runnext`, with nothing else queued on this P,
            // runs here as soon as the waker's poll ends, which for a G that sends and
            // then waits is at once: waking another M for it (Go's `ready` does) would
            // only have that M spin, find `runnext` taken back by its owner, and park
            // again, a futex wake and wait per message for the pair. tokio's LIFO slot
            // notifies only when it and the run queue hold more than one task; so here.
            // A waker that goes on computing has its `runnext` offered to an idle P by
            // sysmon (sysmon.rs, rule 5).
            Ok((Pushed::Runnext, true)) if matches!(how, Queued::Wake) => {}
            Ok(_) => {
                if !is_yield {
                    self.wake_p_after_push();
                }
            }
            Err(task) => {
                if matches!(how, Queued::Spawn) {
                    self.spawned_elsewhere.fetch_add(1, Relaxed);
                }
                self.inject(task);
            }
        }
    }

    /// Starts shutdown: Ms stop at their next scheduling point; parked ones are woken.
    pub(crate) fn begin_shutdown(&self) {
        let idle_ms = {
            let mut s = self.sched.lock();
            s.shutdown = true;
            // Release: pairs with the Acquire in `is_shutdown`.
            self.shutdown.store(true, Release);
            std::mem::take(&mut s.idle_ms)
        };
        for m in idle_ms {
            m.shutdown();
        }
        self.timers.shutdown();
    }

    /// Waits for every M to exit, then drops every task that is left. Must not run on
    /// one of this runtime's Ms.
    pub(crate) fn finish_shutdown(&self) {
        loop {
            let handles = std::mem::take(&mut self.sched.lock().join_handles);
            if handles.is_empty() {
                break;
            }
            for h in handles {
                // An M never panics out of its loop (task panics are caught); if one
                // did, the runtime is shutting down anyway.
                let _ = h.join();
            }
        }
        self.owned.close_and_shutdown_all();
        let (global, idle_ps) = {
            let mut s = self.sched.lock();
            self.global_len.store(0, Relaxed);
            (
                std::mem::take(&mut s.global),
                std::mem::take(&mut s.idle_ps),
            )
        };
        drop(global);
        drop(idle_ps);
        self.timers.clear();
        self.names.lock().clear();
    }
}

/// Why a G is queued (`schedule_task`).
#[derive(Clone, Copy)]
enum Queued {
    /// New: runnext, counted as spawned.
    Spawn,
    /// Woken: runnext.
    Wake,
    /// Yielded: behind the others, and no M is woken for it.
    Yield,
}

impl Schedule for Arc<Shared> {
    fn schedule(&self, task: Notified) {
        self.schedule_task(task, Queued::Wake);
    }

    fn yield_now(&self, task: Notified) {
        // The yielding G's own M queues it once its poll is over (m.rs `run`): no
        // round trip through the P's slot for the commonest reschedule.
        if let Err(task) = context::stash_yield(self, task) {
            self.schedule_task(task, Queued::Yield);
        }
    }

    fn bind(&self, task: Task) -> Result<(), Task> {
        self.owned.bind(task)
    }

    fn release(&self, task: &Task) -> Option<Task> {
        if task.header().name.is_some() {
            self.names.lock().remove(&task.id().as_u64());
        }
        if context::with_core(self, (), |core, ()| {
            p::bump(&self.remotes[core.id].finished)
        })
        .is_err()
        {
            self.finished_elsewhere.fetch_add(1, Relaxed);
        }
        self.owned.remove(task)
    }

    fn task_panicked(&self, header: &task::raw::Header, payload: &(dyn std::any::Any + Send)) {
        if self.config.on_task_panic == TaskPanic::Abort {
            let msg = task::panic_message(payload).unwrap_or_else(|| "Box<dyn Any>".into());
            match &header.name {
                Some(n) => eprintln!(
                    "gort: task '{n}' ({}) panicked: {msg}; aborting (TaskPanic::Abort)",
                    header.id
                ),
                None => eprintln!(
                    "gort: task {} panicked: {msg}; aborting (TaskPanic::Abort)",
                    header.id
                ),
            }
            std::process::abort();
        }
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}
