//! The coop budget: on one P, a goroutine whose channel operations are always ready
//! (it never waits) still gives the P up now and then, so another goroutine that needs
//! a single poll runs while the first is still looping.
//!
//! The busy goroutine loops until the other one has run, so without yields the test
//! could only end by sysmon's retake; the assertions check, by poll counts and flags,
//! that the busy one yielded (returned Pending) and was still busy when the other ran.

mod support;

use gort::chan::{bounded, unbounded};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use support::{eventually, Watchdog};

/// Counts how often the inner future is polled.
struct Polls<F> {
    inner: Pin<Box<F>>,
    polls: Arc<AtomicUsize>,
}

impl<F: Future> Future for Polls<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, SeqCst);
        self.inner.as_mut().poll(cx)
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
    let busy_polls = Arc::new(AtomicUsize::new(0));
    let iterations = Arc::new(AtomicUsize::new(0));
    let busy = {
        let (other_ran, iterations) = (other_ran.clone(), iterations.clone());
        let fut = async move {
            match kind {
                Busy::Recv => {
                    let (tx, rx) = unbounded::<u64>();
                    tx.send(0).await.unwrap();
                    while !other_ran.load(SeqCst) {
                        let v = rx.recv().await.unwrap();
                        tx.send(v + 1).await.unwrap();
                        iterations.fetch_add(1, SeqCst);
                    }
                }
                Busy::Send => {
                    let (tx, rx) = unbounded::<u64>();
                    while !other_ran.load(SeqCst) {
                        tx.send(1).await.unwrap();
                        iterations.fetch_add(1, SeqCst);
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
                        iterations.fetch_add(1, SeqCst);
                    }
                }
            }
        };
        rt.spawn(Polls {
            inner: Box::pin(fut),
            polls: busy_polls.clone(),
        })
    };
    // Spawn the other one only once the busy one is looping.
    assert!(eventually(Duration::from_secs(10), || iterations
        .load(SeqCst)
        > 0));
    let seen = Arc::new(AtomicUsize::new(usize::MAX));
    let other = {
        let (other_ran, seen, busy_polls, iterations) = (
            other_ran.clone(),
            seen.clone(),
            busy_polls.clone(),
            iterations.clone(),
        );
        rt.spawn(async move {
            seen.store(busy_polls.load(SeqCst), SeqCst);
            let at = iterations.load(SeqCst);
            other_ran.store(true, SeqCst);
            at
        })
    };
    let at = rt.block_on(other).unwrap();
    rt.block_on(busy).unwrap();
    let polls_then = seen.load(SeqCst);
    assert!(
        polls_then >= 2,
        "{kind:?}: the busy goroutine never yielded before the other ran (polls {polls_then})"
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
