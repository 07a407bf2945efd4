//! Cancellation safety: a `send`/`recv`/`select!` future dropped half way leaves no
//! trace and loses nothing. Futures are polled by hand (once, to Pending), then the
//! counterpart acts, then the future is dropped without being polled again.
//!
//! Values are `Item`s whose drops a `Ledger` counts: each must be dropped exactly once
//! overall (never lost inside a channel, never duplicated), and where it ends up
//! (received, or handed back) is checked by id.

mod support;

use gort_channels::{bounded, select, unbounded, Receiver, Sender, TryRecvError, TrySendError};
use std::future::Future;
use std::pin::{pin, Pin};
use std::task::Poll;
use std::thread;
use std::time::Duration;
use support::{block_on, poll_once, Item, Ledger};

/// The three flavors: unbuffered, buffered, unbounded.
fn flavors<T>() -> Vec<(&'static str, Sender<T>, Receiver<T>)> {
    let (a, b) = bounded(0);
    let (c, d) = bounded(2);
    let (e, f) = unbounded();
    vec![
        ("bounded(0)", a, b),
        ("bounded(2)", c, d),
        ("unbounded", e, f),
    ]
}

fn pending<F: Future + ?Sized>(f: Pin<&mut F>) {
    assert!(poll_once(f).is_pending(), "the future was expected to wait");
}

fn id_of(r: Result<Item, TryRecvError>) -> Option<usize> {
    r.ok().map(|i| i.id)
}

/// A receive future dropped while waiting leaves no entry a sender could pair with:
/// an unbuffered `try_send` finds nobody, a buffered one buffers.
#[test]
fn dropped_recv_future_unregisters() {
    for (name, tx, rx) in flavors::<i32>() {
        {
            let mut f = pin!(rx.recv());
            pending(f.as_mut());
        }
        match tx.try_send(1) {
            Err(TrySendError::Full(1)) => assert_eq!(name, "bounded(0)"),
            Ok(()) => {
                assert_ne!(name, "bounded(0)", "a send paired with a dropped receive");
                assert_eq!(rx.len(), 1, "{name}: the value went to the dropped receive");
                assert_eq!(rx.try_recv(), Ok(1));
            }
            Err(e) => panic!("{name}: {e}"),
        }
        // And real receivers still work.
        let h = {
            let rx = rx.clone();
            thread::spawn(move || rx.recv_blocking())
        };
        tx.send_blocking(2).unwrap();
        assert_eq!(h.join().unwrap(), Some(2), "{name}");
    }
}

/// A send future dropped while waiting sends nothing; its value is dropped with it.
#[test]
fn dropped_send_future_unregisters() {
    for (name, tx, rx) in flavors::<Item>() {
        if name == "unbounded" {
            continue; // an unbounded send never waits
        }
        let ledger = Ledger::new(4);
        let cap = tx.capacity().unwrap();
        for i in 0..cap {
            tx.try_send(ledger.item(i)).unwrap_or_else(|_| panic!());
        }
        let mut ids: Vec<usize> = (0..cap).collect();
        {
            let mut f = pin!(tx.send(ledger.item(3)));
            pending(f.as_mut());
        }
        assert_eq!(
            ledger.drops(3),
            1,
            "{name}: the dropped send's value was not dropped"
        );
        let mut got = Vec::new();
        while let Some(id) = id_of(rx.try_recv()) {
            got.push(id);
        }
        ids.sort();
        assert_eq!(got, ids, "{name}: the dropped send delivered");
        // Nobody is left waiting on the sender side.
        assert_eq!(rx.try_recv().err(), Some(TryRecvError::Empty));
    }
}

/// A select dropped while waiting leaves no entry on any of its channels, and its send
/// case's value is dropped, not delivered.
#[test]
fn dropped_select_future_unregisters() {
    let ledger = Ledger::new(1);
    let (atx, arx) = bounded::<i32>(0);
    let (btx, brx) = bounded::<i32>(0);
    let (ctx, crx) = bounded::<Item>(0);
    {
        let mut f = pin!(async {
            select! {
                recv(arx) -> _ => 0,
                recv(brx) -> _ => 1,
                send(ctx, ledger.item(0)) -> _ => 2,
            }
        });
        pending(f.as_mut());
        assert_eq!(ledger.drops(0), 0);
    }
    assert_eq!(ledger.drops(0), 1);
    assert!(atx.try_send(1).unwrap_err().is_full());
    assert!(btx.try_send(1).unwrap_err().is_full());
    assert_eq!(crx.try_recv().err(), Some(TryRecvError::Empty));
}

