//! The loom models of the channels (built only with `RUSTFLAGS="--cfg loom"`;
//! `.ci/loom.sh` runs them with the CI bound, `LOOM_MAX_PREEMPTIONS=2`).
//!
//! They run the crate's own code on loom's atomics, locks, `Arc`s and thread parking
//! (`crate::loom`), and async operations under `loom::future::block_on`, whose waker
//! is a loom `Arc`. So besides each model's own assertions, loom fails an execution in
//! which every thread is parked (a lost wake-up, or a value nobody can take any more)
//! and one that ends with a loom `Arc` still alive (a token, slot or waker that the
//! channel kept after its operation ended).
//!
//! - `loom_rendezvous`: the unbuffered hand-off, a send future dropped while a
//!   receiver takes its value, a `Select` send case (chosen first, value given
//!   after) against a waiting task, and a waiting entry's memory reused by the next
//!   wait while the counterpart of the first may still hold it (spare.rs).
//! - `loom_close`: `close` against a blocked sender and a blocked receiver.
//! - `loom_select`: a select over two channels against two concurrent senders.
//! - `loom_cancel`: a waiting recv or select future dropped, or polled again with a new
//!   waker, while a sender hands it a value.
//! - `loom_ring`: a bounded channel's ring and an unbounded one's block list used
//!   without the lock while open, against a holder that freezes them to wait or to
//!   serve a waiter; a select with `default` against an open push; a list block
//!   reused while its last readers finish.
//!
//! As in the runtime's models (`runtime/src/tests/mod.rs` says why loom 0.7 needs
//! this): every participant runs on a spawned thread, never on the model's main
//! thread, and every model runs once per start order of its threads.

mod loom_cancel;
mod loom_close;
mod loom_rendezvous;
mod loom_ring;
mod loom_select;

use crate::loom::thread;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// Every order of `0..n`.
fn orders(n: usize) -> Vec<Vec<usize>> {
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
}

/// Checks `model` under loom once per start order of its `n` threads. With
/// `GORT_LOOM_STATS` set, prints how many executions each order explored (a model that
/// explores only a handful is suspect).
fn in_orders(n: usize, model: impl Fn(&[usize]) + Send + Sync + 'static) {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    let model = std::sync::Arc::new(model);
    for order in orders(n) {
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

/// Spawns `a` and `b` in `order` (a permutation of `[0, 1]`) and joins them. Loom runs
/// a model's first execution without preemption, so they start in that order; the
/// exploration branches from there.
fn run2<A: 'static, B: 'static>(
    order: &[usize],
    a: impl FnOnce() -> A + 'static,
    b: impl FnOnce() -> B + 'static,
) -> (A, B) {
    let (mut a, mut b) = (Some(a), Some(b));
    let (mut ha, mut hb) = (None, None);
    for &i in order {
        match i {
            0 => ha = Some(thread::spawn(a.take().expect("once"))),
            1 => hb = Some(thread::spawn(b.take().expect("once"))),
            _ => unreachable!("two threads"),
        }
    }
    (join(ha), join(hb))
}

/// `run2` for three threads.
fn run3<A: 'static, B: 'static, C: 'static>(
    order: &[usize],
    a: impl FnOnce() -> A + 'static,
    b: impl FnOnce() -> B + 'static,
    c: impl FnOnce() -> C + 'static,
) -> (A, B, C) {
    let (mut a, mut b, mut c) = (Some(a), Some(b), Some(c));
    let (mut ha, mut hb, mut hc) = (None, None, None);
    for &i in order {
        match i {
            0 => ha = Some(thread::spawn(a.take().expect("once"))),
            1 => hb = Some(thread::spawn(b.take().expect("once"))),
            2 => hc = Some(thread::spawn(c.take().expect("once"))),
            _ => unreachable!("three threads"),
        }
    }
    (join(ha), join(hb), join(hc))
}

fn join<R>(h: Option<loom::thread::JoinHandle<R>>) -> R {
    h.expect("every thread is in the order")
        .join()
        .expect("model thread panicked")
}

/// Polls `fut` once, with a waker of its own (a fresh `block_on`'s, a loom `Arc`).
fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    loom::future::block_on(std::future::poll_fn(|cx| {
        Poll::Ready(Pin::new(&mut *fut).poll(cx))
    }))
}
