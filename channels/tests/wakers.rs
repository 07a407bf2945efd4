//! Wake-ups: the waker of the latest poll is the one woken (executors move tasks
//! between threads and hand a new waker), every completion wakes, and a select with
//! `default` answers promptly even while its channels churn.

mod support;

use gort_channels::{bounded, select, unbounded};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::task::Poll;
use std::thread;
use std::time::{Duration, Instant};
use support::{block_on, poll_with, CountingWaker, Watchdog};

#[test]
fn latest_waker_is_woken_recv() {
    let (tx, rx) = bounded::<i32>(0);
    let (a, wa) = CountingWaker::new();
    let (b, wb) = CountingWaker::new();
    let mut f = pin!(rx.recv());
    assert!(poll_with(f.as_mut(), &wa).is_pending());
    assert!(poll_with(f.as_mut(), &wb).is_pending());
    tx.try_send(1).unwrap();
    assert!(b.count() >= 1, "the latest waker was not woken");
    let _ = a;
    assert_eq!(poll_with(f.as_mut(), &wb), Poll::Ready(Some(1)));
}

#[test]
fn latest_waker_is_woken_send_and_select() {
    let (tx, rx) = bounded::<i32>(0);
    let (_a, wa) = CountingWaker::new();
    let (b, wb) = CountingWaker::new();
    let mut f = pin!(tx.send(1));
    assert!(poll_with(f.as_mut(), &wa).is_pending());
    assert!(poll_with(f.as_mut(), &wb).is_pending());
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(b.count() >= 1);
    let (tx2, rx2) = bounded::<i32>(0);
    let (c, wc) = CountingWaker::new();
    let mut s = pin!(async {
        select! { recv(rx) -> _ => 0, recv(rx2) -> _ => 1 }
    });
    assert!(poll_with(s.as_mut(), &wa).is_pending());
    assert!(poll_with(s.as_mut(), &wc).is_pending());
    tx2.try_send(5).unwrap();
    assert!(c.count() >= 1);
    assert_eq!(poll_with(s.as_mut(), &wc), Poll::Ready(1));
}

/// A future moved between threads (polled on one, then on another) is woken on the
/// second and completes there.
#[test]
fn future_moves_between_threads() {
    let (tx, rx) = unbounded::<i32>();
    let rx = Arc::new(rx);
    let fut = {
        let rx = rx.clone();
        async move { rx.recv().await }
    };
    let mut fut = Box::pin(fut);
    let (_a, wa) = CountingWaker::new();
    assert!(poll_with(fut.as_mut(), &wa).is_pending());
    let h = thread::spawn(move || block_on(fut));
    thread::sleep(Duration::from_millis(10));
    tx.send_blocking(3).unwrap();
    assert_eq!(h.join().unwrap(), Some(3));
}

/// Other receivers come and go on a channel nobody sends to (its version changes all
/// the time, yet it is never ready): a select with default over it still answers
/// default, promptly, every time.
#[test]
fn default_under_churn() {
    let _wd = Watchdog::new("default_under_churn", Duration::from_secs(60));
    let (tx, rx) = bounded::<i32>(0);
    let stop = Arc::new(AtomicBool::new(false));
    let churners: Vec<_> = (0..2)
        .map(|_| {
            let (rx, stop) = (rx.clone(), stop.clone());
            thread::spawn(move || {
                while !stop.load(SeqCst) {
                    let _ = rx.recv_timeout(Duration::from_micros(1));
                }
            })
        })
        .collect();
    let (_tx2, rx2) = bounded::<i32>(0);
    let start = Instant::now();
    let mut slowest = Duration::ZERO;
    block_on(async {
        for _ in 0..20_000 {
            let t = Instant::now();
            let d = select! { recv(rx) -> _ => false, recv(rx2) -> _ => false, default => true };
            assert!(d);
            slowest = slowest.max(t.elapsed());
        }
    });
    stop.store(true, SeqCst);
    for c in churners {
        c.join().unwrap();
    }
    drop(tx);
    eprintln!(
        "20,000 selects with default under churn: {:?}, slowest {slowest:?}",
        start.elapsed()
    );
    assert!(
        slowest < Duration::from_secs(5),
        "a select with default spun for {slowest:?}"
    );
}

/// A waiting recv future re-polled with a new waker while a sender on another thread
/// claims it and wakes it, many times over, at rendezvous and at capacity 1: the wake
/// must reach the waker stored last (token.rs, the signal's lock). A wake that went
/// only to the first waker leaves the second one unwoken, and the watchdog fires.
#[test]
fn waker_swap_races_the_wake() {
    let _wd = Watchdog::new("waker_swap_races_the_wake", Duration::from_secs(120));
    for cap in [0, 1] {
        for i in 0..20_000 {
            let (tx, rx) = bounded::<i32>(cap);
            let (_a, wa) = CountingWaker::new();
            let (b, wb) = CountingWaker::new();
            let mut f = pin!(rx.recv());
            assert!(poll_with(f.as_mut(), &wa).is_pending());
            let sender = thread::spawn(move || tx.send_blocking(i).unwrap());
            if poll_with(f.as_mut(), &wb) == Poll::Ready(Some(i)) {
                sender.join().unwrap();
                continue;
            }
            // Pending with `wb` stored: from here only `wb` may be woken.
            while b.count() == 0 {
                std::hint::spin_loop();
                thread::yield_now();
            }
            assert_eq!(poll_with(f.as_mut(), &wb), Poll::Ready(Some(i)));
            sender.join().unwrap();
        }
    }
}
