//! The dynamic `Select` (cases known at run time): recv and send cases, `try_select`,
//! `select_timeout`, `select_blocking`, async `select().await`; a send case's value is
//! given only once it is chosen; a `SelectedOperation` dropped without completing
//! loses nothing (a received value goes back, a reservation is released).

mod support;

use gort_channels::{bounded, never, unbounded, Select, TryRecvError};
use std::pin::pin;
use std::thread;
use std::time::{Duration, Instant};
use support::{block_on, poll_once, Ledger};

#[test]
fn recv_case() {
    let (_tx1, rx1) = bounded::<i32>(1);
    let (tx2, rx2) = bounded::<i32>(1);
    tx2.send_blocking(5).unwrap();
    let mut sel = Select::new();
    let a = sel.recv(&rx1);
    let b = sel.recv(&rx2);
    assert_eq!((a, b), (0, 1));
    let op = sel.select_blocking();
    assert_eq!(op.index(), b);
    assert_eq!(op.recv(&rx2), Some(5));
    assert!(rx2.is_empty());
}

#[test]
fn send_case_buffered_and_unbounded() {
    let (tx1, rx1) = bounded::<i32>(1);
    let (tx2, rx2) = unbounded::<i32>();
    for round in 0..10 {
        let mut sel = Select::new();
        let a = sel.send(&tx1);
        let b = sel.send(&tx2);
        let op = sel.select_blocking();
        match op.index() {
            i if i == a => op.send(&tx1, round).unwrap(),
            i if i == b => op.send(&tx2, round).unwrap(),
            _ => unreachable!(),
        }
        // tx1 holds at most one; once full only tx2 is ready.
        assert!(rx1.len() <= 1);
    }
    assert_eq!(rx1.len() + rx2.len(), 10);
}

/// A send case on an unbuffered channel is ready only with a receiver waiting, and
/// `op.send` hands the value to that receiver.
#[test]
fn send_case_unbuffered_pairs_with_receiver() {
    let (tx, rx) = bounded::<i32>(0);
    let mut sel = Select::new();
    sel.send(&tx);
    assert!(sel.try_select().is_err(), "no receiver waits yet");
    let h = thread::spawn(move || rx.recv_blocking());
    let mut sel = Select::new();
    let i = sel.send(&tx);
    let op = sel.select_blocking(); // waits for the receiver
    assert_eq!(op.index(), i);
    op.send(&tx, 42).unwrap();
    assert_eq!(h.join().unwrap(), Some(42));
}

#[test]
fn try_select_err_when_none_ready() {
    let (tx, rx) = bounded::<i32>(0);
    let (full_tx, _full_rx) = bounded::<i32>(1);
    full_tx.send_blocking(0).unwrap();
    let n = never::<i32>();
    let mut sel = Select::new();
    sel.recv(&rx);
    sel.send(&tx);
    sel.send(&full_tx);
    sel.recv(&n);
    for _ in 0..10 {
        assert!(sel.try_select().is_err());
    }
    // Nothing moved, nothing reserved.
    assert!(tx.try_send(1).unwrap_err().is_full());
    assert_eq!(full_tx.len(), 1);
    let empty: &mut Select<'_> = &mut Select::new();
    assert!(empty.try_select().is_err());
}

#[test]
fn try_select_ok_when_ready() {
    let (tx, rx) = unbounded::<i32>();
    tx.send_blocking(3).unwrap();
    let mut sel = Select::new();
    let r = sel.recv(&rx);
    let op = sel.try_select().expect("ready");
    assert_eq!(op.index(), r);
    assert_eq!(op.recv(&rx), Some(3));
}

#[test]
fn select_timeout() {
    let (_tx, rx) = bounded::<i32>(0);
    let mut sel = Select::new();
    sel.recv(&rx);
    let d = Duration::from_millis(20);
    let start = Instant::now();
    assert!(sel.select_timeout(d).is_err());
    assert!(
        start.elapsed() >= d,
        "timed out early: {:?}",
        start.elapsed()
    );
    // Ready before the deadline: chosen.
    let (tx2, rx2) = bounded::<i32>(0);
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        tx2.send_blocking(8).unwrap();
    });
    let mut sel = Select::new();
    sel.recv(&rx);
    let i = sel.recv(&rx2);
    let op = sel
        .select_timeout(Duration::from_secs(20))
        .expect("a case in time");
    assert_eq!(op.index(), i);
    assert_eq!(op.recv(&rx2), Some(8));
    h.join().unwrap();
    // A zero timeout behaves as try_select.
    let mut sel = Select::new();
    sel.recv(&rx);
    assert!(sel.select_timeout(Duration::ZERO).is_err());
}