/// A value handed to a waiting receive whose future is then dropped (before it is
/// polled again) goes back to the channel: another receiver gets it.
#[test]
fn value_delivered_to_dropped_recv_goes_back() {
    for (name, tx, rx) in flavors::<Item>() {
        let ledger = Ledger::new(1);
        {
            let mut f = pin!(rx.recv());
            pending(f.as_mut());
            assert!(
                tx.try_send(ledger.item(0)).is_ok(),
                "{name}: a waiting receive is there"
            );
        }
        assert_eq!(
            ledger.drops(0),
            0,
            "{name}: the value was lost with the future"
        );
        assert_eq!(
            id_of(rx.try_recv()),
            Some(0),
            "{name}: the value did not come back"
        );
        assert_eq!(ledger.drops(0), 1);
    }
}

/// The value goes back to a receiver that is waiting meanwhile (blocked thread).
#[test]
fn value_delivered_to_dropped_recv_reaches_waiting_receiver() {
    for (name, tx, rx) in flavors::<i32>() {
        let mut f = Box::pin(rx.recv());
        pending(f.as_mut());
        // Deliver to the future first (it is first in the queue).
        assert!(tx.try_send(7).is_ok(), "{name}");
        let h = {
            let rx = rx.clone();
            thread::spawn(move || rx.recv_blocking())
        };
        thread::sleep(Duration::from_millis(10));
        drop(f);
        assert_eq!(h.join().unwrap(), Some(7), "{name}");
    }
}

/// The same for a select: the value goes back to the channel it came from, and a
/// second value, sent once the select is already claimed, is not taken by it.
#[test]
fn value_delivered_to_dropped_select_goes_back() {
    for first in [true, false] {
        let ledger = Ledger::new(2);
        let (atx, arx) = bounded::<Item>(0);
        let (btx, brx) = unbounded::<Item>();
        {
            let mut f = pin!(async {
                select! {
                    recv(arx) -> v => v.map(|i| i.id),
                    recv(brx) -> v => v.map(|i| i.id),
                }
            });
            pending(f.as_mut());
            if first {
                assert!(atx.try_send(ledger.item(0)).is_ok());
                assert!(btx.try_send(ledger.item(1)).is_ok()); // buffered
            } else {
                assert!(btx.try_send(ledger.item(0)).is_ok());
                assert!(atx.try_send(ledger.item(1)).unwrap_err().is_full());
            }
        }
        if first {
            assert_eq!(id_of(arx.try_recv()), Some(0), "value did not go back to a");
            assert_eq!(id_of(brx.try_recv()), Some(1));
        } else {
            assert_eq!(arx.try_recv().err(), Some(TryRecvError::Empty));
            assert_eq!(id_of(brx.try_recv()), Some(0), "value did not go back to b");
        }
        assert_eq!(ledger.not_dropped_once(), vec![]);
    }
}

/// A value put back goes to the front: FIFO order is kept.
#[test]
fn put_back_keeps_fifo_order() {
    let (tx, rx) = bounded::<i32>(3);
    {
        let mut f = pin!(rx.recv());
        pending(f.as_mut());
        tx.try_send(1).unwrap(); // to the waiting receive
        tx.try_send(2).unwrap(); // buffered
        tx.try_send(3).unwrap();
    }
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), vec![1, 2, 3]);
}

/// An unbuffered send whose value a receiver has taken, dropped before it is polled
/// again: the value is received exactly once (not dropped, not sent twice).
#[test]
fn rendezvous_send_dropped_after_receiver_committed() {
    let ledger = Ledger::new(1);
    let (tx, rx) = bounded::<Item>(0);
    {
        let mut f = pin!(tx.send(ledger.item(0)));
        pending(f.as_mut());
        let got = rx.try_recv().ok().map(|i| i.id);
        assert_eq!(got, Some(0));
        assert_eq!(ledger.drops(0), 1); // the receiver dropped it
    }
    assert_eq!(ledger.drops(0), 1);
    assert_eq!(rx.try_recv().err(), Some(TryRecvError::Empty));
}

/// The same with a receiver blocked on another thread (it commits while the sender's
/// future is pending and never polled again).
#[test]
fn rendezvous_send_dropped_while_receiver_blocked() {
    for _ in 0..50 {
        let ledger = Ledger::new(1);
        let (tx, rx) = bounded::<Item>(0);
        let h = thread::spawn(move || {
            rx.recv_timeout(Duration::from_millis(50))
                .ok()
                .map(|i| i.id)
        });
        {
            let mut f = pin!(tx.send(ledger.item(0)));
            let _ = poll_once(f.as_mut());
            thread::yield_now();
        }
        let got = h.join().unwrap();
        // Received once, or not at all (and then dropped with the future): once either way.
        assert_eq!(ledger.drops(0), 1, "received {got:?}");
    }
}

