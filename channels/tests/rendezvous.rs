//! An unbuffered channel (`bounded(0)`) is a rendezvous: a send completes only once a
//! receiver has taken the value, never by leaving it somewhere.

mod support;

use gort_channels::{bounded, select, TrySendError};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::task::Poll;
use std::thread;
use std::time::Duration;
use support::{block_on, poll_with, CountingWaker};

/// The receiver raises a flag just before it receives: a send that returned before the
/// flag was up completed without a receiver.
#[test]
fn blocking_send_completes_only_after_receiver_took_it() {
    for round in 0..20 {
        let (tx, rx) = bounded::<u32>(0);
        let about_to_recv = Arc::new(AtomicBool::new(false));
        let flag = about_to_recv.clone();
        let h = thread::spawn(move || {
            thread::sleep(Duration::from_millis(if round % 2 == 0 { 5 } else { 0 }));
            flag.store(true, SeqCst);
            rx.recv_blocking()
        });
        tx.send_blocking(round).unwrap();
        assert!(
            about_to_recv.load(SeqCst),
            "round {round}: send completed before any receive"
        );
        assert_eq!(tx.len(), 0);
        assert_eq!(h.join().unwrap(), Some(round));
    }
}

#[test]
fn async_send_completes_only_after_receiver_took_it() {
    for round in 0..20 {
        let (tx, rx) = bounded::<u32>(0);
        let about_to_recv = Arc::new(AtomicBool::new(false));
        let flag = about_to_recv.clone();
        let h = thread::spawn(move || {
            thread::sleep(Duration::from_millis(if round % 2 == 0 { 5 } else { 0 }));
            flag.store(true, SeqCst);
            block_on(rx.recv())
        });
        block_on(tx.send(round)).unwrap();
        assert!(
            about_to_recv.load(SeqCst),
            "round {round}: send completed before any receive"
        );
        assert_eq!(h.join().unwrap(), Some(round));
    }
}

#[test]
fn select_send_completes_only_after_receiver_took_it() {
    let (tx, rx) = bounded::<u32>(0);
    let (tx2, _rx2) = bounded::<u32>(0);
    let about_to_recv = Arc::new(AtomicBool::new(false));
    let flag = about_to_recv.clone();
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        flag.store(true, SeqCst);
        rx.recv_blocking()
    });
    let which = block_on(async {
        select! { send(tx, 1) -> r => { r.unwrap(); 1 } send(tx2, 2) -> _ => 2 }
    });
    assert_eq!(which, 1);
    assert!(about_to_recv.load(SeqCst));
    assert_eq!(h.join().unwrap(), Some(1));
}

/// Polled by hand: Pending (however often polled) while nobody receives; a receive
/// takes the value straight from the waiting sender and wakes it; then Ready(Ok).
#[test]
fn pending_send_is_completed_by_a_receive() {
    let (tx, rx) = bounded::<u32>(0);
    let (count, waker) = CountingWaker::new();
    let mut fut = pin!(tx.send(7));
    for _ in 0..5 {
        assert!(poll_with(fut.as_mut(), &waker).is_pending());
    }
    assert_eq!(rx.len(), 0, "an unbuffered send buffered its value");
    assert_eq!(count.count(), 0);
    assert_eq!(rx.try_recv(), Ok(7));
    assert!(count.count() >= 1, "the sender was not woken");
    assert!(matches!(
        poll_with(fut.as_mut(), &waker),
        Poll::Ready(Ok(()))
    ));
    assert!(rx.try_recv().is_err());
}

/// A pending receive is completed by a send (which then completes at once).
#[test]
fn pending_recv_is_completed_by_a_send() {
    let (tx, rx) = bounded::<u32>(0);
    let (count, waker) = CountingWaker::new();
    let mut fut = pin!(rx.recv());
    assert!(poll_with(fut.as_mut(), &waker).is_pending());
    assert_eq!(tx.try_send(3).map_err(|e| e.is_full()), Ok(()));
    assert!(count.count() >= 1);
    assert_eq!(poll_with(fut.as_mut(), &waker), Poll::Ready(Some(3)));
}