/// A select that timed out left nothing behind: an unbuffered send finds nobody.
#[test]
fn select_timeout_unregisters() {
    let (tx, rx) = bounded::<i32>(0);
    let mut sel = Select::new();
    sel.recv(&rx);
    assert!(sel.select_timeout(Duration::from_millis(5)).is_err());
    assert!(tx.try_send(1).unwrap_err().is_full());
}

#[test]
fn async_select() {
    let (tx, rx) = bounded::<i32>(0);
    let (_tx2, rx2) = bounded::<i32>(0);
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        tx.send_blocking(11).unwrap();
    });
    let v = block_on(async {
        let mut sel = Select::new();
        let _ = sel.recv(&rx2);
        let i = sel.recv(&rx);
        let op = sel.select().await;
        assert_eq!(op.index(), i);
        op.recv(&rx)
    });
    assert_eq!(v, Some(11));
    h.join().unwrap();
}

#[test]
fn async_select_send() {
    let (tx, rx) = bounded::<i32>(0);
    let h = thread::spawn(move || rx.recv_blocking());
    block_on(async {
        let mut sel = Select::new();
        let i = sel.send(&tx);
        let op = sel.select().await;
        assert_eq!(op.index(), i);
        op.send(&tx, 12).unwrap();
    });
    assert_eq!(h.join().unwrap(), Some(12));
}

/// A send case not chosen leaves no value anywhere and no reservation: the channel
/// has all its room afterwards.
#[test]
fn unchosen_send_case_leaves_no_trace() {
    let (stx, srx) = bounded::<i32>(1);
    let (rtx, rrx) = unbounded::<i32>();
    let mut recv_chosen = 0;
    for i in 0..200 {
        rtx.send_blocking(i).unwrap();
        let mut sel = Select::new();
        let s = sel.send(&stx);
        let r = sel.recv(&rrx);
        let op = sel.select_blocking();
        if op.index() == r {
            recv_chosen += 1;
            assert_eq!(op.recv(&rrx), Some(i));
        } else {
            assert_eq!(op.index(), s);
            op.send(&stx, i).unwrap();
            assert_eq!(srx.try_recv(), Ok(i));
            assert_eq!(rrx.try_recv(), Ok(i));
        }
        // The send channel has its full room again.
        assert!(srx.is_empty());
        stx.try_send(-1).expect("room was left reserved");
        assert_eq!(srx.try_recv(), Ok(-1));
    }
    assert!(
        recv_chosen > 0 && recv_chosen < 200,
        "both ready: both chosen sometimes"
    );
}

/// Dropping a chosen receive without completing it puts the value back.
#[test]
fn dropped_recv_operation_puts_value_back() {
    let (tx, rx) = bounded::<i32>(2);
    tx.send_blocking(1).unwrap();
    tx.send_blocking(2).unwrap();
    {
        let mut sel = Select::new();
        sel.recv(&rx);
        let op = sel.select_blocking();
        drop(op);
    }
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), vec![1, 2]);
    // Through a waiting sender on an unbuffered channel: the sender's value.
    let (tx, rx) = bounded::<i32>(0);
    let h = thread::spawn(move || tx.send_blocking(9));
    {
        let mut sel = Select::new();
        sel.recv(&rx);
        let op = sel.select_blocking();
        drop(op);
    }
    // The value (or the sender) is still there for the next receive.
    assert_eq!(rx.recv_blocking(), Some(9));
    h.join().unwrap().unwrap();
}

/// Dropping a chosen send without giving the value releases its buffer place.
#[test]
fn dropped_send_operation_releases_reservation() {
    let (tx, rx) = bounded::<i32>(1);
    for _ in 0..10 {
        let mut sel = Select::new();
        sel.send(&tx);
        let op = sel.select_blocking();
        drop(op);
    }
    tx.try_send(1).expect("a reservation was not released");
    assert_eq!(rx.try_recv(), Ok(1));
}

/// Dropping a chosen send that had committed a waiting receiver: the receiver waits
/// on (it got nothing) and takes the next value sent.
#[test]
fn dropped_send_operation_releases_receiver() {
    let (tx, rx) = bounded::<i32>(0);
    let h = thread::spawn(move || rx.recv_blocking());
    let mut dropped = 0;
    while dropped < 5 {
        let mut sel = Select::new();
        sel.send(&tx);
        let chosen = match sel.try_select() {
            Ok(op) => {
                drop(op);
                true
            }
            Err(_) => false,
        };
        if chosen {
            dropped += 1;
        } else {
            thread::sleep(Duration::from_millis(1));
        }
    }
    tx.send_blocking(3).unwrap();
    assert_eq!(h.join().unwrap(), Some(3));
}