/// A select whose send case a receiver has taken, dropped before it is polled again.
#[test]
fn select_send_dropped_after_receiver_committed() {
    let ledger = Ledger::new(2);
    let (tx, rx) = bounded::<Item>(0);
    let (tx2, rx2) = bounded::<Item>(0);
    {
        let mut f = pin!(async {
            select! {
                send(tx, ledger.item(0)) -> r => r.is_ok(),
                send(tx2, ledger.item(1)) -> r => r.is_ok(),
            }
        });
        pending(f.as_mut());
        assert_eq!(id_of(rx.try_recv()), Some(0));
        assert_eq!(ledger.drops(0), 1);
        // The other case can no longer complete.
        assert_eq!(rx2.try_recv().err(), Some(TryRecvError::Empty));
    }
    assert_eq!((ledger.drops(0), ledger.drops(1)), (1, 1));
    assert_eq!(rx2.try_recv().err(), Some(TryRecvError::Empty));
}

/// A send future pending at close and dropped without being polled: its value is
/// dropped once, never delivered.
#[test]
fn send_future_dropped_after_close() {
    let ledger = Ledger::new(1);
    let (tx, rx) = bounded::<Item>(0);
    {
        let mut f = pin!(tx.send(ledger.item(0)));
        pending(f.as_mut());
        tx.close();
    }
    assert_eq!(ledger.drops(0), 1);
    assert_eq!(rx.try_recv().err(), Some(TryRecvError::Closed));
}

/// A receive future pending at close and dropped: nothing happens to others.
#[test]
fn recv_future_dropped_after_close() {
    let (tx, rx) = bounded::<i32>(1);
    {
        let mut f = pin!(rx.recv());
        pending(f.as_mut());
        tx.close();
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

/// A future dropped before its first poll does nothing at all.
#[test]
fn unpolled_futures_do_nothing() {
    let ledger = Ledger::new(1);
    let (tx, rx) = bounded::<Item>(1);
    drop(tx.send(ledger.item(0)));
    assert_eq!(ledger.drops(0), 1);
    assert!(rx.is_empty());
    tx.try_send(ledger.item(0)).ok().unwrap();
    drop(rx.recv());
    assert_eq!(rx.len(), 1);
}

/// A future polled to completion and then dropped does not undo anything.
#[test]
fn completed_futures_dropped_keep_their_effect() {
    let (tx, rx) = bounded::<i32>(1);
    {
        let mut f = pin!(tx.send(1));
        assert!(matches!(poll_once(f.as_mut()), Poll::Ready(Ok(()))));
    }
    assert_eq!(rx.len(), 1);
    {
        let mut f = pin!(rx.recv());
        assert_eq!(poll_once(f.as_mut()), Poll::Ready(Some(1)));
    }
    assert!(rx.is_empty());
}

/// Repeated drop-and-retry: a consumer that gives up on every receive after one poll
/// (as a `select!` inside a loop with a timeout would) still sees every value once.
#[test]
fn drop_and_retry_loop_loses_nothing() {
    let (tx, rx) = bounded::<u32>(0);
    let n = 2_000u32;
    let h = thread::spawn(move || {
        for i in 0..n {
            tx.send_blocking(i).unwrap();
        }
    });
    let mut got = Vec::new();
    while got.len() < n as usize {
        let mut f = pin!(rx.recv());
        if let Poll::Ready(v) = poll_once(f.as_mut()) {
            got.push(v.unwrap());
        } else {
            thread::yield_now();
        }
        // `f` is dropped here, pending or not.
    }
    h.join().unwrap();
    assert_eq!(got, (0..n).collect::<Vec<_>>());
}

/// A `Receiver` dropped while its blocking counterpart waits is not the last one:
/// values still flow to the remaining receivers.
#[test]
fn dropping_a_receiver_clone_with_pending_future_keeps_channel() {
    let (tx, rx) = bounded::<i32>(0);
    let rx2 = rx.clone();
    {
        let mut f = pin!(rx2.recv());
        pending(f.as_mut());
        tx.try_send(1).unwrap();
    }
    drop(rx2);
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(!tx.is_closed());
    block_on(async {
        let h = thread::spawn({
            let tx = tx.clone();
            move || tx.send_blocking(2)
        });
        assert_eq!(rx.recv().await, Some(2));
        h.join().unwrap().unwrap();
    });
}
