//! `never()`: Go's nil channel. Never ready, never closed; a select case on it is
//! never chosen.

mod support;

use gort_channels::{bounded, never, select, RecvTimeoutError, Select, TryRecvError};
use std::pin::pin;
use std::time::Duration;
use support::{block_on, finishes_within, poll_once};

#[test]
fn never_is_never_ready() {
    let rx = never::<i32>();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(20)),
        Err(RecvTimeoutError::Timeout)
    );
    let mut fut = pin!(rx.recv());
    for _ in 0..100 {
        assert!(poll_once(fut.as_mut()).is_pending());
    }
    assert!(rx.is_empty());
    assert_eq!(rx.try_iter().count(), 0);
}

/// Go's nil channel is not a closed one: `is_closed` is false, and stays so.
#[test]
fn never_is_not_closed() {
    let rx = never::<i32>();
    assert!(!rx.is_closed(), "never() reports itself closed");
    let rx2 = rx.clone();
    drop(rx);
    assert!(!rx2.is_closed());
}

#[test]
fn never_blocks_a_thread() {
    assert!(
        finishes_within(Duration::from_millis(30), || never::<i32>().recv_blocking()).is_none()
    );
    assert!(finishes_within(Duration::from_millis(30), || never::<i32>().iter().next()).is_none());
}

#[test]
fn select_with_never_and_default_takes_default() {
    let n1 = never::<i32>();
    let n2 = never::<String>();
    for _ in 0..100 {
        let d = block_on(async {
            select! { recv(n1) -> _ => false, recv(n2) -> _ => false, default => true }
        });
        assert!(d);
    }
}

#[test]
fn select_with_never_and_ready_takes_ready() {
    let n = never::<i32>();
    let (tx, rx) = bounded::<i32>(1000);
    for i in 0..1000 {
        tx.send_blocking(i).unwrap();
    }
    for i in 0..1000 {
        let v = block_on(async {
            select! { recv(n) -> _ => -1, recv(rx) -> v => v.unwrap() }
        });
        assert_eq!(v, i);
    }
}

#[test]
fn select_only_never_waits() {
    let n = never::<i32>();
    let mut fut = pin!(async {
        select! { recv(n) -> _ => () }
    });
    for _ in 0..10 {
        assert!(poll_once(fut.as_mut()).is_pending());
    }
}

#[test]
fn dynamic_select_never() {
    let n = never::<i32>();
    let mut sel = Select::new();
    sel.recv(&n);
    assert!(sel.try_select().is_err());
    assert!(sel.select_timeout(Duration::from_millis(10)).is_err());
}

#[test]
fn never_is_not_paired_with_anything() {
    // Clones of never() are not one channel that a value could travel through.
    let a = never::<i32>();
    let b = a.clone();
    let mut fa = pin!(a.recv());
    assert!(poll_once(fa.as_mut()).is_pending());
    assert_eq!(b.try_recv(), Err(TryRecvError::Empty));
}