/// An async select future dropped while waiting unregisters (a later unbuffered send
/// finds nobody), and the `Select` is usable again.
#[test]
fn dropped_async_select_unregisters() {
    let (tx, rx) = bounded::<i32>(0);
    let mut sel = Select::new();
    let i = sel.recv(&rx);
    {
        let mut f = pin!(sel.select());
        assert!(poll_once(f.as_mut()).is_pending());
    }
    assert!(tx.try_send(1).unwrap_err().is_full());
    let h = thread::spawn(move || tx.send_blocking(2));
    let op = sel.select_blocking();
    assert_eq!(op.index(), i);
    assert_eq!(op.recv(&rx), Some(2));
    h.join().unwrap().unwrap();
}

/// An async select future that a sender delivered to, dropped before it is polled
/// again: the value goes back.
#[test]
fn dropped_async_select_after_delivery_puts_value_back() {
    let (tx, rx) = bounded::<i32>(0);
    let mut sel = Select::new();
    sel.recv(&rx);
    {
        let mut f = pin!(sel.select());
        assert!(poll_once(f.as_mut()).is_pending());
        tx.try_send(5).expect("the select waits");
    }
    assert_eq!(rx.try_recv(), Ok(5));
}

/// An async select whose send case chose a waiting receive future; the receive future
/// is then dropped before the value comes: `op.send` still delivers, to the next
/// receiver (never lost, never to the gone one).
#[test]
fn send_operation_after_chosen_receiver_left() {
    let ledger = Ledger::new(1);
    let (tx, rx) = bounded::<support::Item>(0);
    let mut recv = Box::pin(rx.recv());
    assert!(poll_once(recv.as_mut()).is_pending());
    let mut sel = Select::new();
    let i = sel.send(&tx);
    let op = sel.try_select().expect("a receive waits");
    assert_eq!(op.index(), i);
    drop(recv); // the committed receiver goes away
    let rx2 = rx.clone();
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        rx2.recv_blocking().map(|i| i.id)
    });
    assert!(
        op.send(&tx, ledger.item(0)).is_ok(),
        "delivered to the next receiver"
    );
    assert_eq!(h.join().unwrap(), Some(0));
    assert_eq!(ledger.not_dropped_once(), vec![]);
}

/// Closed channels: a recv case is ready with `None`, a send case is ready and its
/// `op.send` hands the value back.
#[test]
fn closed_channels_are_ready() {
    let (tx, rx) = bounded::<i32>(0);
    tx.close();
    let mut sel = Select::new();
    sel.recv(&rx);
    let op = sel.try_select().expect("closed is ready");
    assert_eq!(op.recv(&rx), None);
    let mut sel = Select::new();
    sel.send(&tx);
    let op = sel.try_select().expect("closed is ready");
    assert_eq!(op.send(&tx, 4).unwrap_err().0, 4);
    // No receivers: ready too.
    let (tx, rx) = bounded::<i32>(0);
    drop(rx);
    let mut sel = Select::new();
    sel.send(&tx);
    let op = sel.try_select().expect("no receivers is ready");
    assert_eq!(op.send(&tx, 5).unwrap_err().0, 5);
}

/// A `Select` is reusable: many rounds on the same one.
#[test]
fn reuse() {
    let (tx, rx) = unbounded::<i32>();
    let (tx2, rx2) = unbounded::<i32>();
    for i in 0..100 {
        tx.send_blocking(i).unwrap();
        tx2.send_blocking(i).unwrap();
    }
    let mut sel = Select::new();
    let a = sel.recv(&rx);
    let b = sel.recv(&rx2);
    let (mut na, mut nb) = (0, 0);
    for _ in 0..200 {
        let op = sel.select_blocking();
        if op.index() == a {
            assert_eq!(op.recv(&rx), Some(na));
            na += 1;
        } else {
            assert_eq!(op.index(), b);
            assert_eq!(op.recv(&rx2), Some(nb));
            nb += 1;
        }
    }
    assert_eq!((na, nb), (100, 100));
    assert!(sel.try_select().is_err());
}

#[test]
fn wrong_channel_panics() {
    let (tx, rx) = unbounded::<i32>();
    let (_tx2, rx2) = unbounded::<i32>();
    tx.send_blocking(1).unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut sel = Select::new();
        sel.recv(&rx);
        let op = sel.select_blocking();
        op.recv(&rx2)
    }));
    assert!(r.is_err(), "completing with another channel must panic");
    // The value was put back when the operation was dropped during the unwind.
    assert_eq!(rx.try_recv(), Ok(1));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut sel = Select::new();
        sel.send(&tx);
        let op = sel.select_blocking();
        op.recv(&rx)
    }));
    assert!(r.is_err(), "recv on a send case must panic");
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

