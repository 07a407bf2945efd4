//! The iterators: `iter()` blocks and ends at close; `try_iter()` takes what is there
//! now; `into_iter()` owns the receiver; `for v in &rx`.

use gort_channels::{bounded, unbounded};
use std::thread;
use std::time::Duration;

#[test]
fn iter_ends_at_close() {
    let (tx, rx) = bounded::<i32>(0);
    let h = thread::spawn(move || {
        for i in 0..100 {
            tx.send_blocking(i).unwrap();
        }
        // tx dropped: closed
    });
    assert_eq!(rx.iter().collect::<Vec<_>>(), (0..100).collect::<Vec<_>>());
    h.join().unwrap();
    assert_eq!(rx.iter().next(), None);
}

#[test]
fn iter_ends_at_explicit_close_after_draining() {
    let (tx, rx) = bounded::<i32>(10);
    for i in 0..10 {
        tx.send_blocking(i).unwrap();
    }
    tx.close();
    let mut n = 0;
    for v in &rx {
        assert_eq!(v, n);
        n += 1;
    }
    assert_eq!(n, 10);
}

#[test]
fn iter_waits_for_values() {
    let (tx, rx) = unbounded::<i32>();
    let h = thread::spawn(move || {
        for i in 0..5 {
            thread::sleep(Duration::from_millis(2));
            tx.send_blocking(i).unwrap();
        }
    });
    assert_eq!(rx.into_iter().collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);
    h.join().unwrap();
}

#[test]
fn try_iter_takes_what_is_there() {
    let (tx, rx) = unbounded::<i32>();
    assert_eq!(rx.try_iter().count(), 0);
    for i in 0..5 {
        tx.send_blocking(i).unwrap();
    }
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);
    assert_eq!(rx.try_iter().next(), None);
    // It does not wait for a sender that is still alive.
    assert!(!rx.is_closed());
    // It takes from blocked senders of an unbuffered channel.
    let (tx, rx) = bounded::<i32>(0);
    let h = thread::spawn(move || tx.send_blocking(1));
    let mut got = Vec::new();
    while got.is_empty() {
        got.extend(rx.try_iter());
        thread::yield_now();
    }
    assert_eq!(got, vec![1]);
    h.join().unwrap().unwrap();
}
