//! In-crate tests, including the loom models (run with `RUSTFLAGS="--cfg loom"`).
//!
//! The loom models run the runtime's own code with loom's atomics (see `crate::loom`);
//! `.ci/loom.sh` runs them with the CI bound (`LOOM_MAX_PREEMPTIONS=2`).
//!
//! - `loom_queue`: the P's local ring and `runnext` against stealers (no G lost or
//!   duplicated, overflow included).
//! - `loom_idle`: the no-lost-wake-up protocol of `sched::idle::Idle`.
//! - `loom_join`: the task state machine (run, wake, abort, `JoinHandle`, shutdown).
//! - `loom_handoff`: the P's slot during a poll: the M taking it back (or borrowing it
//!   for a wake) against sysmon retaking it: exactly one owner, nothing lost.
//! - `loom_context`: the context cancellation tree: a parent cancelled while children
//!   are created under it, cancel themselves and grow grandchildren: each node
//!   cancelled exactly once, none left registered, no `Arc` cycle leaked.
//! - `handoff_stress` (not loom): the same handshake on real threads, with the
//!   `membarrier` fence and with full fences.
//!
//! Two rules keep loom 0.7 from silently exploring too little. Its DPOR remembers only
//! the last access to each atomic, so a thread's own load hides another thread's
//! earlier load from the race check of its next store (tokio-rs/loom#166, #392):
//! 1. Every participant runs on a spawned thread ([`Threads`]), never on the model's
//!    main thread. A first draft of `loom_queue` stole on the main thread against an
//!    owner that loads `tail` before storing it, and loom stopped after one execution.
//! 2. Every model runs once per start order of its threads ([`in_orders`]). Under the
//!    CI preemption bound the orders of a two-thread model explore alike, but without
//!    a bound a queue model started stealer-first explores 9 executions against
//!    thousands owner-first, and three-thread models differ under any bound.
//!
//! `GORT_LOOM_STATS=1` prints the executions explored per model and order.

#[cfg(not(loom))]
mod handoff_stress;
#[cfg(loom)]
mod loom_context;
#[cfg(loom)]
mod loom_handoff;
#[cfg(loom)]
mod loom_idle;
#[cfg(loom)]
mod loom_join;
#[cfg(loom)]
mod loom_queue;

/// A model's threads, each a closure returning `R`.
#[cfg(loom)]
struct Threads<R> {
    bodies: Vec<Box<dyn FnOnce() -> R>>,
}

#[cfg(loom)]
impl<R: 'static> Threads<R> {
    fn new() -> Self {
        Threads { bodies: Vec::new() }
    }

    fn with(mut self, body: impl FnOnce() -> R + 'static) -> Self {
        self.bodies.push(Box::new(body));
        self
    }

    /// Spawns the threads in `order` (indices in the order they were added), joins
    /// them, and returns their results in the order they were added. Loom runs a
    /// model's first execution without preemption, so the threads start (and, unless
    /// they block, finish) in `order`; DPOR explores the rest from there.
    fn run(self, order: &[usize]) -> Vec<R> {
        assert_eq!(order.len(), self.bodies.len(), "one index per thread");
        let mut bodies: Vec<_> = self.bodies.into_iter().map(Some).collect();
        let handles: Vec<_> = order
            .iter()
            .map(|&i| {
                let body = bodies[i].take().expect("each thread once");
                (i, crate::loom::thread::spawn(body))
            })
            .collect();
        let mut results: Vec<Option<R>> = (0..order.len()).map(|_| None).collect();
        for (i, h) in handles {
            results[i] = Some(h.join().expect("model thread panicked"));
        }
        results.into_iter().map(Option::unwrap).collect()
    }
}

/// Every order of `n` threads: all of them for up to 3 threads, else the rotations.
#[cfg(loom)]
fn orders(n: usize) -> Vec<Vec<usize>> {
    if n <= 3 {
        let mut all: Vec<Vec<usize>> = vec![vec![]];
        for _ in 0..n {
            let mut longer = Vec::new();
            for p in &all {
                for i in (0..n).filter(|i| !p.contains(i)) {
                    longer.push(p.iter().copied().chain([i]).collect());
                }
            }
            all = longer;
        }
        all
    } else {
        (0..n)
            .map(|r| (0..n).map(|i| (i + r) % n).collect())
            .collect()
    }
}

/// Checks `model` under loom once per start order of its `n` threads (see the module
/// docs for why one order is not enough).
#[cfg(loom)]
fn in_orders(n: usize, model: impl Fn(&[usize]) + Send + Sync + 'static) {
    in_orders_of(&(0..n).collect::<Vec<_>>(), model);
}

/// As [`in_orders`], for threads of which some run the same code: `kinds[i]` names
/// thread `i`'s code, and orders that differ only by swapping threads of one kind are
/// checked once. With `GORT_LOOM_STATS` set, prints how many executions each order
/// explored (a model that explores only a handful is suspect).
#[cfg(loom)]
fn in_orders_of(kinds: &[usize], model: impl Fn(&[usize]) + Send + Sync + 'static) {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    let model = std::sync::Arc::new(model);
    let mut checked: Vec<Vec<usize>> = Vec::new();
    for order in orders(kinds.len()) {
        let by_kind: Vec<usize> = order.iter().map(|&i| kinds[i]).collect();
        if checked.contains(&by_kind) {
            continue;
        }
        checked.push(by_kind);
        let runs = std::sync::Arc::new(AtomicUsize::new(0));
        let (model, counted) = (model.clone(), runs.clone());
        let print_order = order.clone();
        loom::model(move || {
            counted.fetch_add(1, Relaxed);
            model(&order)
        });
        if std::env::var_os("GORT_LOOM_STATS").is_some() {
            let name = std::thread::current().name().unwrap_or("?").to_owned();
            eprintln!(
                "{name} order {print_order:?}: {} executions",
                runs.load(Relaxed)
            );
        }
    }
}