/// Several selects compete with send cases for receivers: each value goes to exactly
/// one receiver, none is lost.
#[test]
fn competing_send_selects() {
    let (tx, rx) = bounded::<usize>(0);
    let (tx2, rx2) = bounded::<usize>(1);
    let n = 2_000;
    let senders: Vec<_> = (0..3)
        .map(|t| {
            let (tx, tx2) = (tx.clone(), tx2.clone());
            thread::spawn(move || {
                for i in 0..n {
                    let v = t * n + i;
                    let mut sel = Select::new();
                    let a = sel.send(&tx);
                    let b = sel.send(&tx2);
                    let op = sel.select_blocking();
                    if op.index() == a {
                        op.send(&tx, v).unwrap();
                    } else {
                        assert_eq!(op.index(), b);
                        op.send(&tx2, v).unwrap();
                    }
                }
            })
        })
        .collect();
    drop((tx, tx2));
    let receivers: Vec<_> = [rx, rx2]
        .into_iter()
        .flat_map(|r| [r.clone(), r])
        .map(|r| thread::spawn(move || r.iter().collect::<Vec<_>>()))
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    let mut all: Vec<_> = receivers
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort();
    assert_eq!(all, (0..3 * n).collect::<Vec<_>>());
}

/// Many cases (beyond the engine's inline 8), sends and receives mixed.
#[test]
fn many_cases() {
    let chans: Vec<_> = (0..20).map(|_| bounded::<usize>(1)).collect();
    // Fill the odd ones: their send cases are not ready, their recv cases are.
    for (k, (t, _)) in chans.iter().enumerate() {
        if k % 2 == 1 {
            t.try_send(k).unwrap();
        }
    }
    let mut sel = Select::new();
    let mut kinds = Vec::new();
    for (k, (t, r)) in chans.iter().enumerate() {
        if k % 4 < 2 {
            kinds.push((k, true));
            sel.send(t);
        } else {
            kinds.push((k, false));
            sel.recv(r);
        }
    }
    let mut chosen = std::collections::HashSet::new();
    for _ in 0..400 {
        let op = sel.try_select().expect("some case is ready");
        let i = op.index();
        let (k, is_send) = kinds[i];
        // Ready: sends on even channels (empty), receives on odd ones (full).
        assert_eq!(is_send, k % 2 == 0, "case {i} (chan {k}) was not ready");
        drop(op); // nothing done: the channel is as it was
        chosen.insert(i);
    }
    let ready = kinds.iter().filter(|(k, s)| *s == (k % 2 == 0)).count();
    assert_eq!(chosen.len(), ready, "every ready case is chosen sometimes");
    for (k, (_, r)) in chans.iter().enumerate() {
        assert_eq!(r.len(), k % 2, "dropped operations changed chan {k}");
    }
}

/// A send case waiting on an unbuffered channel is woken by a close: it is chosen and
/// `op.send` hands the value back.
#[test]
fn waiting_send_case_woken_by_close() {
    let (tx, rx) = bounded::<i32>(0);
    let tx2 = tx.clone();
    let h = thread::spawn(move || {
        let mut sel = Select::new();
        let i = sel.send(&tx2);
        let op = sel.select_blocking();
        assert_eq!(op.index(), i);
        op.send(&tx2, 6).map_err(|e| e.0)
    });
    thread::sleep(Duration::from_millis(10));
    tx.close();
    assert_eq!(h.join().unwrap(), Err(6));
    drop(rx);
}

/// ... and by the last receiver going away.
#[test]
fn waiting_send_case_woken_by_receivers_dropped() {
    let (tx, rx) = bounded::<i32>(1);
    tx.send_blocking(0).unwrap();
    let h = thread::spawn(move || {
        let mut sel = Select::new();
        sel.send(&tx);
        let op = sel.select_blocking();
        op.send(&tx, 6).map_err(|e| e.0)
    });
    thread::sleep(Duration::from_millis(10));
    drop(rx);
    assert_eq!(h.join().unwrap(), Err(6));
}

/// ... and by room made in a full buffer.
#[test]
fn waiting_send_case_woken_by_room() {
    let (tx, rx) = bounded::<i32>(1);
    tx.send_blocking(0).unwrap();
    let h = thread::spawn(move || {
        let mut sel = Select::new();
        sel.send(&tx);
        let op = sel.select_blocking();
        op.send(&tx, 6).unwrap();
    });
    thread::sleep(Duration::from_millis(10));
    assert_eq!(rx.recv_blocking(), Some(0));
    h.join().unwrap();
    assert_eq!(rx.recv_blocking(), Some(6));
}