/// `try_send` on an unbuffered channel succeeds only when a receiver waits.
#[test]
fn try_send_needs_a_waiting_receiver() {
    let (tx, rx) = bounded::<u32>(0);
    assert!(matches!(tx.try_send(1), Err(TrySendError::Full(1))));
    let h = {
        let rx = rx.clone();
        thread::spawn(move || rx.recv_blocking())
    };
    // The receiver blocks soon; until then try_send finds nobody.
    let mut v = 2;
    loop {
        match tx.try_send(v) {
            Ok(()) => break,
            Err(TrySendError::Full(back)) => {
                v = back;
                thread::sleep(Duration::from_millis(1));
            }
            Err(TrySendError::Closed(_)) => unreachable!(),
        }
    }
    assert_eq!(h.join().unwrap(), Some(2));
    assert!(matches!(tx.try_send(3), Err(TrySendError::Full(3))));
}

/// Unbuffered: len is always 0, capacity Some(0), and a sender waiting does not
/// count as buffered.
#[test]
fn unbuffered_len_is_zero() {
    let (tx, rx) = bounded::<u32>(0);
    assert_eq!(
        (tx.len(), rx.len(), tx.capacity(), rx.capacity()),
        (0, 0, Some(0), Some(0))
    );
    let h = thread::spawn(move || tx.send_blocking(1));
    thread::sleep(Duration::from_millis(5));
    assert_eq!(rx.len(), 0);
    assert!(rx.is_empty());
    assert_eq!(rx.recv_blocking(), Some(1));
    h.join().unwrap().unwrap();
}

/// Many rendezvous in a row between two threads, values in order.
#[test]
fn ping_pong() {
    let (ping_tx, ping_rx) = bounded::<u32>(0);
    let (pong_tx, pong_rx) = bounded::<u32>(0);
    let h = thread::spawn(move || {
        while let Some(v) = ping_rx.recv_blocking() {
            pong_tx.send_blocking(v + 1).unwrap();
        }
    });
    for i in 0..10_000 {
        ping_tx.send_blocking(i).unwrap();
        assert_eq!(pong_rx.recv_blocking(), Some(i + 1));
    }
    drop(ping_tx);
    h.join().unwrap();
}

/// A sender that polls its pending send in a tight loop (as an executor re-polling
/// after spurious wake-ups, or a timeout checking in) may see its token claimed by a
/// receiver a moment before that receiver has taken the value out of its slot: it
/// must wait for the value to go, not assume it went. Same for the receive side.
#[test]
fn claim_seen_before_hand_off_completes() {
    let _wd = support::Watchdog::new(
        "claim_seen_before_hand_off_completes",
        Duration::from_secs(60),
    );
    let n = support::scaled(500_000, 10_000);
    let (tx, rx) = bounded::<u64>(0);
    let receiver = thread::spawn(move || {
        let mut sum = 0;
        for _ in 0..n {
            // (None only if the sending side panicked: that is the failure to see.)
            sum += rx.recv_blocking().unwrap_or(0);
        }
        sum
    });
    let waker = support::noop_waker();
    for i in 0..n as u64 {
        let mut f = pin!(tx.send(i));
        loop {
            match poll_with(f.as_mut(), &waker) {
                Poll::Ready(r) => break r.unwrap(),
                Poll::Pending => std::hint::spin_loop(),
            }
        }
    }
    let n = n as u64;
    assert_eq!(receiver.join().unwrap(), n * (n - 1) / 2);
    // The other way round: a receive polled in a tight loop against blocking sends.
    let n = n / 5;
    let (tx, rx) = bounded::<u64>(0);
    let sender = thread::spawn(move || {
        for i in 0..n {
            tx.send_blocking(i).unwrap();
        }
    });
    let mut sum = 0;
    for _ in 0..n {
        let mut f = pin!(rx.recv());
        sum += loop {
            match poll_with(f.as_mut(), &waker) {
                Poll::Ready(v) => break v.unwrap(),
                Poll::Pending => std::hint::spin_loop(),
            }
        };
    }
    sender.join().unwrap();
    assert_eq!(sum, n * (n - 1) / 2);
}
