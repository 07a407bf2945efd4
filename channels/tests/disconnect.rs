//! Handles going away: the last `Sender` dropped closes the channel; the last
//! `Receiver` dropped fails blocked senders with their values, and later sends at once.

mod support;

use gort_channels::{bounded, select, unbounded, TryRecvError, TrySendError};
use std::pin::pin;
use std::task::Poll;
use std::thread;
use std::time::Duration;
use support::{block_on, poll_with, CountingWaker, Ledger};

#[test]
fn last_sender_drop_closes() {
    let (tx, rx) = bounded::<i32>(3);
    let tx2 = tx.clone();
    tx.send_blocking(1).unwrap();
    drop(tx);
    assert!(!rx.is_closed(), "a sender is still alive");
    tx2.send_blocking(2).unwrap();
    drop(tx2);
    assert!(rx.is_closed());
    assert_eq!(rx.iter().collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn last_sender_drop_wakes_blocked_receivers() {
    let (tx, rx) = bounded::<i32>(0);
    let hs: Vec<_> = (0..4)
        .map(|i| {
            let rx = rx.clone();
            thread::spawn(move || {
                if i % 2 == 0 {
                    rx.recv_blocking()
                } else {
                    block_on(rx.recv())
                }
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(10));
    drop(tx);
    for h in hs {
        assert_eq!(h.join().unwrap(), None);
    }
}

/// A pending receive future is woken when the last sender goes.
#[test]
fn last_sender_drop_wakes_pending_future() {
    let (tx, rx) = unbounded::<i32>();
    let (count, waker) = CountingWaker::new();
    let mut fut = pin!(rx.recv());
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    drop(tx);
    assert!(count.count() >= 1);
    assert_eq!(poll_with(fut.as_mut(), &waker), Poll::Ready(None));
}

/// Senders blocked when the last receiver goes complete with their own values.
#[test]
fn last_receiver_drop_fails_blocked_senders() {
    for cap in [0usize, 2] {
        let (tx, rx) = bounded::<usize>(cap);
        for i in 0..cap {
            tx.send_blocking(100 + i).unwrap();
        }
        let hs: Vec<_> = (0..4usize)
            .map(|i| {
                let tx = tx.clone();
                thread::spawn(move || {
                    if i % 2 == 0 {
                        tx.send_blocking(i)
                    } else {
                        block_on(tx.send(i))
                    }
                })
            })
            .collect();
        thread::sleep(Duration::from_millis(20));
        let rx2 = rx.clone();
        drop(rx);
        thread::sleep(Duration::from_millis(5));
        // One receiver is left: every sender still waits.
        assert!(
            hs.iter().all(|h| !h.is_finished()),
            "cap {cap}: a sender gave up early"
        );
        drop(rx2);
        for (i, h) in hs.into_iter().enumerate() {
            let e = h
                .join()
                .unwrap()
                .expect_err("a send with no receivers succeeded");
            assert_eq!(e.0, i, "cap {cap}");
        }
        assert!(tx.is_closed());
    }
}

/// After the last receiver is gone every send fails at once: try, blocking, async,
/// select, for every flavor; buffered values are dropped with the last receiver.
#[test]
fn sends_fail_at_once_without_receivers() {
    for cap in [Some(0), Some(1), Some(8), None] {
        let ledger = Ledger::new(8);
        let (tx, rx) = match cap {
            Some(c) => bounded::<support::Item>(c),
            None => unbounded(),
        };
        if cap != Some(0) {
            tx.send_blocking(ledger.item(0)).unwrap();
        }
        drop(rx);
        if cap != Some(0) {
            assert_eq!(
                ledger.drops(0),
                1,
                "{cap:?}: buffered value not dropped with the last receiver"
            );
        }
        assert!(tx.is_closed());
        assert!(
            matches!(tx.try_send(ledger.item(1)), Err(TrySendError::Closed(ref i)) if i.id == 1)
        );
        assert_eq!(tx.send_blocking(ledger.item(2)).unwrap_err().0.id, 2);
        assert_eq!(block_on(tx.send(ledger.item(3))).unwrap_err().0.id, 3);
        // A channel with no receivers is ready for a send: the select takes it (not
        // default) and gets the value back.
        let got = block_on(async {
            select! { send(tx, ledger.item(4)) -> r => Some(r.unwrap_err().0.id), default => None }
        });
        assert_eq!(got, Some(4), "{cap:?}");
        assert_eq!(ledger.total_drops(), if cap == Some(0) { 4 } else { 5 });
    }
}

/// A pending send future is woken when the last receiver goes and fails.
#[test]
fn last_receiver_drop_wakes_pending_send_future() {
    let (tx, rx) = bounded::<i32>(0);
    let (count, waker) = CountingWaker::new();
    let mut fut = pin!(tx.send(11));
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    drop(rx);
    assert!(count.count() >= 1);
    match poll_with(fut.as_mut(), &waker) {
        Poll::Ready(Err(e)) => assert_eq!(e.0, 11),
        _ => panic!("expected Err(11)"),
    }
}

/// Receivers dropping one by one: only the last one disconnects.
#[test]
fn only_last_receiver_disconnects() {
    let (tx, rx) = unbounded::<i32>();
    let rxs: Vec<_> = (0..5).map(|_| rx.clone()).collect();
    drop(rx);
    for (i, r) in rxs.into_iter().enumerate() {
        assert!(
            tx.send_blocking(i as i32).is_ok(),
            "send failed with {} receivers left",
            5 - i
        );
        drop(r);
    }
    assert!(tx.send_blocking(9).is_err());
}

/// Values still buffered when the last receiver goes are dropped exactly once.
#[test]
fn buffered_values_dropped_with_last_receiver() {
    let ledger = Ledger::new(100);
    let (tx, rx) = unbounded();
    for i in 0..100 {
        tx.send_blocking(ledger.item(i)).unwrap();
    }
    for _ in 0..10 {
        drop(rx.recv_blocking());
    }
    drop(rx);
    assert_eq!(ledger.not_dropped_once(), vec![]);
    drop(tx);
    assert_eq!(ledger.not_dropped_once(), vec![]);
}

/// Dropping both ends with values buffered drops them once (no leak).
#[test]
fn channel_drop_drops_buffer() {
    let ledger = Ledger::new(10);
    let (tx, rx) = bounded(10);
    for i in 0..10 {
        tx.send_blocking(ledger.item(i)).unwrap();
    }
    drop(tx);
    assert_eq!(ledger.total_drops(), 0);
    drop(rx);
    assert_eq!(ledger.not_dropped_once(), vec![]);
}
