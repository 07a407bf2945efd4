//! `capacity()` and `len()`: `Some(n)` for `bounded(n)`, `None` for unbounded; `len`
//! counts buffered values, the same on either end.

use gort_channels::{bounded, unbounded};

#[test]
fn capacity() {
    for n in [0usize, 1, 2, 7, 1000, 1 << 20] {
        let (tx, rx) = bounded::<u8>(n);
        assert_eq!(tx.capacity(), Some(n));
        assert_eq!(rx.capacity(), Some(n));
    }
    let (tx, rx) = unbounded::<u8>();
    assert_eq!(tx.capacity(), None);
    assert_eq!(rx.capacity(), None);
    assert_eq!(gort_channels::never::<u8>().capacity(), Some(0));
}

#[test]
fn len_bounded() {
    let (tx, rx) = bounded::<u32>(4);
    assert!(tx.is_empty() && rx.is_empty());
    for i in 0..4 {
        tx.try_send(i).unwrap();
        assert_eq!((tx.len(), rx.len()), (i as usize + 1, i as usize + 1));
    }
    assert!(tx.try_send(9).is_err());
    assert_eq!(rx.len(), 4);
    rx.try_recv().unwrap();
    assert_eq!((tx.len(), rx.len()), (3, 3));
    // A clone sees the same count.
    assert_eq!(rx.clone().len(), 3);
    assert_eq!(tx.clone().len(), 3);
    // Closing does not change what is buffered.
    tx.close();
    assert_eq!(rx.len(), 3);
    assert_eq!(rx.iter().count(), 3);
    assert_eq!(rx.len(), 0);
}

#[test]
fn len_unbounded() {
    let (tx, rx) = unbounded::<u32>();
    for i in 0..10_000 {
        tx.send_blocking(i).unwrap();
    }
    assert_eq!((tx.len(), rx.len()), (10_000, 10_000));
    for _ in 0..2_500 {
        rx.recv_blocking().unwrap();
    }
    assert_eq!((tx.len(), rx.len()), (7_500, 7_500));
}

/// A buffered channel with a blocked sender counts only its buffer; once a value is
/// received the sender's value moves in and the count is back at capacity.
#[test]
fn len_with_blocked_sender() {
    let (tx, rx) = bounded::<u32>(2);
    tx.send_blocking(0).unwrap();
    tx.send_blocking(1).unwrap();
    let h = std::thread::spawn(move || tx.send_blocking(2));
    std::thread::sleep(std::time::Duration::from_millis(10));
    assert_eq!(rx.len(), 2);
    assert_eq!(rx.recv_blocking(), Some(0));
    h.join().unwrap().unwrap();
    assert_eq!(rx.len(), 2);
    assert_eq!(rx.iter().collect::<Vec<_>>(), vec![1, 2]);
}

#[test]
fn same_channel() {
    let (tx, rx) = bounded::<u8>(1);
    let (tx2, rx2) = bounded::<u8>(1);
    assert!(tx.same_channel(&tx.clone()));
    assert!(!tx.same_channel(&tx2));
    assert!(rx.same_channel(&rx.clone()));
    assert!(!rx.same_channel(&rx2));
}
