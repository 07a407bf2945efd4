//! Loom models of `close` racing with operations that wait.

use super::{in_orders, run3};
use crate::bounded;
use crate::SendError;

/// Receives until the channel reports closed and drained; at most `max` values.
fn drain(rx: &crate::Receiver<u32>, max: usize) -> Vec<u32> {
    let mut got = Vec::new();
    while let Some(v) = rx.recv_blocking() {
        got.push(v);
        assert!(got.len() <= max, "received more than was sent: {got:?}");
    }
    got
}

/// A full `bounded(1)` channel (holding 1); a sender blocks with 2, a receiver drains
/// to the end, and a third thread closes. Close may come before, between or after the
/// others' waits. Whatever the interleaving, nobody hangs; the receiver gets 1 first;
/// a send that reports `Ok` had its 2 delivered after the 1, and one that was refused
/// gets exactly its 2 back in `SendError` and the receiver never sees it.
#[test]
fn loom_close_races_blocked_sender_and_receiver() {
    in_orders(3, |order| {
        let (tx, rx) = bounded::<u32>(1);
        tx.try_send(1).expect("room for one");
        let closer = tx.clone();
        let (sent, got, ()) = run3(
            order,
            move || tx.send_blocking(2),
            move || drain(&rx, 2),
            move || closer.close(),
        );
        match sent {
            Ok(()) => assert_eq!(got, [1, 2]),
            Err(SendError(v)) => {
                assert_eq!(v, 2, "the refused send's own value comes back");
                assert_eq!(got, [1]);
            }
        }
    });
}

/// The same race on a rendezvous channel, where both sides wait for each other: a
/// sender blocks with 7, a receiver blocks, a third thread closes. Either they met
/// before the close (send `Ok`, the receiver gets 7 and then `None`) or the close
/// failed the send (its 7 back) and the receiver gets `None` only.
#[test]
fn loom_close_races_rendezvous() {
    in_orders(3, |order| {
        let (tx, rx) = bounded::<u32>(0);
        let closer = tx.clone();
        let (sent, got, ()) = run3(
            order,
            move || tx.send_blocking(7),
            move || drain(&rx, 1),
            move || closer.close(),
        );
        match sent {
            Ok(()) => assert_eq!(got, [7]),
            Err(SendError(v)) => {
                assert_eq!(v, 7);
                assert_eq!(got, []);
            }
        }
    });
}
