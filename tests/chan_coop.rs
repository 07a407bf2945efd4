//! The coop budget: on one P, a goroutine whose channel operations are always ready
//! (it never waits) still gives the P up now and then, so another goroutine that needs
//! a single poll runs while the first is still looping.
//!
//! The busy goroutine loops until the other one has run, so without yields the test
//! could only end by sysmon's retake; the assertions check, by counts of `Pending` and
//! flags, that the busy one yielded and was still busy when the other ran.

mod support;

use gort::chan::{bounded, unbounded};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use support::Watchdog;

/// Counts how often the inner future returned `Pending` (gave its P up).
struct Yields<F> {
    inner: Pin<Box<F>>,
    yields: Arc<AtomicUsize>,
}

impl<F: Future> Future for Yields<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let r = self.inner.as_mut().poll(cx);
        if r.is_pending() {
            self.yields.fetch_add(1, SeqCst);
        }
        r
    }
}

#[derive(Clone, Copy, Debug)]
enum Busy {
    /// recv on a channel that always has a value (it feeds itself)
    Recv,
    /// send on an unbounded channel
    Send,
    /// try-free recv on a bounded channel pre-filled with 100k values
    Prefilled,
}

fn no_starvation(kind: Busy) {
    let rt = gort::Runtime::builder().procs(1).build().unwrap();
    let other_ran = Arc::new(AtomicBool::new(false));
    let busy_yields = Arc::new(AtomicUsize::new(0));
    let iterations = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(AtomicUsize::new(usize::MAX));
    let other_handle = Arc::new(Mutex::new(None));
    // The other goroutine is spawned by the busy one after its first operation: the
    // busy one is then surely looping on the only P, however late this thread runs.
    let spawn_other = {
        let (other_ran, seen, busy_yields, iterations, handle) = (
            other_ran.clone(),
            seen.clone(),
            busy_yields.clone(),
            iterations.clone(),
            other_handle.clone(),
        );
        move || {
            let h = gort::go(async move {
                seen.store(busy_yields.load(SeqCst), SeqCst);
                let at = iterations.load(SeqCst);
                other_ran.store(true, SeqCst);
                at
            });
            *handle.lock().unwrap() = Some(h);
        }
    };
    let busy = {
        let (other_ran, iterations) = (other_ran.clone(), iterations.clone());
        let mut spawn_other = Some(spawn_other);
        let mut did_one = move || {
            iterations.fetch_add(1, SeqCst);
            if let Some(spawn) = spawn_other.take() {
                spawn();
            }
        };
        let fut = async move {
            match kind {
                Busy::Recv => {
                    let (tx, rx) = unbounded::<u64>();
                    tx.send(0).await.unwrap();
                    while !other_ran.load(SeqCst) {
                        let v = rx.recv().await.unwrap();
                        tx.send(v + 1).await.unwrap();
                        did_one();
                    }
                }
                Busy::Send => {
                    let (tx, rx) = unbounded::<u64>();
                    while !other_ran.load(SeqCst) {
                        tx.send(1).await.unwrap();
                        did_one();
                    }
                    drop(rx);
                }
                Busy::Prefilled => {
                    let n = 100_000;
                    let (tx, rx) = bounded::<u64>(n);
                    for i in 0..n as u64 {
                        tx.try_send(i).unwrap();
                    }
                    for _ in 0..n {
                        rx.recv().await.unwrap();
                        did_one();
                    }
                }
            }
        };
        rt.spawn(Yields {
            inner: Box::pin(fut),
            yields: busy_yields.clone(),
        })
    };
    rt.block_on(busy).unwrap();
    let other = other_handle
        .lock()
        .unwrap()
        .take()
        .expect("the busy goroutine spawned the other");
    let at = rt.block_on(other).unwrap();
    let yields_then = seen.load(SeqCst);
    assert!(
        yields_then >= 1,
        "{kind:?}: the busy goroutine never yielded before the other ran"
    );
    if let Busy::Prefilled = kind {
        assert!(
            at < 100_000,
            "{kind:?}: the other goroutine ran only after the loop ended"
        );
    }
}

#[test]
fn chan_coop_recv_loop_does_not_starve() {
    let _wd = Watchdog::new(
        "chan_coop_recv_loop_does_not_starve",
        Duration::from_secs(60),
    );
    no_starvation(Busy::Recv);
}

#[test]
fn chan_coop_send_loop_does_not_starve() {
    let _wd = Watchdog::new(
        "chan_coop_send_loop_does_not_starve",
        Duration::from_secs(60),
    );
    no_starvation(Busy::Send);
}

#[test]
fn chan_coop_prefilled_recv_does_not_starve() {
    let _wd = Watchdog::new(
        "chan_coop_prefilled_recv_does_not_starve",
        Duration::from_secs(60),
    );
    no_starvation(Busy::Prefilled);
}

/// Two always-ready goroutines on one P take turns (each yields within a bounded
/// number of operations), so both finish and their progress interleaves.
#[test]
fn chan_coop_two_busy_goroutines_interleave() {
    let _wd = Watchdog::new(
        "chan_coop_two_busy_goroutines_interleave",
        Duration::from_secs(60),
    );
    let rt = gort::Runtime::builder().procs(1).build().unwrap();
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    rt.block_on(async {
        let hs: Vec<_> = (0..2)
            .map(|t| {
                let log = log.clone();
                gort::go(async move {
                    let (tx, rx) = unbounded::<u32>();
                    for i in 0..20_000u32 {
                        tx.send(i).await.unwrap();
                        rx.recv().await.unwrap();
                        if i % 1_000 == 0 {
                            log.lock().unwrap().push(t);
                        }
                    }
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    });
    let log = log.lock().unwrap();
    let switches = log.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(switches >= 2, "the goroutines did not interleave: {log:?}");
}
