//! The error types: `Debug` without `T: Debug`, `Display` phrases, `std::error::Error`,
//! accessors; and the handles' `Debug`, `Send`, `Sync`.

use gort_channels::{
    bounded, never, unbounded, Receiver, RecvTimeoutError, Select, SelectTimeoutError,
    SelectedOperation, SendError, SendTimeoutError, Sender, TryRecvError, TrySelectError,
    TrySendError,
};
use std::time::Duration;

/// Not `Debug`, not `Clone`, not `Send`: the errors must print without any of it.
struct Opaque(#[allow(dead_code)] std::rc::Rc<u8>);

fn opaque() -> Opaque {
    Opaque(std::rc::Rc::new(1))
}

#[test]
fn send_error_debug_without_t_debug() {
    assert_eq!(format!("{:?}", SendError(opaque())), "SendError(..)");
    assert_eq!(format!("{:?}", TrySendError::Full(opaque())), "Full(..)");
    assert_eq!(
        format!("{:?}", TrySendError::Closed(opaque())),
        "Closed(..)"
    );
    assert_eq!(
        format!("{:?}", SendTimeoutError::Timeout(opaque())),
        "Timeout(..)"
    );
    assert_eq!(
        format!("{:?}", SendTimeoutError::Closed(opaque())),
        "Closed(..)"
    );
    // unwrap_err / expect on a Result with such an error compile and print.
    let (tx, _) = bounded::<Opaque>(0);
    let e = tx.send_blocking(opaque()).unwrap_err();
    assert_eq!(format!("{e:?}"), "SendError(..)");
}

#[test]
fn display_phrases() {
    assert_eq!(SendError(1).to_string(), "sending on a closed channel");
    assert_eq!(
        TrySendError::Full(1).to_string(),
        "sending on a full channel"
    );
    assert_eq!(
        TrySendError::Closed(1).to_string(),
        "sending on a closed channel"
    );
    assert_eq!(
        TryRecvError::Empty.to_string(),
        "receiving on an empty channel"
    );
    assert_eq!(
        TryRecvError::Closed.to_string(),
        "receiving on a closed channel"
    );
    assert_eq!(
        SendTimeoutError::Timeout(1).to_string(),
        "timed out waiting on send operation"
    );
    assert_eq!(
        SendTimeoutError::Closed(1).to_string(),
        "sending on a closed channel"
    );
    assert_eq!(
        RecvTimeoutError::Timeout.to_string(),
        "timed out waiting on receive operation"
    );
    assert_eq!(
        RecvTimeoutError::Closed.to_string(),
        "receiving on a closed channel"
    );
    assert_eq!(
        TrySelectError.to_string(),
        "all operations in select would block"
    );
    assert_eq!(
        SelectTimeoutError.to_string(),
        "timed out waiting on select"
    );
    // Lowercase phrases, as STYLE.md asks.
    for s in [
        SendError(()).to_string(),
        TrySendError::Full(()).to_string(),
    ] {
        assert!(s.chars().next().unwrap().is_lowercase());
        assert!(!s.ends_with('.'));
    }
}

#[test]
fn errors_are_std_errors() {
    fn is_error<E: std::error::Error + Send + Sync + 'static>(_: &E) {}
    is_error(&SendError(1));
    is_error(&TrySendError::Full(1));
    is_error(&SendTimeoutError::Timeout(1));
    is_error(&TryRecvError::Empty);
    is_error(&RecvTimeoutError::Timeout);
    is_error(&TrySelectError);
    is_error(&SelectTimeoutError);
    // Boxed as dyn Error (the `?` into Box<dyn Error> path), with an opaque T.
    let b: Box<dyn std::error::Error> = Box::new(SendError(opaque()));
    assert_eq!(b.to_string(), "sending on a closed channel");
}

#[test]
fn accessors() {
    assert_eq!(SendError(5).into_inner(), 5);
    assert_eq!(SendError(5).0, 5);
    let full = TrySendError::Full(6);
    assert!(full.is_full() && !full.is_closed());
    assert_eq!(full.into_inner(), 6);
    let closed = TrySendError::Closed(7);
    assert!(closed.is_closed() && !closed.is_full());
    assert_eq!(closed.into_inner(), 7);
    assert_eq!(SendTimeoutError::Timeout(8).into_inner(), 8);
    assert_eq!(SendTimeoutError::Closed(9).into_inner(), 9);
    let t: TrySendError<i32> = SendError(3).into();
    assert!(matches!(t, TrySendError::Closed(3)));
    assert_eq!(SendError(1), SendError(1));
    assert_ne!(TryRecvError::Empty, TryRecvError::Closed);
}

#[test]
fn timeouts_hand_values_back() {
    let (tx, rx) = bounded::<String>(0);
    match tx.send_timeout("x".into(), Duration::from_millis(5)) {
        Err(SendTimeoutError::Timeout(v)) => assert_eq!(v, "x"),
        _ => panic!("expected a timeout"),
    }
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(5)),
        Err(RecvTimeoutError::Timeout)
    );
    drop(tx);
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(5)),
        Err(RecvTimeoutError::Closed)
    );
}

#[test]
fn handles_debug() {
    let (tx, rx) = bounded::<Opaque>(3);
    let s = format!("{tx:?} {rx:?}");
    assert!(s.contains("Sender") && s.contains("Receiver"), "{s}");
    let _ = format!("{:?}", never::<Opaque>());
    let (_t, u) = unbounded::<Opaque>();
    // (The iterators' Debug without `T: Debug` is checked in compile.rs.)
    let _ = format!("{u:?} {:?}", u.recv());
    let _ = format!("{:?}", tx.send(opaque()));
    let (_t2, u2) = unbounded::<std::sync::Mutex<u8>>(); // Select asks T: Send
    let mut sel = Select::new();
    sel.recv(&u2);
    let _ = format!("{sel:?}");
}

#[test]
fn send_and_sync() {
    fn send_sync<X: Send + Sync>() {}
    fn send<X: Send>() {}
    send_sync::<Sender<i32>>();
    send_sync::<Receiver<i32>>();
    send_sync::<Sender<std::cell::Cell<i32>>>(); // T: Send is enough for a Sender
    send::<gort_channels::SendFut<'static, i32>>();
    send::<gort_channels::RecvFut<'static, i32>>();
    send_sync::<SendError<i32>>();
    send_sync::<TrySendError<i32>>();
    send_sync::<TryRecvError>();
    let _ = std::marker::PhantomData::<SelectedOperation<'static, 'static>>;
}
// That a select's future is `Send` is checked in compile.rs.
