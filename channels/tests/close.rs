//! `close`: harmless twice; `is_closed` on both ends; blocked senders get their own
//! values back; blocked receivers wake with `None`; the buffer drains first.

mod support;

use gort_channels::{bounded, select, unbounded, TryRecvError, TrySendError};
use std::pin::pin;
use std::task::Poll;
use std::thread;
use std::time::Duration;
use support::{block_on, poll_with, CountingWaker, Ledger};

#[test]
fn close_twice_is_harmless() {
    let (tx, rx) = bounded::<i32>(1);
    tx.send_blocking(1).unwrap();
    tx.close();
    tx.close();
    tx.clone().close();
    assert_eq!(rx.recv_blocking(), Some(1));
    assert_eq!(rx.recv_blocking(), None);
}

#[test]
fn is_closed_on_both_ends() {
    for cap in [Some(0), Some(3), None] {
        let (tx, rx) = match cap {
            Some(c) => bounded::<i32>(c),
            None => unbounded::<i32>(),
        };
        let (tx2, rx2) = (tx.clone(), rx.clone());
        assert!(!tx.is_closed() && !rx.is_closed());
        tx2.close();
        assert!(tx.is_closed() && rx.is_closed() && tx2.is_closed() && rx2.is_closed());
    }
}

/// Senders blocked (full buffer, or unbuffered) when the channel closes complete with
/// `Err(SendError(their own value))`.
#[test]
fn blocked_senders_get_their_values_back() {
    for cap in [0usize, 1, 4] {
        let (tx, rx) = bounded::<usize>(cap);
        for i in 0..cap {
            tx.send_blocking(1000 + i).unwrap();
        }
        let hs: Vec<_> = (0..4usize)
            .map(|i| {
                let tx = tx.clone();
                thread::spawn(move || tx.send_blocking(i))
            })
            .collect();
        // Async senders too.
        let ahs: Vec<_> = (4..8usize)
            .map(|i| {
                let tx = tx.clone();
                thread::spawn(move || block_on(tx.send(i)))
            })
            .collect();
        thread::sleep(Duration::from_millis(20));
        tx.close();
        for (i, h) in hs.into_iter().chain(ahs).enumerate() {
            let e = h
                .join()
                .unwrap()
                .expect_err("a send blocked at close succeeded");
            assert_eq!(e.0, i, "cap {cap}: got someone else's value back");
        }
        let drained: Vec<_> = rx.iter().collect();
        assert_eq!(drained, (0..cap).map(|i| 1000 + i).collect::<Vec<_>>());
    }
}

/// A pending send future (polled by hand) is woken by close and gives its value back.
#[test]
fn pending_send_future_fails_at_close() {
    let (tx, rx) = bounded::<String>(0);
    let (count, waker) = CountingWaker::new();
    let mut fut = pin!(tx.send("hello".to_string()));
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    tx.close();
    assert!(count.count() >= 1, "close did not wake the sender");
    match poll_with(fut.as_mut(), &waker) {
        Poll::Ready(Err(e)) => assert_eq!(e.0, "hello"),
        other => panic!("expected Err(hello), got ready={}", other.is_ready()),
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

/// Every receiver blocked at close wakes with `None` (threads, futures, selects).
#[test]
fn close_wakes_every_receiver() {
    let (tx, rx) = bounded::<i32>(0);
    let mut hs = Vec::new();
    for _ in 0..3 {
        let rx = rx.clone();
        hs.push(thread::spawn(move || rx.recv_blocking()));
    }
    for _ in 0..3 {
        let rx = rx.clone();
        hs.push(thread::spawn(move || block_on(rx.recv())));
    }
    for _ in 0..3 {
        let rx = rx.clone();
        hs.push(thread::spawn(move || {
            let (_t, other) = bounded::<i32>(0);
            block_on(async {
                select! { recv(other) -> _ => Some(-1), recv(rx) -> v => v }
            })
        }));
    }
    thread::sleep(Duration::from_millis(20));
    tx.close();
    for h in hs {
        assert_eq!(h.join().unwrap(), None);
    }
}

/// Receivers drain what is buffered before seeing `None`, and `try_recv` agrees.
#[test]
fn receivers_drain_then_none() {
    let (tx, rx) = bounded::<i32>(5);
    for i in 0..5 {
        tx.send_blocking(i).unwrap();
    }
    tx.close();
    assert_eq!(rx.len(), 5);
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(block_on(rx.recv()), Some(1));
    assert_eq!(rx.recv_blocking(), Some(2));
    let v = block_on(async {
        select! { recv(rx) -> v => v }
    });
    assert_eq!(v, Some(3));
    assert_eq!(rx.iter().collect::<Vec<_>>(), vec![4]);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert_eq!(rx.recv_blocking(), None);
}

/// Sends after close fail at once, in every form, handing the value back.
#[test]
fn sends_after_close_fail_at_once() {
    let ledger = Ledger::new(5);
    let (tx, rx) = bounded::<support::Item>(10);
    tx.close();
    assert!(matches!(tx.try_send(ledger.item(0)), Err(TrySendError::Closed(ref i)) if i.id == 0));
    assert_eq!(tx.send_blocking(ledger.item(1)).unwrap_err().0.id, 1);
    assert_eq!(block_on(tx.send(ledger.item(2))).unwrap_err().0.id, 2);
    let id = block_on(async {
        select! { send(tx, ledger.item(3)) -> r => r.unwrap_err().0.id }
    });
    assert_eq!(id, 3);
    let r = tx.send_timeout(ledger.item(4), Duration::from_secs(1));
    assert!(matches!(r, Err(gort_channels::SendTimeoutError::Closed(ref i)) if i.id == 4));
    drop(r);
    assert_eq!(ledger.total_drops(), 5);
    assert!(rx.is_empty());
}

/// Closing a channel with receivers' and senders' selects waiting on it alongside
/// other channels: the selects complete on this channel.
#[test]
fn close_completes_selects() {
    let (tx, rx) = bounded::<i32>(0);
    let (_otx, orx) = bounded::<i32>(0);
    let h = {
        let tx = tx.clone();
        let orx = orx.clone();
        thread::spawn(move || {
            block_on(async {
                select! { send(tx, 5) -> r => r.map_err(|e| e.0), recv(orx) -> _ => Ok(()) }
            })
        })
    };
    thread::sleep(Duration::from_millis(10));
    tx.close();
    assert_eq!(h.join().unwrap(), Err(5));
    drop(rx);
}

/// Closing from a clone closes for every handle.
#[test]
fn close_from_any_clone() {
    let (tx, rx) = unbounded::<i32>();
    let tx2 = tx.clone();
    tx.send_blocking(1).unwrap();
    tx2.close();
    assert!(tx.send_blocking(2).is_err());
    assert_eq!(rx.iter().collect::<Vec<_>>(), vec![1]);
}
